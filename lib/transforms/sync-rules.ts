// Sync-rules stage: Elastic's basic sync rules (parse, validate all at once, evaluate first match by order).
//
// Where we deliberately differ from Elastic's connectors (connectors_sdk/filtering/basic_rule.py, validation.py):
//
// | case                                               | Elastic                                          | slack-etl                                                                                         |
// |----------------------------------------------------|--------------------------------------------------|---------------------------------------------------------------------------------------------------|
// | `equals` on a boolean field (`is_bot equals true`) | never matches (`True == "True"` is False)        | compares booleans: true/t/yes/y/on, false/f/no/n/off                                              |
// | numeric-looking string field (`ts`) with `<`/`>`   | string comparison ("9" > "10")                   | numeric comparison, exact for decimal strings                                                     |
// | numeric-looking string field with `equals`         | string equality ("1.50" ≠ "1.5")                 | numeric equality when both sides look numeric                                                     |
// | ISO date string (`_timestamp`) with `<`/`>`        | string comparison                                | chronological when the rule value is a date (no zone = UTC)                                       |
// | number field, `equals` a non-number                | no match                                         | no match, counted as `incomparable`                                                               |
// | number field, `<`/`>` a non-number                 | TypeError: the whole sync fails                  | no match, counted as `incomparable`                                                               |
// | `<`/`>` on a boolean, list or object field         | TypeError: the whole sync fails                  | no match, counted as `incomparable`                                                               |
// | field present with value null                      | `str(None)` = "None" is matched; `<`/`>` crash   | no match                                                                                          |
// | text of booleans, lists, objects (contains etc.)   | Python `str()`: "True", "['a']"                  | JSON text: "true", '["a"]' (`equals` on lists too)                                                |
// | invalid regex                                      | passes validation, crashes the sync when matched | rejected by validation with the compiler's message                                                |
// | regex syntax                                       | Python `re`                                      | JavaScript RegExp, with `(?P<n>…)`, `(?P=n)`, `\A`, `\Z`, leading `(?i)`/`(?m)`/`(?s)` translated |
// | regex compilation                                  | on every match                                   | once per rule                                                                                     |
// | duplicate rule ids                                 | not validated                                    | reported                                                                                          |
// | semantic duplicates (same field, rule, value)      | only the first pair is reported                  | every pair is reported                                                                            |
// | a rule with an unknown operator or policy          | later validators may raise instead of reporting  | every problem of every rule reported at once                                                      |
//
// Kept as Elastic does it: first match in ascending `order` (stable) wins, no match includes, the rule with id
// `DEFAULT` is dropped, top-level fields only, regex anchored at the start only (`re.match`), `greater_than`,
// `less_than` and `starts with` are rejected, `value` must be a non-empty string, `.*`/`(.*)` rules are rejected.

import { readFile } from 'node:fs/promises';
import type { AnyDocument } from '../documents.js';
import { ConfigError } from '../errors.js';
import type { Stage } from '../stage.js';

export type RuleOperator = 'equals' | 'contains' | 'starts_with' | 'ends_with' | 'regex' | '>' | '<';

export interface SyncRule {
  id: string;
  order: number;
  policy: 'include' | 'exclude';
  field: string;
  rule: RuleOperator;
  value: string;
}

export interface RuleProblem {
  /** Rule ids, or `#<position>` (1-based) for a rule without a usable id; empty for file-level problems. */
  ids: string[];
  message: string;
}

export interface RulesValidation {
  valid: boolean;
  /** Parsed rules, DEFAULT dropped, sorted by `order` (stable). */
  rules: SyncRule[];
  problems: RuleProblem[];
}

export interface SyncRulesStats {
  [key: string]: unknown;
  included: number;
  excluded: number;
  /** Rule evaluations that compared values of incompatible types (no match). */
  incomparable: number;
  matches: Record<string, { policy: SyncRule['policy']; matches: number }>;
}

