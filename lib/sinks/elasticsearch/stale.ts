// --delete-stale: the indexed messages of fully read channels that are gone from Slack or that the sync rules exclude.

import type { Client, estypes, TransportRequestOptions } from '@elastic/elasticsearch';
import { compareTs } from '../../documents.js';
import type { Logger } from '../../log.js';
import type { SourceReport } from '../../stage.js';
import type { SeenMessages } from './seen-messages.js';

export type StaleReason = 'excluded_by_rules' | 'gone_from_slack';

/**
 * Why an indexed message this run did not produce must go, or null to keep it. The rules decide first (Elastic's full
 * sync removes what they exclude). Otherwise only what this run would have read counts as gone: a reply is judged by
 * its thread's parent, since replies are read per parent in the window, and only when threads were read at all.
 */
export function staleReason(
  message: Record<string, unknown>,
  report: SourceReport,
  keep?: (document: Record<string, unknown>) => boolean,
): StaleReason | null {
  if (keep && !keep(message)) return 'excluded_by_rules';
  const ts = message.ts;
  if (typeof ts !== 'string') return null;
  const threadTs = typeof message.thread_ts === 'string' ? message.thread_ts : null;
  const isReply = threadTs !== null && threadTs !== ts;
  if (isReply && report.threadsRead !== true) return null;
  const anchor = isReply ? threadTs : ts;
  if (report.windowOldest !== null && compareTs(anchor, report.windowOldest) < 0) return null;
  // Newer than --until / `until`: not read by this run, so not known to be gone.
  if (report.windowLatest != null && compareTs(anchor, report.windowLatest) > 0) return null;
  return 'gone_from_slack';
}

export interface StaleScanOptions {
  client: Client;
  index: string;
  report: SourceReport;
  seen: SeenMessages;
  /** The run's sync rules as a predicate (true = kept); none means nothing is excluded. */
  keep?: (document: Record<string, unknown>) => boolean;
  /** Top-level fields the rules look at, read with each indexed message. */
  ruleFields: string[];
  /** Runs one request with the sink's retries. */
  request: <T>(action: string, send: (options: TransportRequestOptions) => Promise<T>) => Promise<T>;
  logger: Logger;
  /** Called for a channel whose run produced nothing while the index holds messages Slack would have returned. */
  onEmptyChannelKept: (channelId: string, kept: number) => void;
}

const pageSize = 2000;
const keepAlive = '5m';

/**
 * Scans each complete channel's indexed messages through one point in time, a page at a time, and yields the ids to
 * delete. Memory: one page, whatever the size of the index.
 */
export async function* staleMessages(options: StaleScanOptions): AsyncGenerator<{ id: string; reason: StaleReason }> {
  const { client, index, report, seen } = options;
  if (report.completeChannels.length === 0) return;
  const fields = [...new Set(['ts', 'thread_ts', 'channel_id', 'type', ...options.ruleFields.filter((field) => field !== '_id')])];
  const pit = await options.request(`open a point in time on ${index}`, (requestOptions) =>
    client.openPointInTime({ index, keep_alive: keepAlive }, requestOptions),
  );
  let pitId = pit.id;
  try {
    for (const channelId of report.completeChannels) {
      const channelIsEmpty = seen.countIn(channelId) === 0;
      let keptBecauseEmpty = 0;
      let searchAfter: estypes.SortResults | undefined;
      for (;;) {
        const page = await options.request(`read the messages of ${channelId} in ${index}`, (requestOptions) =>
          client.search<Record<string, unknown>>(
            {
              pit: { id: pitId, keep_alive: keepAlive },
              size: pageSize,
              sort: ['_shard_doc'],
              track_total_hits: false,
              _source: fields,
              query: {
                bool: {
                  filter: [
                    { term: { type: 'message' } },
                    // An index written by Elastic's connector has no channel_id; its message ids are `<channelId>-<ts>`.
                    {
                      bool: { should: [{ term: { channel_id: channelId } }, { prefix: { id: `${channelId}-` } }], minimum_should_match: 1 },
                    },
                  ],
                },
              },
              ...(searchAfter ? { search_after: searchAfter } : {}),
            },
            requestOptions,
          ),
        );
        pitId = page.pit_id ?? pitId;
        const hits = page.hits.hits;
        for (const hit of hits) {
          const message: Record<string, unknown> = { ...hit._source, _id: hit._id };
          if (typeof message.ts !== 'string' || seen.has(channelId, message.ts)) continue;
          const reason = staleReason(message, report, options.keep);
          if (reason === null) continue;
          if (reason === 'gone_from_slack' && channelIsEmpty) {
            keptBecauseEmpty++;
            continue;
          }
          yield { id: hit._id!, reason };
        }
        if (hits.length < pageSize) break;
        searchAfter = hits.at(-1)!.sort;
      }
      if (keptBecauseEmpty > 0) options.onEmptyChannelKept(channelId, keptBecauseEmpty);
    }
  } finally {
    await client.closePointInTime({ id: pitId }).catch(() => undefined);
  }
}
