// Evaluation: rules compiled once, the first match by order decides, and the stage that drops what the rules exclude.

import type { AnyDocument } from '../../documents.js';
import { ConfigError } from '../../errors.js';
import { stepStage } from '../../document-step.js';
import type { Stage } from '../../stage.js';
import { operators, type Verdict } from './operators.js';
import { formatRuleProblem } from './parse.js';
import { defaultRuleId, type SyncRule, type SyncRulesStats } from './types.js';
import { validateRules } from './validate.js';
import { readExpected } from './values.js';

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
  return { rule, include, inheritedName: rule.field in Object.prototype, test: operators[rule.rule].test(readExpected(rule.value)) };
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

  function syncRulesStep(document: AnyDocument): AnyDocument | undefined {
    if (document.type === 'tombstone') return document;
    const index = firstMatch(compiled, document as unknown as Record<string, unknown>, counters);
    if (index !== -1) matchCounts[index]!++;
    if (index === -1 || compiled[index]!.include) {
      included++;
      return document;
    }
    excluded++;
    return undefined;
  }

  return stepStage('syncRules', syncRulesStep, (): SyncRulesStats => {
    const matches: SyncRulesStats['matches'] = {};
    compiled.forEach((rule, index) => {
      matches[rule.rule.id] = { policy: rule.rule.policy, matches: matchCounts[index]! };
    });
    return { included, excluded, incomparable: counters.incomparable, matches };
  });
}
