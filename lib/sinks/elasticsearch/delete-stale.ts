// --delete-stale after a complete run: deletes what the scan in stale.ts finds, with every safeguard against deletion-by-absence data loss.

import type { SourceReport } from '../../stage.js';
import { rulesKeep } from '../../transforms/sync-rules.js';
import { deleteEntry, type RequestRunner } from './bulk-writer.js';
import { openWriter, type SinkRun } from './run.js';
import type { SeenMessages } from './seen-messages.js';
import { staleMessages, type StaleReason } from './stale.js';

/** Deletions under SPEC §6: only with the source's report of what it read completely, and never after a dropped document. */
export async function deleteStaleMessages(
  run: SinkRun,
  request: RequestRunner,
  seen: SeenMessages,
  report: SourceReport | undefined,
): Promise<void> {
  const { stats, logger, options } = run;
  if (!report) {
    logger.warn('elasticsearch: --delete-stale skipped: the source did not report which channels it read completely');
    return;
  }
  if (stats.dropped > 0) {
    logger.warn(`elasticsearch: --delete-stale skipped: ${stats.dropped} documents were rejected in this run`);
    return;
  }
  const counts: Record<StaleReason, number> = { excluded_by_rules: 0, gone_from_slack: 0 };
  const writer = openWriter(run, request, false);
  const rules = options.rules ?? [];
  for await (const { id, reason } of staleMessages({
    client: run.client,
    index: run.index,
    report,
    seen,
    keep: rules.length > 0 ? rulesKeep(rules) : undefined,
    ruleFields: rules.map((rule) => rule.field),
    request,
    logger,
    onEmptyChannelKept(channelId, kept) {
      stats.staleDeletionSkippedChannels++;
      logger.warn(
        `elasticsearch: channel ${channelId} returned no messages this run but has ${kept} in the index; not deleting them ` +
          '(an empty answer is more likely a fault than an emptied channel)',
      );
    },
  })) {
    counts[reason]++;
    const waiting = writer.add(deleteEntry(id));
    if (waiting) await waiting;
  }
  await writer.close();
  stats.deletedExcludedByRules = counts.excluded_by_rules;
  stats.deletedGoneFromSlack = counts.gone_from_slack;
  if (counts.excluded_by_rules + counts.gone_from_slack > 0) {
    logger.info(
      `elasticsearch: deleted ${counts.gone_from_slack} messages gone from Slack and ${counts.excluded_by_rules} excluded by rules`,
    );
  }
}