const operators: readonly RuleOperator[] = ['equals', 'contains', 'starts_with', 'ends_with', 'regex', '>', '<'];
const operatorSuggestions: Record<string, string> = {
  greater_than: '>',
  less_than: '<',
  'starts with': 'starts_with',
  'ends with': 'ends_with',
  startswith: 'starts_with',
  endswith: 'ends_with',
  equal: 'equals',
  '=': 'equals',
  '==': 'equals',
};
const matchAllRegexes = new Set(['.*', '(.*)']);
const defaultRuleId = 'DEFAULT';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Finds the rule list in one of the accepted shapes, or says what the input is not. */
function ruleList(input: unknown): unknown[] | string {
  const shapes = 'expected a JSON array of rules, {"rules": [...]}, or a connector (or its "filtering") from GET _connector/<id>';
  if (Array.isArray(input)) {
    const first: unknown = input[0];
    if (isRecord(first) && ('active' in first || 'domain' in first) && !('rule' in first)) {
      // A connector's `filtering`: one entry per domain; Slack only has DEFAULT.
      const entry = input.find((candidate) => isRecord(candidate) && candidate.domain === 'DEFAULT') ?? first;
      const active = isRecord(entry) ? entry.active : undefined;
      if (!isRecord(active) || !Array.isArray(active.rules)) return `the connector filtering has no "active": {"rules": [...]}; ${shapes}`;
      return active.rules;
    }
    return input;
  }
  if (isRecord(input)) {
    if ('rules' in input) return Array.isArray(input.rules) ? input.rules : `"rules" must be an array; ${shapes}`;
    if ('filtering' in input) {
      return Array.isArray(input.filtering) ? ruleList(input.filtering) : `"filtering" must be an array; ${shapes}`;
    }
  }
  return shapes;
}

const describeValue = (value: unknown): string => JSON.stringify(value) ?? String(value);

/** "<name> is missing" or "<name> must be <requirement> (got <value>)". */
const requirement = (name: string, value: unknown, what: string): string =>
  value === undefined ? `${name} is missing (${what})` : `${name} must be ${what} (got ${describeValue(value)})`;

/**
 * Python's `re` syntax → JavaScript's, for what rules commonly use: named groups `(?P<name>…)`,
 * back-references `(?P=name)`, `\A`, `\Z`, and global flags at the start (`(?i)`, `(?m)`, `(?s)`).
 * Sticky (`y`) anchors the match at the start only, as `re.match` does, even with `m`.
 */
export function compilePythonRegex(pattern: string): RegExp {
  let flags = 'y';
  let source = pattern;
  const leadingFlags = /^\(\?([aiLmsux]+)\)/.exec(source);
  if (leadingFlags) {
    for (const flag of leadingFlags[1]!) {
      if (flag === 'x') throw new SyntaxError('the verbose flag (?x) is not supported; remove the whitespace and comments');
      if ((flag === 'i' || flag === 'm' || flag === 's') && !flags.includes(flag)) flags += flag;
    }
    source = source.slice(leadingFlags[0].length);
  }
  let translated = '';
  for (let index = 0; index < source.length; index++) {
    const character = source[index]!;
    if (character === '\\' && index + 1 < source.length) {
      const escaped = source[index + 1]!;
      translated += escaped === 'A' ? '(?<![\\s\\S])' : escaped === 'Z' ? '(?![\\s\\S])' : character + escaped;
      index++;
    } else if (source.startsWith('(?P<', index)) {
      translated += '(?<';
      index += 3;
    } else if (source.startsWith('(?P=', index)) {
      const close = source.indexOf(')', index);
      if (close === -1) throw new SyntaxError('unterminated (?P=name)');
      translated += `\\k<${source.slice(index + 4, close)}>`;
      index = close;
    } else translated += character;
  }
  return new RegExp(translated, flags);
}

interface Entry {
  name: string;
  rule: SyncRule | undefined;
  field: unknown;
  operator: RuleOperator | undefined;
  value: unknown;
}

