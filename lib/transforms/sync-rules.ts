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
// | regex engine                                       | Python `re` (backtracking: `(a+)+$` can hang)    | RE2 (re2js), linear time; Python syntax kept: `(?P<n>…)`, `\A`, `\Z`, `(?i)`; no backreferences or  |
// |                                                    |                                                  | lookarounds (rejected by validation); `rules check` warns about patterns that hang Python's `re`  |
// | regex compilation                                  | on every match                                   | once per rule                                                                                     |
// | the DEFAULT rule                                   | dropped by id, its policy ignored                | its policy decides documents no other rule matches: `exclude` makes an include-only list          |
// | unknown field name                                 | not validated (the rule never matches)           | rejected, with the closest field name                                                             |
// | `<`/`>` with a value that is no number or date     | string comparison, or TypeError in the sync      | rejected by validation                                                                            |
// | duplicate rule ids                                 | not validated                                    | reported                                                                                          |
// | semantic duplicates (same field, rule, value)      | only the first pair is reported                  | every group is reported (in linear time: 10,000 rules validate at once)                           |
// | a rule with an unknown operator or policy          | later validators may raise instead of reporting  | every problem of every rule reported at once                                                      |
// | more than 10,000 rules                             | no limit                                         | rejected (each document is checked against every rule)                                            |
//
// Kept as Elastic does it: first match in ascending `order` (stable) wins, the DEFAULT rule (by id) is the fall-through
// whatever its `order`, top-level fields only, regex anchored at the start only (`re.match`), `greater_than`,
// `less_than` and `starts with` are rejected, `value` must be a non-empty string, `.*`/`(.*)` rules are rejected.

import { readFile } from 'node:fs/promises';
import { RE2JS } from 're2js';
import safeRegex from 'safe-regex2';
import { documentFields, type AnyDocument } from '../documents.js';
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
  /**
   * Parsed rules sorted by `order` (stable). A DEFAULT rule that excludes comes last (it is the fall-through);
   * one that includes is dropped, since including what no rule matches is what happens anyway.
   */
  rules: SyncRule[];
  problems: RuleProblem[];
  /** Not errors: e.g. regexes that would hang a backtracking engine such as Elastic's (Python `re`). */
  warnings: RuleProblem[];
}

export interface SyncRulesStats {
  [key: string]: unknown;
  included: number;
  excluded: number;
  /** Rule evaluations that compared values of incompatible types (no match). */
  incomparable: number;
  matches: Record<string, { policy: SyncRule['policy']; matches: number }>;
}

/** Elastic's id of the fall-through rule; Kibana writes it as `_ regex .*` with policy include. */
export const defaultRuleId = 'DEFAULT';
/** Each document is checked against every rule, and validation reports every problem: past this, refuse. */
export const maxRules = 10_000;

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
const knownFields: ReadonlySet<string> = new Set(Object.values(documentFields).flat());

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

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
 * Python's `re` syntax → RE2's, which evaluates in linear time whatever the pattern. RE2 already reads Python's named
 * groups `(?P<name>…)`, `\A` and inline flags; Python's `\Z` (end of text) is RE2's `\z`. `re.match` anchors at the
 * start only: `\A(?:…)` does the same, also under `(?m)`. Backreferences and lookarounds have no linear-time
 * evaluation: RE2 rejects them, and so does validation.
 */
export function compilePythonRegex(pattern: string): RE2JS {
  let source = pattern;
  let flags = '';
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
      translated += escaped === 'Z' ? '\\z' : character + escaped;
      index++;
    } else translated += character;
  }
  try {
    return RE2JS.compile(`${flags ? `(?${flags})` : ''}\\A(?:${translated})`);
  } catch (error) {
    const reason = error instanceof Error ? error.message.replace(/^error parsing regexp: /, '') : String(error);
    const unsupported = /\(\?P=|\(\?<?[=!]|\\[1-9]/.test(translated)
      ? ' (backreferences and lookarounds are not supported: rules run on a linear-time engine, RE2)'
      : '';
    throw new SyntaxError(`${reason}${unsupported}`);
  }
}

/** Patterns whose nested repetition makes a backtracking engine (Python's `re`, JavaScript's RegExp) take exponential time. */
function backtracksCatastrophically(pattern: string): boolean {
  const asJavaScript = pattern
    .replace(/^\(\?[aiLmsux]+\)/, '')
    .replaceAll('(?P<', '(?<')
    .replaceAll(/\(\?P=(\w+)\)/g, '\\k<$1>');
  try {
    return !safeRegex(asJavaScript);
  } catch {
    return false;
  }
}

/** The known field closest to `field` by edit distance, when it is close enough to be a likely typo. */
function closestField(field: string): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(field.length / 3)) + 1;
  for (const candidate of knownFields) {
    const distance = editDistance(field.toLowerCase(), candidate);
    if (distance < bestDistance) [best, bestDistance] = [candidate, distance];
  }
  return best;
}

