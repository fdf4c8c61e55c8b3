// Sync rules: Elastic's operator semantics with our documented fixes, first-match order, the three file shapes, validation of every problem
// at once, and `rules check`.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AnyDocument, MessageDocument, TombstoneDocument } from '../lib/documents.js';
import { ConfigError } from '../lib/errors.js';
import { runRulesCheck } from '../lib/cli/rules-check.js';
import {
  formatRuleProblem,
  loadRules,
  parseRulesText,
  ruleMatches,
  syncRules,
  validateRules,
  type RuleOperator,
  type SyncRule,
} from '../lib/transforms/sync-rules.js';
import { collect, fromArray, messageDocument } from './helpers/documents.js';
import { repositoryPath } from './helpers/paths.js';

const fixture = (name: string) => repositoryPath(`fixtures/rules/${name}`);

const rule = (field: string, operator: RuleOperator, value: string, overrides: Partial<SyncRule> = {}): SyncRule => ({
  id: `${field}-${operator}-${value}`,
  order: 1,
  policy: 'exclude',
  field,
  rule: operator,
  value,
  ...overrides,
});

const message = (overrides: Partial<MessageDocument>): MessageDocument =>
  messageDocument({ _timestamp: '2024-03-01T12:00:00.000Z', ...overrides });

type Expected = boolean | 'incomparable';
interface Row {
  value: unknown;
  operator: RuleOperator;
  ruleValue: string;
  expected: Expected;
  /** Set on rows where we deliberately differ: what Elastic's connector did. */
  elastic?: string;
}