/** Validates rules in any accepted shape, reporting every problem of every rule at once. */
export function validateRules(input: unknown): RulesValidation {
  const problems: RuleProblem[] = [];
  const list = ruleList(input);
  if (typeof list === 'string') return { valid: false, rules: [], problems: [{ ids: [], message: list }] };

  const entries: Entry[] = [];
  list.forEach((raw, position) => {
    const positionName = `#${position + 1}`;
    if (!isRecord(raw)) {
      problems.push({ ids: [positionName], message: `must be an object with id, order, policy, field, rule and value (got ${describeValue(raw)})` });
      return;
    }
    const id = raw.id;
    if (id === defaultRuleId) return; // Elastic drops the default rule by id, whatever it says.
    const name = typeof id === 'string' && id !== '' ? id : positionName;
    const problem = (message: string) => problems.push({ ids: [name], message });
    const before = problems.length;

    if (typeof id !== 'string' || id === '') problem(requirement('id', id, 'a non-empty string'));
    if (typeof raw.order !== 'number' || !Number.isFinite(raw.order)) problem(requirement('order', raw.order, 'a number'));

    let policy: SyncRule['policy'] | undefined;
    if (typeof raw.policy === 'string' && ['include', 'exclude'].includes(raw.policy.toLowerCase())) {
      policy = raw.policy.toLowerCase() as SyncRule['policy'];
    } else problem(requirement('policy', raw.policy, '"include" or "exclude"'));

    let operator: RuleOperator | undefined;
    if (typeof raw.rule === 'string' && operators.includes(raw.rule.toLowerCase() as RuleOperator)) {
      operator = raw.rule.toLowerCase() as RuleOperator;
    } else {
      const suggestion = typeof raw.rule === 'string' ? operatorSuggestions[raw.rule.toLowerCase()] : undefined;
      problem(
        requirement('rule', raw.rule, `one of ${operators.join(', ')}`) +
          (suggestion ? `; use "${suggestion}" (Elastic rejects ${describeValue(raw.rule)} too)` : ''),
      );
    }

    if (typeof raw.field !== 'string' || raw.field === '') problem(requirement('field', raw.field, 'a non-empty string'));

    const value = raw.value;
    if (typeof value === 'number' || typeof value === 'boolean') {
      problem(`value must be a string: quote it ("value": "${String(value)}")`);
    } else if (typeof value !== 'string' || value === '') {
      problem(requirement('value', value, 'a non-empty string'));
    } else if (operator === 'regex') {
      if (matchAllRegexes.has(value)) {
        problem(`regex ${JSON.stringify(value)} matches everything, which Elastic does not allow either; remove the rule (a document no rule matches is included anyway)`);
      } else {
        try {
          compilePythonRegex(value);
        } catch (error) {
          problem(`regex ${JSON.stringify(value)} does not compile: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }

    const valid = problems.length === before;
    entries.push({
      name,
      field: raw.field,
      operator,
      value,
      rule: valid
        ? { id: id as string, order: raw.order as number, policy: policy!, field: raw.field as string, rule: operator!, value: value as string }
        : undefined,
    });
  });

  const positionsById = new Map<string, string[]>();
  list.forEach((raw, position) => {
    if (isRecord(raw) && typeof raw.id === 'string' && raw.id !== '' && raw.id !== defaultRuleId) {
      const positions = positionsById.get(raw.id) ?? [];
      positions.push(`#${position + 1}`);
      positionsById.set(raw.id, positions);
    }
  });
  for (const [id, positions] of positionsById) {
    if (positions.length > 1) problems.push({ ids: [id], message: `id is used by ${positions.length} rules (${positions.join(', ')}); ids must be unique` });
  }

  // Elastic's semantic check: equal field, operator and value are duplicates whatever their policies.
  const comparable = entries.filter(
    (entry) => typeof entry.field === 'string' && entry.field !== '' && entry.operator !== undefined && typeof entry.value === 'string' && entry.value !== '',
  );
  for (let first = 0; first < comparable.length; first++) {
    for (let second = first + 1; second < comparable.length; second++) {
      const earlier = comparable[first]!;
      const later = comparable[second]!;
      if (earlier.field === later.field && earlier.operator === later.operator && earlier.value === later.value) {
        problems.push({
          ids: [earlier.name, later.name],
          message: `semantically equal (both: ${String(earlier.field)} ${earlier.operator} ${JSON.stringify(earlier.value)}); keep one`,
        });
      }
    }
  }

  const rules = entries.flatMap((entry) => (entry.rule ? [entry.rule] : [])).sort((a, b) => a.order - b.order);
  return { valid: problems.length === 0, rules, problems };
}

/** Offset of the first JSON syntax error (JSON.parse does not always say where). */
function jsonErrorOffset(text: string): number {
  let position = 0;
  class Stop extends Error {}
  const fail = (): never => {
    throw new Stop();
  };
  const skipWhitespace = () => {
    while (position < text.length && ' \t\n\r'.includes(text[position]!)) position++;
  };
  const expect = (literal: string) => {
    for (const character of literal) {
      if (text[position] !== character) fail();
      position++;
    }
  };
  const numberPattern = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
  const parseString = () => {
    expect('"');
    for (;;) {
      if (position >= text.length) fail();
      const character = text[position]!;
      if (character === '"') {
        position++;
        return;
      }
      if (character < ' ') fail();
      if (character === '\\') {
        position++;
        const escaped = text[position];
        if (escaped === 'u') {
          position++;
          for (let digit = 0; digit < 4; digit++, position++) if (!/[0-9a-fA-F]/.test(text[position] ?? '')) fail();
        } else if (escaped !== undefined && '"\\/bfnrt'.includes(escaped)) position++;
        else fail();
      } else position++;
    }
  };
  /** Objects and arrays: `open item (, item)* close`, the open character being at `position`. */
  const parseSequence = (close: string, parseItem: () => void) => {
    position++;
    skipWhitespace();
    if (text[position] === close) return void position++;
    for (;;) {
      parseItem();
      skipWhitespace();
      if (text[position] !== ',') return expect(close);
      position++;
    }
  };
  const parseMember = () => {
    skipWhitespace();
    parseString();
    skipWhitespace();
    expect(':');
    parseValue();
  };
  const parseValue = (): void => {
    skipWhitespace();
    const character = text[position];
    if (character === '{') return parseSequence('}', parseMember);
    if (character === '[') return parseSequence(']', parseValue);
    if (character === '"') return parseString();
    if (character === 't') return expect('true');
    if (character === 'f') return expect('false');
    if (character === 'n') return expect('null');
    numberPattern.lastIndex = position;
    if (!numberPattern.test(text)) fail();
    position = numberPattern.lastIndex;
  };
  try {
    parseValue();
    skipWhitespace();
    if (position < text.length) fail();
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
  }
  return Math.min(position, text.length);
}

/** Parses a rules file's text; a JSON syntax error becomes a problem naming the file, line and column. */
export function parseRulesText(text: string, fileName: string): RulesValidation {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let input: unknown;
  try {
    input = JSON.parse(body);
  } catch (error) {
    if (body.trim() === '') return { valid: false, rules: [], problems: [{ ids: [], message: `${fileName} is empty; write a JSON array of rules` }] };
    const offset = jsonErrorOffset(body);
    const before = body.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const reason = error instanceof Error ? error.message : String(error);
    return { valid: false, rules: [], problems: [{ ids: [], message: `${fileName}: not valid JSON at line ${line}, column ${column}: ${reason}` }] };
  }
  return validateRules(input);
}

/** One line per problem: `rule <ids>: <message>`, or the message alone for file-level problems. */
export const formatRuleProblem = (problem: RuleProblem): string =>
  problem.ids.length > 0 ? `rule ${problem.ids.join(', ')}: ${problem.message}` : problem.message;

export const formatRule = (rule: SyncRule): string =>
  `${rule.order}. ${rule.policy} ${rule.field} ${rule.rule} ${JSON.stringify(rule.value)} (id ${rule.id})`;

/** Reads the file, or throws ConfigError('rules_unreadable') naming it and the reason. */
export async function readRulesFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new ConfigError('rules_unreadable', `cannot read rules file ${path}: ${reason}`, {
      hint: 'pass the path of a JSON rules file (an array of rules, {"rules": [...]}, or a connector from GET _connector/<id>)',
      cause: error,
    });
  }
}

/** Loads and validates a rules file before any Slack call; throws ConfigError (exit 2) on any problem. */
export async function loadRules(path: string): Promise<SyncRule[]> {
  const validation = parseRulesText(await readRulesFile(path), path);
  if (!validation.valid) {
    const count = validation.problems.length;
    throw new ConfigError(
      'rules_invalid',
      `${path}: ${count} ${count === 1 ? 'problem' : 'problems'}: ${validation.problems.map(formatRuleProblem).join('; ')}`,
      { hint: `fix the rules, then check them with \`slack-etl rules check ${path}\`` },
    );
  }
  return validation.rules;
}

// ── Evaluation ─────────────────────────────────────────────────────────────────────────────────────────

type Verdict = boolean | 'incomparable';

const numericText = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const decimalText = /^([+-]?)(\d*)(?:\.(\d*))?$/;

/** Exact comparison of two decimal strings (no exponent), so microsecond `ts` values never round. */
function compareDecimalText(left: string, right: string): number {
  const [, signA = '', integerA = '', fractionA = ''] = decimalText.exec(left)!;
  const [, signB = '', integerB = '', fractionB = ''] = decimalText.exec(right)!;
  const magnitudeA = [integerA.replace(/^0+/, ''), fractionA.replace(/0+$/, '')] as const;
  const magnitudeB = [integerB.replace(/^0+/, ''), fractionB.replace(/0+$/, '')] as const;
  const zeroA = magnitudeA[0] === '' && magnitudeA[1] === '';
  const zeroB = magnitudeB[0] === '' && magnitudeB[1] === '';
  const negativeA = signA === '-' && !zeroA;
  const negativeB = signB === '-' && !zeroB;
  if (negativeA !== negativeB) return negativeA ? -1 : 1;
  let magnitude: number;
  if (magnitudeA[0].length !== magnitudeB[0].length) magnitude = magnitudeA[0].length - magnitudeB[0].length;
  else if (magnitudeA[0] !== magnitudeB[0]) magnitude = magnitudeA[0] < magnitudeB[0] ? -1 : 1;
  else magnitude = magnitudeA[1] === magnitudeB[1] ? 0 : magnitudeA[1] < magnitudeB[1] ? -1 : 1;
  return negativeA ? -magnitude : magnitude;
}

/**
 * Compares two numeric-looking strings. Rounding to a double is monotonic, so different doubles order
 * the strings correctly; only equal doubles (e.g. `ts` values a microsecond apart) need the exact decimal comparison.
 */
function compareNumericText(left: string, right: string): number {
  const leftNumber = Number(left);
  const rightNumber = Number(right);
  if (leftNumber < rightNumber) return -1;
  if (leftNumber > rightNumber) return 1;
  return decimalText.test(left) && decimalText.test(right) ? compareDecimalText(left, right) : 0;
}

/** Python's `float(str)`: surrounding whitespace, `_` between digits, inf and nan allowed; undefined when it raises. */
function pythonFloat(text: string): number | undefined {
  const trimmed = text.trim().replace(/(?<=\d)_(?=\d)/g, '');
  const special = /^([+-]?)(inf|infinity|nan)$/i.exec(trimmed);
  if (special) return special[2]!.toLowerCase() === 'nan' ? Number.NaN : special[1] === '-' ? -Infinity : Infinity;
  return numericText.test(trimmed) ? Number(trimmed) : undefined;
}

/** Elastic's `to_bool`, returning undefined where it would return the string unchanged. */
function toBoolean(text: string): boolean | undefined {
  if (text === '' || /^(?:false|f|no|n|off)$/i.test(text)) return false;
  if (/^(?:true|t|yes|y|on)$/i.test(text)) return true;
  return undefined;
}

const dateText = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}(?::?\d{2})?)?)?$/i;

