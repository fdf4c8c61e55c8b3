// Validation: every problem of every rule at once, in linear time, with a fix for each (Elastic's checks and ours).

import { documentFields } from '../../documents.js';
import { operatorForAlias, operatorNamed, operatorNames, operators, type ValueCheck } from './operators.js';
import { defaultRuleId, maxRules, type RuleOperator, type RuleProblem, type RulesValidation, type SyncRule } from './types.js';

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

  const operator = typeof raw.rule === 'string' ? operatorNamed(raw.rule) : undefined;
  if (operator === undefined) {
    const suggestion = typeof raw.rule === 'string' ? operatorForAlias(raw.rule) : undefined;
    problem(
      requirement('rule', raw.rule, `one of ${operatorNames.join(', ')}`) +
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
  } else if (operator !== undefined) {
    const check = (operators[operator] as { checkValue?: (value: string) => ValueCheck | undefined }).checkValue?.(value);
    if (check?.problem) problem(check.problem);
    if (check?.warning) warnings.push({ ids: [name], message: check.warning });
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
export const someIds = (ids: string[]): string =>
  ids.length <= 8 ? ids.join(', ') : `${ids.slice(0, 8).join(', ')} and ${ids.length - 8} more`;

/** Elastic's semantic check: equal field, operator and value are duplicates whatever their policies. Every group is one problem. */
function semanticDuplicates(entries: Entry[]): RuleProblem[] {
  const duplicates: RuleProblem[] = [];
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
    duplicates.push({
      ids: group.map((entry) => entry.name),
      message:
        `semantically equal (${group.length === 2 ? 'both' : `all ${group.length}`}: ` +
        `${String(first!.field)} ${first!.operator} ${JSON.stringify(first!.value)}); keep one`,
    });
  }

  return duplicates;
}

/** Validates rules in any accepted shape, reporting every problem of every rule at once (in linear time). */
export function validateRules(input: unknown): RulesValidation {
  const problems: RuleProblem[] = [];
  const warnings: RuleProblem[] = [];
  const list = ruleList(input);
  if (typeof list === 'string') return { valid: false, rules: [], problems: [{ ids: [], message: list }], warnings };
  if (list.length > maxRules) {
    const message =
      `${list.length.toLocaleString('en-US')} rules is more than the ${maxRules.toLocaleString('en-US')} slack-etl accepts ` +
      '(every document is checked against every rule); merge rules, e.g. one regex with alternatives';
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

  problems.push(...semanticDuplicates(entries));

  const rules = entries.flatMap((entry) => (entry.rule ? [entry.rule] : [])).sort((a, b) => a.order - b.order);
  if (fallThrough?.policy === 'exclude') rules.push(fallThrough);
  return { valid: problems.length === 0, rules, problems, warnings };
}