// Field values by type; the document carries them as top-level field `field`.
const rows: Row[] = [
  // string
  { value: 'general', operator: 'equals', ruleValue: 'general', expected: true },
  { value: 'general', operator: 'equals', ruleValue: 'General', expected: false },
  { value: 'general', operator: 'contains', ruleValue: 'ner', expected: true },
  { value: 'general', operator: 'contains', ruleValue: 'xyz', expected: false },
  { value: 'general', operator: 'starts_with', ruleValue: 'gen', expected: true },
  { value: 'general', operator: 'starts_with', ruleValue: 'ral', expected: false },
  { value: 'general', operator: 'ends_with', ruleValue: 'ral', expected: true },
  { value: 'general', operator: 'ends_with', ruleValue: 'gen', expected: false },
  { value: 'general', operator: 'regex', ruleValue: 'gen.*l', expected: true },
  { value: 'general', operator: 'regex', ruleValue: 'ner', expected: false }, // re.match: anchored at the start only
  { value: 'general', operator: 'regex', ruleValue: 'gen', expected: true }, // ...and not at the end
  { value: 'general', operator: 'regex', ruleValue: '(?i)GEN', expected: true }, // Python's leading inline flag
  { value: 'general', operator: 'regex', ruleValue: '(?P<word>gen)eral', expected: true }, // Python named groups
  { value: 'line one\ngeneral', operator: 'regex', ruleValue: '(?m)general', expected: false }, // still re.match with (?m)
  { value: 'general', operator: 'regex', ruleValue: '\\Ageneral\\Z', expected: true }, // Python's \A and \Z
  { value: 'general', operator: 'regex', ruleValue: 'gen\\Z', expected: false },
  { value: 'general', operator: '<', ruleValue: 'h', expected: true }, // plain strings: lexicographic, as Elastic
  { value: 'general', operator: '>', ruleValue: 'h', expected: false },
  // numeric-looking string (Slack `ts`)
  { value: '999.500000', operator: '>', ruleValue: '1000', expected: false, elastic: 'string comparison: "999.5…" > "1000" was true' },
  { value: '999.500000', operator: '<', ruleValue: '1000', expected: true, elastic: 'string comparison: false' },
  { value: '1690674765.12345610', operator: '<', ruleValue: '1690674765.12345611', expected: true }, // exact where both round to one double
  { value: '1690674765.12345611', operator: 'equals', ruleValue: '1690674765.12345610', expected: false },
  { value: '1690674765.123456', operator: 'equals', ruleValue: '1690674765.123456000', expected: true, elastic: 'string equality: false' },
  { value: '1690674765.123456', operator: 'equals', ruleValue: '1690674765.123456', expected: true },
  { value: '1690674765.123456', operator: 'contains', ruleValue: '.1234', expected: true },
  { value: '1690674765.123456', operator: '>', ruleValue: 'abc', expected: false }, // non-numeric value: lexicographic, "1" < "a"
  // number
  { value: 5, operator: 'equals', ruleValue: '5', expected: true },
  { value: 5, operator: 'equals', ruleValue: '5.0', expected: true },
  { value: 5, operator: 'equals', ruleValue: 'five', expected: 'incomparable' },
  { value: 5, operator: '>', ruleValue: '3', expected: true },
  { value: 5, operator: '>', ruleValue: ' 3 ', expected: true }, // Python float() trims
  { value: 5, operator: '<', ruleValue: '3', expected: false },
  { value: 5, operator: '<', ruleValue: '1e1', expected: true },
  { value: 5, operator: '>', ruleValue: 'abc', expected: 'incomparable', elastic: 'TypeError: the whole sync failed' },
  { value: 5, operator: 'contains', ruleValue: '5', expected: true },
  { value: 5, operator: 'starts_with', ruleValue: '5', expected: true },
  { value: 5, operator: 'regex', ruleValue: '\\d', expected: true },
  // boolean
  { value: true, operator: 'equals', ruleValue: 'true', expected: true, elastic: 'never matched: True == "True" is False' },
  { value: true, operator: 'equals', ruleValue: 'YES', expected: true, elastic: 'never matched' },
  { value: false, operator: 'equals', ruleValue: 'off', expected: true, elastic: 'never matched' },
  { value: true, operator: 'equals', ruleValue: 'false', expected: false },
  { value: true, operator: 'equals', ruleValue: 'maybe', expected: 'incomparable' },
  { value: true, operator: '<', ruleValue: 'true', expected: 'incomparable', elastic: 'TypeError: the whole sync failed' },
  { value: true, operator: 'contains', ruleValue: 'true', expected: true, elastic: 'str(True) is "True": false' },
  // ISO date-like string (`_timestamp`)
  {
    value: '2024-03-01T12:00:00.000Z',
    operator: '>',
    ruleValue: '2024-03-01T13:00:00+02:00',
    expected: true,
    elastic: 'string comparison: false',
  },
  { value: '2024-03-01T12:00:00.000Z', operator: '<', ruleValue: '2024-03-01T12:00:00.001Z', expected: true },
  { value: '2024-03-01T12:00:00.000Z', operator: '>', ruleValue: '2024-03-01', expected: true },
  { value: '2024-03-01T12:00:00.000Z', operator: '<', ruleValue: '2024-03-02 00:00', expected: true }, // no zone: UTC
  { value: '2024-03-01T12:00:00.000Z', operator: 'equals', ruleValue: '2024-03-01T12:00:00.000Z', expected: true },
  { value: '2024-03-01T12:00:00.000Z', operator: 'starts_with', ruleValue: '2024-03', expected: true },
  // null
  { value: null, operator: 'equals', ruleValue: 'null', expected: false },
  { value: null, operator: 'starts_with', ruleValue: 'No', expected: false, elastic: 'str(None) is "None": true' },
  { value: null, operator: '<', ruleValue: '5', expected: false, elastic: 'TypeError: the whole sync failed' },
  // list (reactions)
  { value: [{ name: 'tada', count: 1 }], operator: 'contains', ruleValue: '"tada"', expected: true },
  { value: ['a', 'b'], operator: 'equals', ruleValue: '["a","b"]', expected: true, elastic: 'list == str: false' },
  {
    value: [{ name: 'tada', count: 1 }],
    operator: '>',
    ruleValue: '1',
    expected: 'incomparable',
    elastic: 'TypeError: the whole sync failed',
  },
];