/** Epoch milliseconds of an ISO-8601-like date; a date or time without zone is UTC. Undefined if not date-like. */
function dateMilliseconds(text: string): number | undefined {
  const parts = dateText.exec(text);
  if (!parts) return undefined;
  const [, date, time, zone] = parts;
  let milliseconds: number;
  if (time === undefined) milliseconds = Date.parse(date!);
  else {
    let offset = 'Z';
    if (zone !== undefined && zone.toUpperCase() !== 'Z') {
      const digits = zone.replace(':', '');
      offset = `${digits.slice(0, 3)}:${digits.slice(3, 5) || '00'}`;
    }
    milliseconds = Date.parse(`${date}T${time}${offset}`);
  }
  return Number.isNaN(milliseconds) ? undefined : milliseconds;
}

/** Text used by contains / starts_with / ends_with / regex. */
const textOf = (value: unknown): string => (typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value));

interface CompiledRule {
  rule: SyncRule;
  include: boolean;
  /** Fields like `constructor` exist on every object's prototype: check own properties for them. */
  inheritedName: boolean;
  test: (value: unknown) => Verdict;
}

function compileRule(rule: SyncRule): CompiledRule {
  const expected = rule.value;
  const expectedNumber = pythonFloat(expected);
  const expectedLooksNumeric = numericText.test(expected);
  const expectedBoolean = toBoolean(expected);
  const expectedDate = dateMilliseconds(expected);

  /** Sign of `actual - expected`, or 'incomparable'. */
  const order = (actual: unknown): number | 'incomparable' => {
    if (typeof actual === 'string') {
      if (expectedLooksNumeric && numericText.test(actual)) return compareNumericText(actual, expected);
      if (expectedDate !== undefined) {
        const actualDate = dateMilliseconds(actual);
        if (actualDate !== undefined) return actualDate - expectedDate;
      }
      return actual < expected ? -1 : actual > expected ? 1 : 0;
    }
    if (typeof actual === 'number') {
      if (expectedNumber === undefined) return 'incomparable';
      return actual < expectedNumber ? -1 : actual > expectedNumber ? 1 : actual === expectedNumber ? 0 : 'incomparable';
    }
    return 'incomparable';
  };

  let test: (value: unknown) => Verdict;
  switch (rule.rule) {
    case 'equals':
      test = (actual) => {
        switch (typeof actual) {
          case 'string':
            return actual === expected || (expectedLooksNumeric && numericText.test(actual) && compareNumericText(actual, expected) === 0);
          case 'number':
            return expectedNumber === undefined ? 'incomparable' : actual === expectedNumber;
          case 'boolean':
            return expectedBoolean === undefined ? 'incomparable' : actual === expectedBoolean;
          default:
            return textOf(actual) === expected;
        }
      };
      break;
    case '<':
    case '>': {
      const wantSign = rule.rule === '<' ? -1 : 1;
      test = (actual) => {
        const sign = order(actual);
        return sign === 'incomparable' ? sign : Math.sign(sign) === wantSign;
      };
      break;
    }
    case 'contains':
      test = (actual) => textOf(actual).includes(expected);
      break;
    case 'starts_with':
      test = (actual) => textOf(actual).startsWith(expected);
      break;
    case 'ends_with':
      test = (actual) => textOf(actual).endsWith(expected);
      break;
    case 'regex': {
      const pattern = compilePythonRegex(expected);
      test = (actual) => {
        pattern.lastIndex = 0;
        return pattern.test(textOf(actual));
      };
      break;
    }
    default:
      throw new ConfigError('rules_invalid', `rule ${rule.id}: unknown operator ${JSON.stringify(rule.rule)}`);
  }
  return { rule, include: rule.policy === 'include', inheritedName: rule.field in Object.prototype, test };
}

