// Elasticsearch sink: bulk-indexes documents, skips unchanged ones (compared per batch), retries throttling and outages, dead-letters the rest, deletes stale messages.

import type { WriteStream } from 'node:fs';
import { once } from 'node:events';
import type { Client, estypes } from '@elastic/elasticsearch';
import type { AnyDocument } from '../documents.js';
import { ConfigError, RunError } from '../errors.js';
import { appendStream } from '../files.js';
import type { Logger } from '../log.js';
import { retry } from '../retry.js';
import type { ComponentStats, Sink, SinkContext } from '../stage.js';
import { rulesKeep, type SyncRule } from '../transforms/sync-rules.js';
import { SeenMessages } from './elasticsearch/seen-messages.js';
import { staleMessages, type StaleReason } from './elasticsearch/stale.js';
import {
  checkIndexName,
  connectElasticsearch,
  createElasticsearchClient,
  isTransient,
  sanitize,
  secretsOf,
  statusOf,
  toSlackEtlError,
  type ElasticsearchConnectionOptions,
  type ErrorLike,
} from './elasticsearch/connection.js';
import { compareMappings, indexMappings } from './elasticsearch/mappings.js';
import { BulkWriter, deleteEntry, indexEntry, type BulkEntry, type ItemError, type RequestRunner } from './elasticsearch/bulk-writer.js';

export {
  checkElasticsearch,
  checkIndexName,
  connectElasticsearch,
  createElasticsearchClient,
  VersionedTransport,
  type ElasticsearchConnectionOptions,
} from './elasticsearch/connection.js';
export { indexMappings } from './elasticsearch/mappings.js';

export interface ElasticsearchSinkOptions extends Partial<ElasticsearchConnectionOptions> {
  /** Either a client or connection options. A client passed in is not closed by the sink. */
  client?: Client;
  index: string;
  /** Default true: per batch, read the batch's `content_hash`es from the index (mget) and skip documents whose hash is unchanged. */
  skipUnchanged?: boolean;
  /**
   * Default false. After a run whose input ended normally and with nothing dropped, delete the indexed messages of
   * every channel the source read completely that this run did not produce: those the sync rules exclude, and those
   * Slack no longer has — only inside the window (a reply counts by its thread's parent) and replies only when threads
   * were read. Full syncs only: a document an upstream stage dropped as unchanged since an earlier run (dedupe with
   * a state file) never reaches the sink, so it would count as unseen.
   */
  deleteStale?: boolean;
  /** The sync rules the pipeline applied: with deleteStale, indexed messages they exclude are deleted (as Elastic's full sync does). */
  rules?: SyncRule[];
  /** NDJSON file for documents dropped after retries: one `{document, status, error}` per line. */
  deadLetterPath?: string;
  /** Bytes of NDJSON per bulk request; default 2 MB (with concurrency 4 it matched raw helpers.bulk's docs/s into the fake). */
  flushBytes?: number;
  /** Bulk requests in flight; default 4. */
  concurrency?: number;
  /** Retries of a throttled document (per-item 429) and of a failed request (429, 5xx, connection); default 5. */
  retries?: number;
  /** First backoff wait; doubles per request retry (capped at 30 s) and is the fixed wait between per-item retries. Default 1000 ms. */
  retryWaitMs?: number;
  /** Default true: refresh the index at the end so the documents are searchable at once. */
  refresh?: boolean;
}

export interface ElasticsearchSinkStats extends ComponentStats {
  /** Newly created documents. */
  indexed: number;
  /** Documents that replaced an existing one. */
  updated: number;
  /** Skipped because the index holds the same `content_hash`. */
  unchanged: number;
  deleted: number;
  /** Deletes (tombstones, stale documents) of ids that were already gone. */
  deleteNotFound: number;
  /** Documents the cluster rejected for good (mapping errors, 429 after every retry). */
  dropped: number;
  /** Re-sent requests plus re-sent throttled documents. */
  retries: number;
  bulkRequests: number;
  /** NDJSON characters handed to the bulk API, re-sends included (equal to bytes for ASCII text). */
  bytes: number;
  /** --delete-stale: messages deleted because the sync rules exclude them. */
  deletedExcludedByRules: number;
  /** --delete-stale: messages deleted because Slack no longer has them. */
  deletedGoneFromSlack: number;
  /** Channels whose stale messages were kept because the channel produced no documents this run. */
  staleDeletionSkippedChannels: number;
  deadLetterFile?: string;
}

const defaults = { flushBytes: 2_000_000, concurrency: 4, retries: 5, retryWaitMs: 1000 };
const maxBackoffMs = 30_000;
/** Idle time after which a partly filled batch is sent. */
const flushIntervalMs = 1000;
const droppedDocumentsLogged = 5;