t.test('every operator against every value type, Elastic semantics with the documented fixes', async (t) => {
  for (const row of rows) {
    const document = { _id: 'x', id: 'x', type: 'message', field: row.value };
    const fix = row.elastic ? ` (fix; Elastic: ${row.elastic})` : '';
    const label = `${JSON.stringify(row.value)} ${row.operator} ${JSON.stringify(row.ruleValue)} → ${String(row.expected)}${fix}`;
    t.equal(ruleMatches(rule('field', row.operator, row.ruleValue), document), row.expected, label);
  }
  for (const operator of ['equals', 'contains', 'starts_with', 'ends_with', 'regex', '<', '>'] as const) {
    t.equal(ruleMatches(rule('absent', operator, '1'), { field: 'x' }), false, `missing field, ${operator}: no match`);
  }
  t.equal(ruleMatches(rule('constructor', 'contains', 'Object'), { field: 'x' }), false, 'inherited properties are not fields');
});

t.test('the stage: first match by ascending order wins, no match includes, equal orders keep input order', async (t) => {
  const rules: SyncRule[] = [
    rule('channel', 'equals', 'random', { id: 'drop-random', order: 2, policy: 'exclude' }),
    rule('author', 'equals', 'Ann', { id: 'keep-ann', order: 1, policy: 'include' }),
    rule('text', 'contains', 'secret', { id: 'drop-secret', order: 1, policy: 'exclude' }),
    rule('text', 'contains', 'secret plan', { id: 'keep-secret-plan', order: 1, policy: 'include' }),
  ];
  const tombstone: TombstoneDocument = {
    _id: 'C1-1',
    id: 'C1-1',
    type: 'tombstone',
    deleted_type: 'message',
    channel_id: 'C1',
    ts: '1',
    _timestamp: '2024-01-01T00:00:00.000Z',
  };
  const documents: AnyDocument[] = [
    message({ ts: '1.000001', channel: 'random', author: 'Ann' }), // keep-ann (order 1) before drop-random
    message({ ts: '1.000002', channel: 'random', author: 'Bob' }), // drop-random
    message({ ts: '1.000003', channel: 'general', author: 'Bob' }), // no rule: included
    message({ ts: '1.000004', author: 'Bob', text: 'the secret plan' }), // drop-secret comes first in input order
    tombstone,
  ];
  const stage = syncRules(rules);
  const kept = await collect(stage(fromArray(documents)));
  t.same(
    kept.map((document) => document._id),
    ['C1-1.000001', 'C1-1.000003', 'C1-1'],
    'kept documents, tombstone passed through',
  );
  t.same(stage.stats?.(), {
    included: 2,
    excluded: 2,
    incomparable: 0,
    matches: {
      'keep-ann': { policy: 'include', matches: 1 },
      'drop-secret': { policy: 'exclude', matches: 1 },
      'keep-secret-plan': { policy: 'include', matches: 0 },
      'drop-random': { policy: 'exclude', matches: 1 },
    },
  });
  t.equal(stage.stageName, 'syncRules');
});

t.test('incomparable values are no match, counted, never a crash', async (t) => {
  const stage = syncRules([
    rule('reply_count', '>', '2024-03-01', { id: 'bad-compare', order: 1 }),
    rule('is_archived', '<', '5', { id: 'bool-compare', order: 2 }),
  ]);
  const documents: AnyDocument[] = [message({ ts: '2.000001', reply_count: 3 }), message({ ts: '2.000002', reply_count: null })];
  const kept = await collect(stage(fromArray(documents)));
  t.equal(kept.length, 2, 'both included');
  t.match(stage.stats?.(), { included: 2, excluded: 0, incomparable: 1 }, 'one incomparable evaluation; null is simply no match');
});

