// Rules files: read, parsed (a JSON syntax error named by line and column), validated, and each rule and problem as one line.

import { readFile } from 'node:fs/promises';
import { ConfigError } from '../../errors.js';
import { defaultRuleId, type RuleProblem, type RulesValidation, type SyncRule } from './types.js';
import { someIds, validateRules } from './validate.js';

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
    // Nesting deeper than the stack: the position reached is as close as this scan can say.
    if (!(error instanceof Stop) && !(error instanceof RangeError)) throw error;
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
    if (body.trim() === '')
      return {
        valid: false,
        rules: [],
        problems: [{ ids: [], message: `${fileName} is empty; write a JSON array of rules` }],
        warnings: [],
      };
    const offset = jsonErrorOffset(body);
    const before = body.slice(0, offset);
    const line = before.split('\n').length;
    const column = offset - before.lastIndexOf('\n');
    const reason = error instanceof Error ? error.message : String(error);
    return {
      valid: false,
      rules: [],
      problems: [{ ids: [], message: `${fileName}: not valid JSON at line ${line}, column ${column}: ${reason}` }],
      warnings: [],
    };
  }
  return validateRules(input);
}

/** One line per problem: `rule <ids>: <message>`, or the message alone for file-level problems. */
export const formatRuleProblem = (problem: RuleProblem): string =>
  problem.ids.length > 0 ? `rule ${someIds(problem.ids)}: ${problem.message}` : problem.message;

export const formatRule = (rule: SyncRule): string =>
  rule.id === defaultRuleId
    ? `last. ${rule.policy} every document no rule above matches (id ${defaultRuleId})`
    : `${rule.order}. ${rule.policy} ${rule.field} ${rule.rule} ${JSON.stringify(rule.value)} (id ${rule.id})`;

/** Reads the file, or throws ConfigError('rules_unreadable') naming it and the reason. */
export async function readRulesFile(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT'
        ? 'no such file'
        : code === 'EISDIR'
          ? 'it is a directory'
          : code === 'EACCES'
            ? 'permission denied'
            : (error as Error).message;
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