function editDistance(left: string, right: string): number {
  let previous = Array.from({ length: right.length + 1 }, (_, index) => index);
  for (let row = 1; row <= left.length; row++) {
    const current = [row];
    for (let column = 1; column <= right.length; column++) {
      const substitution = previous[column - 1]! + (left[row - 1] === right[column - 1] ? 0 : 1);
      current.push(Math.min(previous[column]! + 1, current[column - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[right.length]!;
}

interface Entry {
  name: string;
  rule: SyncRule | undefined;
  field: unknown;
  operator: RuleOperator | undefined;
  value: unknown;
}

/** Validates one non-DEFAULT rule, adding its problems (and warnings) under its id. */
function validateRule(raw: Record<string, unknown>, name: string, problems: RuleProblem[], warnings: RuleProblem[]): Entry {
  const problem = (message: string) => problems.push({ ids: [name], message });
  const before = problems.length;
  const id = raw.id;
  if (typeof id !== 'string' || id === '') problem(requirement('id', id, 'a non-empty string'));
  if (typeof raw.order !== 'number' || !Number.isFinite(raw.order)) problem(requirement('order', raw.order, 'a number'));
  const policy = parsePolicy(raw.policy);
  if (policy === undefined) problem(requirement('policy', raw.policy, '"include" or "exclude"'));

  let operator: RuleOperator | undefined;
  if (typeof raw.rule === 'string' && Object.hasOwn(operatorTests, raw.rule.toLowerCase())) {
    operator = raw.rule.toLowerCase() as RuleOperator;
  } else {
    const suggestion = typeof raw.rule === 'string' ? operatorSuggestions[raw.rule.toLowerCase()] : undefined;
    problem(
      requirement('rule', raw.rule, `one of ${operators.join(', ')}`) +
        (suggestion ? `; use "${suggestion}" (Elastic rejects ${describeValue(raw.rule)} too)` : ''),
    );
  }

  const field = raw.field;
  if (typeof field !== 'string' || field === '') problem(requirement('field', field, 'a non-empty string'));
  else if (!knownFields.has(field)) {
    const suggestion = closestField(field);
    problem(
      `field ${JSON.stringify(field)} is not a field of any document, so the rule would never match; ` +
        (suggestion ? `did you mean "${suggestion}"?` : 'see the documents table in the README for the field names'),
    );
  }

  const value = raw.value;
  if (typeof value === 'number' || typeof value === 'boolean') {
    problem(`value must be a string: quote it ("value": "${String(value)}")`);
  } else if (typeof value !== 'string' || value === '') {
    problem(requirement('value', value, 'a non-empty string'));
  } else if (operator === 'regex') {
    if (matchAllRegexes.has(value)) {
      problem(
        `regex ${JSON.stringify(value)} matches everything, which Elastic does not allow either; remove the rule (a document no rule matches is included anyway)`,
      );
    } else {
      try {
        compilePythonRegex(value);
        if (backtracksCatastrophically(value)) {
          warnings.push({
            ids: [name],
            message: `regex ${JSON.stringify(value)} has nested repetition that can take exponential time in backtracking engines (Python's re in Elastic's connector); slack-etl evaluates it in linear time`,
          });
        }
      } catch (error) {
        problem(`regex ${JSON.stringify(value)} does not compile: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } else if ((operator === '<' || operator === '>') && pythonFloat(value) === undefined && dateMilliseconds(value) === undefined) {
    problem(
      `"${operator}" compares numbers and dates, and ${JSON.stringify(value)} is neither; use a number (e.g. "1700000000") or an ISO date (e.g. "2024-03-01")`,
    );
  }

  const valid = problems.length === before;
  return {
    name,
    field,
    operator,
    value,
    rule: valid
      ? { id: id as string, order: raw.order as number, policy: policy!, field: field as string, rule: operator!, value: value as string }
      : undefined,
  };
}

function parsePolicy(policy: unknown): SyncRule['policy'] | undefined {
  const lowered = typeof policy === 'string' ? policy.toLowerCase() : undefined;
  return lowered === 'include' || lowered === 'exclude' ? lowered : undefined;
}

/** Lists more than a handful of ids as the first few and a count, so one problem stays one readable line. */
const someIds = (ids: string[]): string => (ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more`);

/** Validates rules in any accepted shape, reporting every problem of every rule at once (in linear time). */
export function validateRules(input: unknown): RulesValidation {
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const list = ruleList(input);
  if (typeof list === 'string') return { valid: false, rules: [], problems: [{ ids: [], message: list }], warnings };
  if (list.length > maxRules) {
    const message = `${list.length.toLocaleString('en-US')} rules is more than the ${maxRules.toLocaleString('en-US')} slack-etl accepts (every document is checked against every rule); merge rules, e.g. one regex with alternatives`;
    return { valid: false, rules: [], problems: [{ ids: [], message }], warnings };
  }

  const entries: Entry[] = [];
  let fallThrough: SyncRule | undefined;
  const positionsById = new Map<string, string[]>();
  list.forEach((raw, position) => {
    const positionName = `#${position + 1}`;
    if (!isRecord(raw)) {
      problems.push({
        ids: [positionName],
        message: `must be an object with id, order, policy, field, rule and value (got ${describeValue(raw)})`,
      });
      return;
    }
    if (typeof raw.id === 'string' && raw.id !== '') {
      const positions = positionsById.get(raw.id);
      if (positions) positions.push(positionName);
      else positionsById.set(raw.id, [positionName]);
    }
    if (raw.id === defaultRuleId) {
      // Elastic's DEFAULT matches every document whatever its field, rule and value say: only its policy counts.
      const policy = parsePolicy(raw.policy);
      if (policy === undefined)
        problems.push({ ids: [defaultRuleId], message: requirement('policy', raw.policy, '"include" or "exclude"') });
      else
        fallThrough = {
          id: defaultRuleId,
          order: typeof raw.order === 'number' ? raw.order : 0,
          policy,
          field: '_',
          rule: 'regex',
          value: '.*',
        };
      return;
    }
    entries.push(validateRule(raw, typeof raw.id === 'string' && raw.id !== '' ? raw.id : positionName, problems, warnings));
  });

  for (const [id, positions] of positionsById) {
    if (positions.length > 1)
      problems.push({ ids: [id], message: `id is used by ${positions.length} rules (${someIds(positions)}); ids must be unique` });
  }

  // Elastic's semantic check: equal field, operator and value are duplicates whatever their policies.
  const groups = new Map<string, Entry[]>();
  for (const entry of entries) {
    if (
      typeof entry.field !== 'string' ||
      entry.field === '' ||
      entry.operator === undefined ||
      typeof entry.value !== 'string' ||
      entry.value === ''
    )
      continue;
    const key = JSON.stringify([entry.field, entry.operator, entry.value]);
    const group = groups.get(key);
    if (group) group.push(entry);
    else groups.set(key, [entry]);
  }
  for (const group of groups.values()) {
    if (group.length < 2) continue;
    const [first] = group;
    problems.push({
      ids: group.map((entry) => entry.name),
      message: `semantically equal (${group.length === 2 ? 'both' : `all ${group.length}`}: ${String(first!.field)} ${first!.operator} ${JSON.stringify(first!.value)}); keep one`,
    });
  }

  const rules = entries.flatMap((entry) => (entry.rule ? [entry.rule] : [])).sort((a, b) => a.order - b.order);
  if (fallThrough?.policy === 'exclude') rules.push(fallThrough);
  return { valid: problems.length === 0, rules, problems, warnings };
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
const textOf = (value: unknown): string =>
  typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);

/** The rule value read every way an operator may need it. */
interface Expected {
  text: string;
  /** Python's `float(value)`, as Elastic coerces it for number fields. */
  number: number | undefined;
  /** A decimal number as text, compared exactly with numeric-looking string fields (`ts`). */
  looksNumeric: boolean;
  boolean: boolean | undefined;
  date: number | undefined;
}

/** Sign of `actual - expected`, or 'incomparable'. */
function order(actual: unknown, expected: Expected): number | 'incomparable' {
  if (typeof actual === 'string') {
    if (expected.looksNumeric && numericText.test(actual)) return compareNumericText(actual, expected.text);
    if (expected.date !== undefined) {
      const actualDate = dateMilliseconds(actual);
      if (actualDate !== undefined) return actualDate - expected.date;
    }
    return actual < expected.text ? -1 : actual > expected.text ? 1 : 0;
  }
  if (typeof actual === 'number') {
    if (expected.number === undefined) return 'incomparable';
    return actual < expected.number ? -1 : actual > expected.number ? 1 : actual === expected.number ? 0 : 'incomparable';
  }
  return 'incomparable';
}

const comparison =
  (wantSign: -1 | 1) =>
  (expected: Expected) =>
  (actual: unknown): Verdict => {
    const sign = order(actual, expected);
    return sign === 'incomparable' ? sign : Math.sign(sign) === wantSign;
  };

/** Every operator, once: the table validation reads its names from and evaluation its tests. */
const operatorTests = {
  equals: (expected) => (actual) => {
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
  },
  contains: (expected) => (actual) => textOf(actual).includes(expected.text),
  starts_with: (expected) => (actual) => textOf(actual).startsWith(expected.text),
  ends_with: (expected) => (actual) => textOf(actual).endsWith(expected.text),
  regex: (expected) => {
    const pattern = compilePythonRegex(expected.text);
    return (actual) => pattern.test(textOf(actual));
  },
  '>': comparison(1),
  '<': comparison(-1),
} satisfies Record<RuleOperator, (expected: Expected) => (actual: unknown) => Verdict>;

const operators = Object.keys(operatorTests) as RuleOperator[];

interface CompiledRule {
  rule: SyncRule;
  include: boolean;
  /** Fields like `constructor` exist on every object's prototype: check own properties for them. */
  inheritedName: boolean;
  test: (value: unknown) => Verdict;
}

function compileRule(rule: SyncRule): CompiledRule {
  const include = rule.policy === 'include';
  if (rule.id === defaultRuleId) return { rule, include, inheritedName: false, test: () => true };
  const expected: Expected = {
    text: rule.value,
    number: pythonFloat(rule.value),
    looksNumeric: numericText.test(rule.value),
    boolean: toBoolean(rule.value),
    date: dateMilliseconds(rule.value),
  };
  return { rule, include, inheritedName: rule.field in Object.prototype, test: operatorTests[rule.rule](expected) };
}

/** A top-level field's value; missing, undefined and null are all "no value" (no match). The DEFAULT rule has no field. */
function fieldValue(document: Record<string, unknown>, compiled: CompiledRule): unknown {
  if (compiled.rule.id === defaultRuleId) return document;
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

/** Index of the first rule (in evaluation order) that matches, or -1; counts incomparable evaluations. */
function firstMatch(compiled: CompiledRule[], document: Record<string, unknown>, counters: { incomparable: number }): number {
  for (let index = 0; index < compiled.length; index++) {
    const rule = compiled[index]!;
    const value = fieldValue(document, rule);
    if (value === undefined) continue;
    const verdict = rule.test(value);
    if (verdict === true) return index;
    if (verdict === 'incomparable') counters.incomparable++;
  }
  return -1;
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

/**
 * The stage's decision as a predicate: true when the rules keep the document. The Elasticsearch sink uses it to tell
 * an indexed document the rules now exclude from one that is gone from Slack.
 */
export function rulesKeep(rules: SyncRule[]): (document: Record<string, unknown>) => boolean {
  const compiled = compileValidRules(rules);
  const counters = { incomparable: 0 };
  return (document) => {
    const index = firstMatch(compiled, document, counters);
    return index === -1 || compiled[index]!.include;
  };
}

/** The stage: drops documents whose first matching rule (by `order`) excludes them. Tombstones pass through. */
export function syncRules(rules: SyncRule[]): Stage<AnyDocument, AnyDocument> {
  const compiled = compileValidRules(rules);
  const matchCounts = compiled.map(() => 0);
  const counters = { incomparable: 0 };
  let included = 0;
  let excluded = 0;

  async function* syncRulesStage(documents: AsyncIterable<AnyDocument>): AsyncIterable<AnyDocument> {
    for await (const document of documents) {
      if (document.type === 'tombstone') {
        yield document;
        continue;
      }
      const index = firstMatch(compiled, document as unknown as Record<string, unknown>, counters);
      if (index !== -1) matchCounts[index]!++;
      if (index === -1 || compiled[index]!.include) {
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
    return { included, excluded, incomparable: counters.incomparable, matches };
  };
  return stage;
}