t.test('numeric ts rules select a time window, as users write them for Elastic', async (t) => {
  const stage = syncRules([rule('ts', '<', '1700000000', { id: 'too-old' })]);
  const kept = await collect(stage(fromArray([message({ ts: '999999999.000001' }), message({ ts: '1700000001.000001' })])));
  t.same(
    kept.map((document) => (document as MessageDocument).ts),
    ['1700000001.000001'],
    'the 9-digit ts is older, though "9" > "1" as text',
  );
});

t.test('DEFAULT is the fall-through: include is the default anyway, exclude turns the rules into an include-only list', async (t) => {
  const includeAll = validateRules([
    { id: 'DEFAULT', order: 0, policy: 'include', field: '_', rule: 'regex', value: '.*' },
    rule('channel', 'equals', 'random', { id: 'drop-random' }),
  ]);
  t.ok(includeAll.valid);
  t.same(
    includeAll.rules.map((parsed) => parsed.id),
    ['drop-random'],
    'an including DEFAULT changes nothing and is dropped',
  );

  // Kibana users write an allow-list as include rules above a DEFAULT set to exclude; its order does not matter.
  const allowList = validateRules([
    { id: 'DEFAULT', order: 0, policy: 'Exclude', field: '_', rule: 'regex', value: '.*' },
    rule('channel', 'equals', 'general', { id: 'keep-general', order: 5, policy: 'include' }),
    rule('type', 'equals', 'channel', { id: 'keep-channels', order: 6, policy: 'include' }),
  ]);
  t.ok(allowList.valid, JSON.stringify(allowList.problems));
  t.same(
    allowList.rules.map((parsed) => parsed.id),
    ['keep-general', 'keep-channels', 'DEFAULT'],
    'DEFAULT last, whatever its order',
  );
  const stage = syncRules(allowList.rules);
  const channel = { _id: 'C1', id: 'C1', type: 'channel', name: 'random' } as unknown as AnyDocument;
  const user = { _id: 'U1', id: 'U1', type: 'user', name: 'ann' } as unknown as AnyDocument;
  const kept = await collect(
    stage(fromArray([message({ ts: '1.1', channel: 'general' }), message({ ts: '1.2', channel: 'random' }), channel, user])),
  );
  t.same(
    kept.map((document) => document._id),
    ['C1-1.1', 'C1'],
    'only what a rule includes',
  );
  t.match(stage.stats?.(), {
    included: 2,
    excluded: 2,
    matches: { DEFAULT: { policy: 'exclude', matches: 2 }, 'keep-general': { matches: 1 } },
  });
  t.equal(ruleMatches(allowList.rules.at(-1)!, { anything: 1 }), true, 'DEFAULT matches every document, field or not');

  const broken = validateRules([
    { id: 'DEFAULT', order: 'first', policy: 'maybe', rule: 'nonsense' },
    { id: 'DEFAULT', order: 0, policy: 'include', field: '_', rule: 'regex', value: '.*' },
  ]);
  t.notOk(broken.valid);
  t.same(
    broken.problems.map((problem) => `${problem.ids.join(',')}: ${problem.message}`),
    ['DEFAULT: policy must be "include" or "exclude" (got "maybe")', 'DEFAULT: id is used by 2 rules (#1, #2); ids must be unique'],
    "only its policy is read (its field, rule and value are Elastic's match-everything), and it must be one",
  );
});

t.test('field names are checked against the documents, and < / > need a number or a date', async (t) => {
  const validation = validateRules([
    rule('chanel', 'equals', 'general', { id: 'typo' }),
    rule('user.name', 'equals', 'ann', { id: 'dotted' }),
    rule('ts', '>', 'yesterday', { id: 'words' }),
    rule('ts', '>', '1700000000', { id: 'number', order: 2 }),
    rule('_timestamp', '<', '2024-03-01T00:00:00Z', { id: 'date', order: 3 }),
    rule('is_bot', 'equals', 'true', { id: 'user-field', order: 4 }),
    rule('topic_last_updated', '>', '1e9', { id: 'channel-field', order: 5 }),
  ]);
  const byIds = new Map(validation.problems.map((problem) => [problem.ids.join(','), problem.message]));
  t.match(byIds.get('typo'), /field "chanel" is not a field of any document.*did you mean "channel"\?/);
  t.match(byIds.get('dotted'), /field "user\.name" is not a field of any document/, 'top-level fields only, as Elastic');
  t.match(byIds.get('words'), /">" compares numbers and dates, and "yesterday" is neither/);
  t.equal(validation.problems.length, 3, 'fields of every document type are known; numbers and dates are fine');
});

