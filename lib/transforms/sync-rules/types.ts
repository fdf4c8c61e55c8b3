// The shapes of sync rules, their validation report and the stage's stats, and the two limits Elastic's rules imply.

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