/** A top-level field's value; missing, undefined and null are all "no value" (no match). */
function fieldValue(document: Record<string, unknown>, compiled: CompiledRule): unknown {
  const value = document[compiled.rule.field];
  if (value === null || value === undefined) return undefined;
  if (compiled.inheritedName && !Object.hasOwn(document, compiled.rule.field)) return undefined;
  return value;
}

const compiledRules = new WeakMap<SyncRule, CompiledRule>();

/** Whether one rule matches a document's top-level fields; 'incomparable' when the types cannot be compared. */
export function ruleMatches(rule: SyncRule, document: Record<string, unknown>): boolean | 'incomparable' {
  let compiled = compiledRules.get(rule);
  if (compiled === undefined) {
    compiled = compileRule(rule);
    compiledRules.set(rule, compiled);
  }
  const value = fieldValue(document, compiled);
  return value === undefined ? false : compiled.test(value);
}

function compileValidRules(rules: SyncRule[]): CompiledRule[] {
  const validation = validateRules(rules);
  if (!validation.valid) {
    throw new ConfigError('rules_invalid', `sync rules: ${validation.problems.map(formatRuleProblem).join('; ')}`, {
      hint: 'fix the rules; `slack-etl rules check FILE` lists every problem',
    });
  }
  return validation.rules.map(compileRule);
}