t.test('a catastrophic regex runs in linear time, and rules check warns about it', async (t) => {
  const hostile = rule('text', 'regex', '(a+)+$', { id: 'hostile' });
  const validation = validateRules([hostile]);
  t.ok(validation.valid, 'valid: slack-etl can evaluate it');
  t.match(validation.warnings, [{ ids: ['hostile'], message: /exponential time in backtracking engines/ }]);
  // A backtracking engine takes minutes on this (2^40 paths); the test would time out instead of passing.
  const text = `${'a'.repeat(40)}b`;
  const kept = await collect(syncRules([hostile])(fromArray([message({ ts: '1.1', text }), message({ ts: '1.2', text: 'aaaa' })])));
  t.same(
    kept.map((document) => (document as MessageDocument).text),
    [text],
    'no match on the hostile text, a match on the plain one',
  );
  const backreference = validateRules([rule('text', 'regex', '(?P<w>a)(?P=w)', { id: 'backref' })]);
  t.match(backreference.problems[0]?.message, /does not compile: .*backreferences and lookarounds are not supported/);
  const lookahead = validateRules([rule('text', 'regex', 'a(?=b)', { id: 'lookahead' })]);
  t.match(lookahead.problems[0]?.message, /does not compile: .*linear-time engine/);
});

t.test('many rules: validation stays linear, and more than 10,000 is one clear problem', async (t) => {
  const same = (count: number) =>
    Array.from({ length: count }, (_, index) => rule('channel', 'equals', 'same', { id: `r${index}`, order: index }));
  const tenThousand = validateRules(same(10_000));
  t.equal(tenThousand.problems.length, 1, 'one problem for the whole group of duplicates');
  t.equal(tenThousand.problems[0]?.ids.length, 10_000, 'naming every rule of it');
  t.match(
    formatRuleProblem(tenThousand.problems[0]!),
    /^rule r0, r1, .* and 9992 more: semantically equal \(all 10000: channel equals "same"\)/,
    'shortened on one line',
  );
  const tooMany = validateRules(same(20_000));
  t.same(tooMany.problems, [
    {
      ids: [],
      message:
        '20,000 rules is more than the 10,000 slack-etl accepts (every document is checked against every rule); ' +
        'merge rules, e.g. one regex with alternatives',
    },
  ]);
  const deep = parseRulesText('['.repeat(100_000), 'deep.json');
  t.match(deep.problems[0]?.message, /^deep\.json: not valid JSON at line 1/, 'absurd nesting is a JSON problem, not a crash');
});

t.test('the three accepted file shapes', async (t) => {
  t.same(
    (await loadRules(fixture('array.json'))).map((parsed) => parsed.id),
    ['skip-joins', 'skip-random', 'skip-bot-users'],
    'JSON array, sorted by order, extra keys ignored',
  );
  t.same(
    (await loadRules(fixture('rules-object.json'))).map((parsed) => parsed.id),
    ['recent-only', 'no-deploy-bot'],
    '{"rules": [...]}',
  );
  t.same(
    (await loadRules(fixture('filtering.json'))).map((parsed) => parsed.id),
    ['only-general', 'drop-other-messages'],
    'filtering array: active rules, not the draft',
  );
  const fromConnector = await loadRules(fixture('connector.json'));
  t.same(
    fromConnector,
    [
      { id: 'only-general', order: 0, policy: 'include', field: 'channel', rule: 'equals', value: 'general' },
      { id: 'drop-other-messages', order: 5, policy: 'exclude', field: 'type', rule: 'equals', value: 'message' },
    ],
    'whole connector from GET _connector/<id>',
  );
  const lowercased = validateRules([{ id: 'a', order: 1, policy: 'EXCLUDE', field: 'channel', rule: 'Starts_With', value: 'x' }]);
  t.same(
    lowercased.rules[0],
    { id: 'a', order: 1, policy: 'exclude', field: 'channel', rule: 'starts_with', value: 'x' },
    'policy and rule are case-insensitive',
  );
  const notRules = validateRules({ something: 'else' });
  t.notOk(notRules.valid);
  t.match(notRules.problems[0]?.message, /expected a JSON array of rules/);
});

