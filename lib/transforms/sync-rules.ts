// Sync-rules stage: Elastic's basic sync rules (parse, validate all at once, evaluate first match by order).
// The parts live in ./sync-rules/: types, the operator table, value coercions, validation, rules files, evaluation.
//
// Where we deliberately differ from Elastic's connectors (connectors_sdk/filtering/basic_rule.py, validation.py),
// as `case: Elastic → slack-etl`:
// - `equals` on a boolean field (`is_bot equals true`): never matches (`True == "True"` is False) → compares booleans: true/t/yes/y/on,
//   false/f/no/n/off
// - numeric-looking string field (`ts`) with `<`/`>`: string comparison ("9" > "10") → numeric comparison, exact for decimal strings
// - numeric-looking string field with `equals`: string equality ("1.50" ≠ "1.5") → numeric equality when both sides look numeric
// - ISO date string (`_timestamp`) with `<`/`>`: string comparison → chronological when the rule value is a date (no zone = UTC)
// - number field, `equals` a non-number: no match → no match, counted as `incomparable`
// - number field, `<`/`>` a non-number: TypeError: the whole sync fails → no match, counted as `incomparable`
// - `<`/`>` on a boolean, list or object field: TypeError: the whole sync fails → no match, counted as `incomparable`
// - field present with value null: `str(None)` = "None" is matched; `<`/`>` crash → no match
// - text of booleans, lists, objects (contains etc.): Python `str()`: "True", "['a']" → JSON text: "true", '["a"]' (`equals` on lists too)
// - invalid regex: passes validation, crashes the sync when matched → rejected by validation with the compiler's message
// - regex engine: Python `re` (backtracking: `(a+)+$` can hang) → RE2 (re2js), linear time; Python syntax kept: `(?P<n>…)`, `\A`, `\Z`,
//   `(?i)`; no backreferences or lookarounds (rejected by validation); `rules check` warns about patterns that hang Python's `re`
// - regex compilation: on every match → once per rule
// - the DEFAULT rule: dropped by id, its policy ignored → its policy decides documents no other rule matches: `exclude` makes an
//   include-only list
// - unknown field name: not validated (the rule never matches) → rejected, with the closest field name
// - `<`/`>` with a value that is no number or date: string comparison, or TypeError in the sync → rejected by validation
// - duplicate rule ids: not validated → reported
// - semantic duplicates (same field, rule, value): only the first pair is reported → every group is reported (in linear time: 10,000 rules
//   validate at once)
// - a rule with an unknown operator or policy: later validators may raise instead of reporting → every problem of every rule reported at
//   once
// - more than 10,000 rules: no limit → rejected (each document is checked against every rule)
//
// Kept as Elastic does it: first match in ascending `order` (stable) wins, the DEFAULT rule (by id) is the fall-through
// whatever its `order`, top-level fields only, regex anchored at the start only (`re.match`), `greater_than`,
// `less_than` and `starts with` are rejected, `value` must be a non-empty string, `.*`/`(.*)` rules are rejected.

export { defaultRuleId, maxRules } from './sync-rules/types.js';
export type { RuleOperator, RuleProblem, RulesValidation, SyncRule, SyncRulesStats } from './sync-rules/types.js';
export { compilePythonRegex } from './sync-rules/regex.js';
export { validateRules } from './sync-rules/validate.js';
export { formatRule, formatRuleProblem, loadRules, parseRulesText, readRulesFile } from './sync-rules/parse.js';
export { ruleMatches, rulesKeep, syncRules } from './sync-rules/evaluate.js';