/** Position of the first rule (by `order`) that matches the document, or -1 when none does (the document is kept). */
function firstMatchingRule(compiled: CompiledRule[], document: Record<string, unknown>, onIncomparable?: () => void): number {
  for (let index = 0; index < compiled.length; index++) {
    const rule = compiled[index]!;
    const value = fieldValue(document, rule);
    if (value === undefined) continue;
    const verdict = rule.test(value);
    if (verdict === true) return index;
    if (verdict === 'incomparable') onIncomparable?.();
  }
  return -1;
}

/**
 * The stage's decision as a predicate: true when the rules keep the document. The Elasticsearch sink uses it to tell
 * an indexed document the rules now exclude from one that is gone from Slack.
 */
export function rulesKeep(rules: SyncRule[]): (document: Record<string, unknown>) => boolean {
  const compiled = compileValidRules(rules);
  return (document) => {
    const matched = firstMatchingRule(compiled, document);
    return matched < 0 || compiled[matched]!.include;
  };
}

/** The stage: drops documents whose first matching rule (by `order`) excludes them. Tombstones pass through. */
export function syncRules(rules: SyncRule[]): Stage<AnyDocument, AnyDocument> {
  const compiled = compileValidRules(rules);
  const matchCounts = compiled.map(() => 0);
  let included = 0;
  let excluded = 0;
  let incomparable = 0;
  const countIncomparable = () => {
    incomparable++;
  };

  async function* syncRulesStage(documents: AsyncIterable<AnyDocument>): AsyncIterable<AnyDocument> {
    for await (const document of documents) {
      if (document.type === 'tombstone') {
        yield document;
        continue;
      }
      const matched = firstMatchingRule(compiled, document as unknown as Record<string, unknown>, countIncomparable);
      if (matched >= 0) matchCounts[matched]!++;
      if (matched < 0 || compiled[matched]!.include) {
        included++;
        yield document;
      } else excluded++;
    }
  }

  const stage: Stage<AnyDocument, AnyDocument> = syncRulesStage;
  stage.stageName = 'syncRules';
  stage.stats = (): SyncRulesStats => {
    const matches: SyncRulesStats['matches'] = {};
    compiled.forEach((rule, index) => {
      matches[rule.rule.id] = { policy: rule.rule.policy, matches: matchCounts[index]! };
    });
    return { included, excluded, incomparable, matches };
  };
  return stage;
}