t.test('validation reports every problem at once, each naming its rule', async (t) => {
  const validation = parseRulesText(
    JSON.stringify([
      { id: 'bad-operator', order: 1, policy: 'exclude', field: 'ts', rule: 'greater_than', value: '1' },
      { id: 'spaced-operator', order: 1, policy: 'exclude', field: 'ts', rule: 'starts with', value: '1' },
      { id: 'bad-policy', order: 2, policy: 'drop', field: 'channel', rule: 'equals', value: 'random' },
      { id: 'no-field', order: 3, policy: 'exclude', rule: 'contains', value: 'secret' },
      { id: 'empty-value', order: 4, policy: 'exclude', field: 'text', rule: 'contains', value: '' },
      { id: 'number-value', order: 5, policy: 'exclude', field: 'reply_count', rule: '>', value: 10 },
      { id: 'boolean-value', order: 5, policy: 'exclude', field: 'is_bot', rule: 'equals', value: true },
      { id: 'broken-regex', order: 6, policy: 'exclude', field: 'text', rule: 'regex', value: '(unclosed' },
      { id: 'match-all', order: 7, policy: 'exclude', field: 'text', rule: 'regex', value: '(.*)' },
      { id: 'twice', order: 8, policy: 'exclude', field: 'channel', rule: 'equals', value: 'a' },
      { id: 'twice', order: 9, policy: 'exclude', field: 'channel', rule: 'equals', value: 'b' },
      { id: 'same-1', order: 10, policy: 'include', field: 'channel', rule: 'equals', value: 'general' },
      { id: 'same-2', order: 11, policy: 'exclude', field: 'channel', rule: 'EQUALS', value: 'general' },
      { id: 'same-3', order: 12, policy: 'exclude', field: 'channel', rule: 'equals', value: 'general' },
      { order: 13, policy: 'exclude', field: 'channel', rule: 'equals', value: 'no-id' },
      { id: 'order-text', order: '14', policy: 'exclude', field: 'channel', rule: 'equals', value: 'c' },
    ]),
    'rules.json',
  );
  t.notOk(validation.valid);
  const byIds = new Map(validation.problems.map((problem) => [problem.ids.join(','), problem.message]));
  t.match(byIds.get('bad-operator'), /rule must be one of .*got "greater_than".*use ">"/);
  t.match(byIds.get('spaced-operator'), /use "starts_with"/);
  t.match(byIds.get('bad-policy'), /policy must be "include" or "exclude" \(got "drop"\)/);
  t.match(byIds.get('no-field'), /field is missing/);
  t.match(byIds.get('empty-value'), /value must be a non-empty string/);
  t.match(byIds.get('number-value'), /quote it \("value": "10"\)/);
  t.match(byIds.get('boolean-value'), /quote it \("value": "true"\)/);
  t.match(byIds.get('broken-regex'), /regex "\(unclosed" does not compile/);
  t.match(byIds.get('match-all'), /matches everything/);
  t.match(byIds.get('twice'), /used by 2 rules \(#10, #11\)/);
  t.match(
    byIds.get('same-1,same-2,same-3'),
    /semantically equal \(all 3: channel equals "general"\)/,
    'every group of semantic duplicates, any policy, operator case ignored',
  );
  t.match(byIds.get('#15'), /id is missing/, 'a rule without id is named by its position');
  t.match(byIds.get('order-text'), /order must be a number \(got "14"\)/);
  t.equal(validation.problems.length, 13, 'nothing else reported');
  t.same(
    validation.rules.map((parsed) => parsed.id).sort(),
    ['same-1', 'same-2', 'same-3', 'twice', 'twice'],
    'the rules list holds only rules that parsed',
  );
});

t.test('a JSON syntax error names the file, line and column', async (t) => {
  const validation = parseRulesText('[\n  {"id": "a",\n   "order": }\n]', 'my-rules.json');
  t.notOk(validation.valid);
  t.match(validation.problems[0]?.message, /^my-rules\.json: not valid JSON at line 3, column 13/);
  t.match(parseRulesText('   ', 'blank.json').problems[0]?.message, /blank\.json is empty/);
  t.ok(parseRulesText('\ufeff[]', 'bom.json').valid, 'a byte-order mark is ignored');
});

t.test('loadRules throws ConfigError with a one-line message and a hint', async (t) => {
  const invalid = await loadRules(fixture('invalid.json')).catch((error: unknown) => error);
  t.type(invalid, ConfigError);
  t.match(invalid, { code: 'rules_invalid', exitCode: 2 });
  t.match((invalid as Error).message, /invalid\.json: 10 problems: rule bad-operator: .*; rule bad-policy: /);
  t.notMatch((invalid as Error).message, /\n/, 'one line');
  t.match((invalid as ConfigError).hint, /slack-etl rules check/);
  const missing = await loadRules(join(tmpdir(), 'slack-etl-no-such-rules.json')).catch((error: unknown) => error);
  t.match(missing, { code: 'rules_unreadable', exitCode: 2 });
  t.match((missing as Error).message, /slack-etl-no-such-rules\.json: no such file/);
  t.throws(() => syncRules([rule('text', 'regex', '(')]), { code: 'rules_invalid' }, 'the stage refuses invalid rules');
});

t.test('rules check: exit codes and output', async (t) => {
  const run = async (path: string) => {
    const stdout: string[] = [];
    const stderr: string[] = [];
    const code = await runRulesCheck(path, { stdout: (line) => stdout.push(line), stderr: (line) => stderr.push(line) });
    return { code, stdout, stderr };
  };
  const valid = await run(fixture('array.json'));
  t.equal(valid.code, 0);
  t.same(valid.stderr, []);
  t.same(valid.stdout, [
    'valid: 3 rules',
    '  1. exclude subtype starts_with "channel_" (id skip-joins)',
    '  2. exclude channel equals "random" (id skip-random)',
    '  3. exclude is_bot equals "true" (id skip-bot-users)',
  ]);

  const invalid = await run(fixture('invalid.json'));
  t.equal(invalid.code, 2);
  t.same(invalid.stdout, []);
  t.equal(invalid.stderr.length, 11, 'ten problem lines and a closing line');
  t.match(invalid.stderr[0], /^rule bad-operator: /);
  t.ok(invalid.stderr.includes('rule keep-general, drop-general: semantically equal (both: channel equals "general"); keep one'));
  t.match(invalid.stderr.at(-1), /^invalid: 10 problems in .*invalid\.json/);

  const broken = await run(fixture('broken.json'));
  t.equal(broken.code, 2);
  t.match(broken.stderr[0], /broken\.json: not valid JSON at line 3, column 3/);

  const directory = mkdtempSync(join(tmpdir(), 'slack-etl-rules-'));
  const missing = await run(join(directory, 'absent.json'));
  t.equal(missing.code, 2);
  t.equal(missing.stderr.length, 1, 'one line');
  t.match(missing.stderr[0], /absent\.json: no such file — pass the path of a JSON rules file/);

  const empty = join(directory, 'empty-list.json');
  writeFileSync(empty, '{"rules": []}');
  const none = await run(empty);
  t.equal(none.code, 0);
  t.same(none.stdout, ['valid: 0 rules (every document is included)']);
});