export function elasticsearchSink(options: ElasticsearchSinkOptions): Sink<AnyDocument> {
  const skipUnchanged = options.skipUnchanged ?? true;
  const deleteStale = options.deleteStale ?? false;
  const retries = options.retries ?? defaults.retries;
  const retryWaitMs = options.retryWaitMs ?? defaults.retryWaitMs;
  const index = options.index;

  const sink = async (documents: AsyncIterable<AnyDocument>, context: SinkContext): Promise<ElasticsearchSinkStats> => {
    const logger: Logger = context.logger;
    checkIndexName(index);
    if (!options.client && !options.node) {
      throw new ConfigError('es_url_missing', 'no Elasticsearch URL given', { hint: 'pass --es-url or set ELASTICSEARCH_URL' });
    }
    const node = options.node ?? options.client!.connectionPool.connections[0]?.url.toString() ?? 'Elasticsearch';
    const secrets = secretsOf(options);
    const client = options.client ?? createElasticsearchClient({ ...options, node: options.node! });
    const stats: ElasticsearchSinkStats = {
      indexed: 0,
      updated: 0,
      unchanged: 0,
      deleted: 0,
      deleteNotFound: 0,
      dropped: 0,
      retries: 0,
      bulkRequests: 0,
      bytes: 0,
      deletedExcludedByRules: 0,
      deletedGoneFromSlack: 0,
      staleDeletionSkippedChannels: 0,
    };
    /** Set once bulk requests start: from then on a lost connection is a failed run, not a wrong URL. */
    let writing = false;
    let deadLetter: WriteStream | undefined;
    let deadLetterError: Error | undefined;
    const anomalies = new Set<string>();

    /** Request-level retries with backoff (lib/retry.ts); the transport's own retries are off so waits do not multiply. */
    const withRetries: RequestRunner = (action, request) =>
      retry(() => request({ maxRetries: 0 }), {
        policy: { attempts: retries + 1, baseDelayMs: retryWaitMs, maxDelayMs: maxBackoffMs },
        signal: context.signal,
        decide: (error) => (isTransient(error) ? 'backoff' : 'fail'),
        onRetry: ({ error, failures, delayMs }) => {
          stats.retries++;
          const cause = statusOf(error) ?? (error as ErrorLike).name;
          logger.debug(`elasticsearch: ${action} failed (${String(cause)}), retry ${failures}/${retries} in ${Math.round(delayMs)} ms`);
        },
      }).catch((error: unknown) => {
        throw toSlackEtlError(error, node, secrets, action, writing);
      });

    function writeDeadLetter(line: Record<string, unknown>): void {
      if (!options.deadLetterPath) return;
      if (!deadLetter) {
        // Appended, never truncated: an earlier run's dead letters are documents too. 0600, never through a symlink.
        deadLetter = appendStream(options.deadLetterPath);
        // Reported when the run ends, as a failed run: a dead letter that cannot be written is a lost document.
        deadLetter.on('error', (error) => {
          deadLetterError ??= error;
        });
        stats.deadLetterFile = options.deadLetterPath;
      }
      deadLetter.write(`${JSON.stringify(line)}\n`);
    }

    async function closeDeadLetter(): Promise<void> {
      if (!deadLetter || deadLetter.closed) return;
      deadLetter.end();
      await once(deadLetter, 'close').catch(() => undefined);
    }

    function onDrop(entry: BulkEntry, status: number, error: ItemError): void {
      stats.dropped++;
      const newline = entry.line.indexOf('\n');
      const document = entry.isDelete
        ? { _id: entry.id, type: 'tombstone' }
        : { _id: entry.id, ...(JSON.parse(entry.line.slice(newline + 1)) as object) };
      writeDeadLetter({ document, status, error });
      if (stats.dropped <= droppedDocumentsLogged) {
        logger.warn(`elasticsearch: dropped ${entry.id} (${status} ${error.type}: ${sanitize(error.reason, secrets)})`);
      } else if (stats.dropped === droppedDocumentsLogged + 1) {
        logger.warn(
          `elasticsearch: more documents dropped; ${options.deadLetterPath ? `all are in ${options.deadLetterPath}` : 'pass a dead-letter file to keep them'}`,
        );
      }
    }

    function createWriter(compareWithIndex: boolean): BulkWriter {
      writing = true;
      return new BulkWriter({
        client,
        index,
        flushBytes: options.flushBytes ?? defaults.flushBytes,
        concurrency: options.concurrency ?? defaults.concurrency,
        retries,
        retryWaitMs,
        flushIntervalMs,
        compareWithIndex,
        send: withRetries,
        signal: context.signal,
        onWritten(result) {
          if (result === 'created') stats.indexed++;
          else if (result === 'updated') stats.updated++;
          else if (result === 'deleted') stats.deleted++;
          else if (result === 'not_found') stats.deleteNotFound++;
        },
        onUnchanged(count) {
          stats.unchanged += count;
        },
        onRetried(count) {
          stats.retries += count;
        },
        onRequest(bytes) {
          stats.bulkRequests++;
          stats.bytes += bytes;
        },
        onDrop,
        onAnomaly(message) {
          if (anomalies.has(message)) return;
          anomalies.add(message);
          logger.warn(`elasticsearch: ${message}`);
        },
      });
    }

    /** Creates the index with our mappings; true when this run created it (then there is nothing to compare with). */
    async function ensureIndex(): Promise<boolean> {
      const exists = await withRetries(`check index ${index}`, (requestOptions) => client.indices.exists({ index }, requestOptions));
      if (exists) {
        await updateMappings();
        return false;
      }
      const created = await withRetries(`create index ${index}`, (requestOptions) =>
        client.indices.create({ index, mappings: indexMappings as estypes.MappingTypeMapping }, requestOptions).then(
          () => true,
          (error: unknown) => {
            // Another writer (or a retried request that did arrive) created it first: that is the state we wanted.
            if (
              ((error as ErrorLike).meta?.body as { error?: { type?: string } } | undefined)?.error?.type ===
              'resource_already_exists_exception'
            )
              return false;
            throw error;
          },
        ),
      );
      if (created) logger.info(`elasticsearch: created index ${index}`);
      return created;
    }

    /** New fields are added to an existing index's mappings; a field mapped otherwise (e.g. an old date unit) is named. */
    async function updateMappings(): Promise<void> {
      const response = await withRetries(`read the mappings of ${index}`, (requestOptions) =>
        client.indices.getMapping({ index }, requestOptions),
      );
      const existing = Object.values(response)[0]?.mappings;
      const { missing, conflicts } = compareMappings(existing);
      if (Object.keys(missing).length > 0) {
        await withRetries(`add fields to the mappings of ${index}`, (requestOptions) =>
          client.indices.putMapping({ index, properties: missing as Record<string, estypes.MappingProperty> }, requestOptions),
        );
        logger.info(`elasticsearch: added ${Object.keys(missing).join(', ')} to the mappings of ${index}`);
      }
      if (conflicts.length > 0) {
        logger.warn(
          `elasticsearch: index ${index} maps ${conflicts.join('; ')}; those fields read wrong until you reindex (create a new --index and sync into it, or _reindex with the mappings of a new one)`,
        );
      }
    }

    const seen = new SeenMessages();

    /**
     * The hot path: one loop, no generator layer or object copy per document. Returns normally when the input ended
     * or the run was aborted (what was added is still sent); an input error is rethrown after that.
     */
    async function writeDocuments(writer: BulkWriter): Promise<{ sourceError?: unknown; aborted: boolean }> {
      const signal = context.signal;
      try {
        for await (const document of documents) {
          if (signal?.aborted) return { aborted: true };
          if (document.type === 'tombstone') {
            if (deleteStale) seen.add(document.channel_id, document.ts);
            const waiting = writer.add(deleteEntry(document._id));
            if (waiting) await waiting;
            continue;
          }
          if (deleteStale && document.type === 'message') seen.add(document.channel_id, document.ts);
          const waiting = writer.add(indexEntry(document));
          if (waiting) await waiting;
        }
      } catch (error) {
        // End normally so the writer still sends what it holds; the run fails right after.
        return { sourceError: error, aborted: false };
      }
      return { aborted: false };
    }

    /** Deletions under SPEC §6, with every safeguard against Elastic's deletion-by-absence data loss. */
    async function deleteStaleMessages(): Promise<void> {
      const report = context.sourceReport();
      if (!report) {
        logger.warn('elasticsearch: --delete-stale skipped: the source did not report which channels it read completely');
        return;
      }
      if (stats.dropped > 0) {
        logger.warn(`elasticsearch: --delete-stale skipped: ${stats.dropped} documents were rejected in this run`);
        return;
      }
      const counts: Record<StaleReason, number> = { excluded_by_rules: 0, gone_from_slack: 0 };
      const writer = createWriter(false);
      for await (const { id, reason } of staleMessages({
        client,
        index,
        report,
        seen,
        keep: options.rules && options.rules.length > 0 ? rulesKeep(options.rules) : undefined,
        ruleFields: (options.rules ?? []).map((rule) => rule.field),
        request: withRetries,
        logger,
        onEmptyChannelKept(channelId, kept) {
          stats.staleDeletionSkippedChannels++;
          logger.warn(
            `elasticsearch: channel ${channelId} returned no messages this run but has ${kept} in the index; not deleting them (an empty answer is more likely a fault than an emptied channel)`,
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

    try {
      await connectElasticsearch(client, node, index, withRetries);
      const created = await ensureIndex();
      const writer = createWriter(skipUnchanged && !created);
      const { sourceError, aborted } = await writeDocuments(writer);
      await writer.close();
      if (sourceError !== undefined) throw sourceError;
      if (aborted) context.signal?.throwIfAborted();
      if (deleteStale) await deleteStaleMessages();
      if (options.refresh ?? true)
        await withRetries(`refresh ${index}`, (requestOptions) => client.indices.refresh({ index }, requestOptions));
      await closeDeadLetter();
      if (deadLetterError) {
        throw new RunError(
          'dead_letter_write_failed',
          `cannot write the dead-letter file ${options.deadLetterPath}: ${deadLetterError.message}`,
          {
            hint: `${stats.dropped} documents were dropped; choose a writable --dead-letter path`,
          },
        );
      }
      return stats;
    } finally {
      await closeDeadLetter();
      if (!options.client) await client.close();
    }
  };
  sink.sinkName = 'elasticsearch';
  return sink;
}
