// Every rule operator once: its name, the names Elastic rejects that mean it, what its value must be, and its test.

import type { RuleOperator } from './types.js';
import { compilePythonRegex, backtracksCatastrophically } from './regex.js';
import { compareNumericText, dateMilliseconds, numericText, order, pythonFloat, textOf, type Expected } from './values.js';

export type Verdict = boolean | 'incomparable';

/** What validation says about a rule's value: a problem makes the rule invalid, a warning does not. */
export interface ValueCheck {
  problem?: string;
  warning?: string;
}

interface OperatorDefinition {
  /** Spellings people (and Kibana's older UI) use for this operator; Elastic rejects them, validation suggests the name. */
  aliases: readonly string[];
  /** Checks of the value beyond "a non-empty string". */
  checkValue?: (value: string) => ValueCheck | undefined;
  /** Builds the operator's test once per rule. */
  test: (expected: Expected) => (actual: unknown) => Verdict;
}

const matchAllRegexes = new Set(['.*', '(.*)']);

function checkRegex(value: string): ValueCheck | undefined {
  const quoted = JSON.stringify(value);
  if (matchAllRegexes.has(value)) {
    return {
      problem:
        `regex ${quoted} matches everything, which Elastic does not allow either; ` +
        'remove the rule (a document no rule matches is included anyway)',
    };
  }
  try {
    compilePythonRegex(value);
  } catch (error) {
    return { problem: `regex ${quoted} does not compile: ${error instanceof Error ? error.message : String(error)}` };
  }
  if (!backtracksCatastrophically(value)) return undefined;
  return {
    warning:
      `regex ${quoted} has nested repetition that can take exponential time in backtracking engines ` +
      "(Python's re in Elastic's connector); slack-etl evaluates it in linear time",
  };
}

const checkOrderedValue =
  (operator: '<' | '>') =>
  (value: string): ValueCheck | undefined =>
    pythonFloat(value) === undefined && dateMilliseconds(value) === undefined
      ? {
          problem:
            `"${operator}" compares numbers and dates, and ${JSON.stringify(value)} is neither; ` +
            'use a number (e.g. "1700000000") or an ISO date (e.g. "2024-03-01")',
        }
      : undefined;

const comparison =
  (wantSign: -1 | 1) =>
  (expected: Expected) =>
  (actual: unknown): Verdict => {
    const sign = order(actual, expected);
    return sign === 'incomparable' ? sign : Math.sign(sign) === wantSign;
  };

function equalsTest(expected: Expected) {
  return (actual: unknown): Verdict => {
    switch (typeof actual) {
      case 'string':
        return (
          actual === expected.text || (expected.looksNumeric && numericText.test(actual) && compareNumericText(actual, expected.text) === 0)
        );
      case 'number':
        return expected.number === undefined ? 'incomparable' : actual === expected.number;
      case 'boolean':
        return expected.boolean === undefined ? 'incomparable' : actual === expected.boolean;
      default:
        return textOf(actual) === expected.text;
    }
  };
}

/** The table validation reads the names, suggestions and value checks from, and evaluation the tests. */
export const operators = {
  equals: { aliases: ['equal', '=', '=='], test: equalsTest },
  contains: { aliases: [], test: (expected) => (actual) => textOf(actual).includes(expected.text) },
  starts_with: { aliases: ['starts with', 'startswith'], test: (expected) => (actual) => textOf(actual).startsWith(expected.text) },
  ends_with: { aliases: ['ends with', 'endswith'], test: (expected) => (actual) => textOf(actual).endsWith(expected.text) },
  regex: {
    aliases: [],
    checkValue: checkRegex,
    test: (expected) => {
      const pattern = compilePythonRegex(expected.text);
      return (actual) => pattern.test(textOf(actual));
    },
  },
  '>': { aliases: ['greater_than'], checkValue: checkOrderedValue('>'), test: comparison(1) },
  '<': { aliases: ['less_than'], checkValue: checkOrderedValue('<'), test: comparison(-1) },
} satisfies Record<RuleOperator, OperatorDefinition>;

export const operatorNames = Object.keys(operators) as RuleOperator[];

/** The operator a rule's `rule` names (case-insensitive), or undefined. */
export const operatorNamed = (name: string): RuleOperator | undefined => {
  const lowered = name.toLowerCase();
  return Object.hasOwn(operators, lowered) ? (lowered as RuleOperator) : undefined;
};

/** The operator an alias stands for (case-insensitive), for the "use …" hint. */
export const operatorForAlias = (name: string): RuleOperator | undefined => {
  const lowered = name.toLowerCase();
  return operatorNames.find((operator) => (operators[operator].aliases as readonly string[]).includes(lowered));
};
