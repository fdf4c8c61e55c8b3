// `slack-etl rules check FILE`: validates a sync-rules file and lists its rules or every problem in it.

import { describeError } from '../errors.js';
import { formatRule, formatRuleProblem, parseRulesText, readRulesFile } from '../transforms/sync-rules.js';

export interface RulesCheckOutput {
  stdout: (line: string) => void;
  stderr: (line: string) => void;
}

/**
 * 0 with `valid: N rules` and the rules in evaluation order; 2 with one line per problem (or an unreadable file).
 * Warnings go to stderr either way.
 */
export async function runRulesCheck(path: string, out: RulesCheckOutput): Promise<0 | 2> {
  let text: string;
  try {
    text = await readRulesFile(path);
  } catch (error) {
    out.stderr(describeError(error));
    return 2;
  }
  const validation = parseRulesText(text, path);
  for (const warning of validation.warnings) out.stderr(`warning: ${formatRuleProblem(warning)}`);
  if (!validation.valid) {
    for (const problem of validation.problems) out.stderr(formatRuleProblem(problem));
    const count = validation.problems.length;
    out.stderr(`invalid: ${count} ${count === 1 ? 'problem' : 'problems'} in ${path}; no rule is applied until all are fixed`);
    return 2;
  }
  const count = validation.rules.length;
  out.stdout(`valid: ${count} ${count === 1 ? 'rule' : 'rules'}${count === 0 ? ' (every document is included)' : ''}`);
  for (const rule of validation.rules) out.stdout(`  ${formatRule(rule)}`);
  return 0;
}
