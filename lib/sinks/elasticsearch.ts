// Elasticsearch sink: bulk-indexes documents with client.helpers.bulk, skips unchanged ones, retries throttling and outages, dead-letters the rest.

import { createWriteStream, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, estypes, TransportRequestOptions, TransportResult } from '@elastic/elasticsearch';
import type { OnDropDocument } from '@elastic/elasticsearch/lib/helpers';
import { type AnyDocument, type SlackDocument } from '../documents.js';
import { ConfigError, RunError } from '../errors.js';
import type { Logger } from '../log.js';
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

export { checkElasticsearch, checkIndexName, connectElasticsearch, createElasticsearchClient, VersionedTransport, type ElasticsearchConnectionOptions } from './elasticsearch/connection.js';
export { indexMappings } from './elasticsearch/mappings.js';


export interface ElasticsearchSinkOptions extends Partial<ElasticsearchConnectionOptions> {
  /** Either a client or connection options. A client passed in is not closed by the sink. */
  client?: Client;
  index: string;
  /** Default true: read `_id` → `content_hash` from the index first and skip documents whose hash is unchanged. */
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
  /** NDJSON bytes handed to the bulk API (first attempts only). */
  bytes: number;
  /** --delete-stale: messages deleted because the sync rules exclude them. */
  deletedExcludedByRules: number;
  /** --delete-stale: messages deleted because Slack no longer has them. */
  deletedGoneFromSlack: number;
  /** Channels whose stale messages were kept because the channel produced no documents this run. */
  staleDeletionSkippedChannels: number;
  deadLetterFile?: string;
}


const defaults = { flushBytes: 2_000_000, concurrency: 4, retries: 5, retryWaitMs: 1000, requestTimeoutMs: 30_000 };
const maxBackoffMs = 30_000;
/** Page size of the start-up read of `_id` → `content_hash`: bounded memory per page, few round trips. */
const scanPageSize = 5000;
const scanKeepAlive = '5m';
/** Idle time after which a partly filled bulk request is sent (the helper's timer restarts on every document). */
const flushIntervalMs = 1000;
const droppedDocumentsLogged = 5;


/** 53 bits of a hash string as one number: a Map of numbers is about half the size of a Map of hash strings. */
function fingerprint(text: string): number {
  let high = 0x811c9dc5;
  let low = 0x01000193;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    high = Math.imul(high ^ code, 0x01000193);
    low = Math.imul(low ^ code, 0x5bd1e995);
  }
  return (high >>> 11) * 4294967296 + (low >>> 0);
}

interface IndexSnapshot {
  /** `_id` → fingerprint of `content_hash` (skipUnchanged). */
  hashes: Map<string, number>;
}

type BulkOperation = SlackDocument | { delete: string };

const isDeleteOperation = (operation: BulkOperation): operation is { delete: string } => 'delete' in operation;

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
    let throttledItems = 0;
    let droppedThrottled = 0;
    /** Set once bulk requests start: from then on a lost connection is a failed run, not a wrong URL. */
    let writing = false;
    let deadLetter: WriteStream | undefined;
    let deadLetterError: Error | undefined;

    /** Request-level retries with exponential backoff; the transport's own retries are off so waits do not multiply. */
    async function withRetries<T>(action: string, request: (requestOptions: TransportRequestOptions) => Promise<T>): Promise<T> {
      for (let attempt = 0; ; attempt++) {
        try {
          return await request({ maxRetries: 0 });
        } catch (error) {
          if (!isTransient(error) || attempt >= retries || context.signal?.aborted) throw toSlackEtlError(error, node, secrets, action, writing);
          stats.retries++;
          const waitMs = Math.min(maxBackoffMs, retryWaitMs * 2 ** attempt) * (0.5 + Math.random() / 2);
          const cause = statusOf(error) ?? (error as ErrorLike).name;
          logger.debug(`elasticsearch: ${action} failed (${String(cause)}), retry ${attempt + 1}/${retries} in ${Math.round(waitMs)} ms`);
          await sleep(waitMs, undefined, context.signal ? { signal: context.signal } : undefined);
        }
      }
    }

    function countItems(items: Array<Partial<Record<estypes.BulkOperationType, estypes.BulkResponseItem>>>): void {
      for (const item of items) {
        const result = item.index ?? item.delete ?? item.create ?? item.update;
        if (!result) continue;
        if (result.status === 429) throttledItems++;
        else if (result.result === 'created') stats.indexed++;
        else if (result.result === 'updated') stats.updated++;
        else if (result.result === 'deleted') stats.deleted++;
        else if (result.result === 'not_found') stats.deleteNotFound++;
      }
    }

    /**
     * helpers.bulk gives up the whole run on one failed request (429, 5xx, a dropped connection). It calls
     * `client.bulk` of the client it belongs to, so a child client (same connections) whose `bulk` retries with
     * backoff makes those failures invisible to it; successful responses are never re-sent.
     */
    const bulkClient = client.child({});
    bulkClient.bulk = (async (params: estypes.BulkRequest, requestOptions: TransportRequestOptions) => {
      const response = (await withRetries('accept a bulk request', (retryOptions) =>
        client.bulk(params, { ...requestOptions, ...retryOptions, meta: true }),
      )) as TransportResult<estypes.BulkResponse>;
      stats.bulkRequests++;
      countItems(response.body.items);
      return response;
    }) as unknown as Client['bulk'];

    function writeDeadLetter(line: Record<string, unknown>): void {
      if (!options.deadLetterPath) return;
      if (!deadLetter) {
        deadLetter = createWriteStream(options.deadLetterPath, { flags: 'w' });
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

    function onDrop(drop: OnDropDocument<BulkOperation>): void {
      // The helper hands back the action line and the body it sent (without `_id`), not the datasource item.
      const [action, metadata] = Object.entries(drop.operation)[0] as [string, { _id?: string }];
      // Real Elasticsearch answers a delete of a missing id with 404 and no error; the helper only calls onDrop for it
      // when another item of the same request failed. The document is gone either way: counted in deleteNotFound.
      if (action === 'delete' && drop.status === 404) return;
      stats.dropped++;
      if (drop.status === 429) droppedThrottled++;
      const document = action === 'delete' ? { _id: metadata._id, type: 'tombstone' } : { _id: metadata._id, ...(drop.document as object) };
      const error = drop.error ? { type: drop.error.type, reason: drop.error.reason } : { type: 'es_rejected_execution_exception', reason: 'still throttled (429) after every retry' };
      writeDeadLetter({ document, status: drop.status, error });
      if (stats.dropped <= droppedDocumentsLogged) {
        logger.warn(`elasticsearch: dropped ${String(metadata._id)} (${drop.status} ${error.type ?? ''}: ${sanitize(String(error.reason ?? ''), secrets)})`);
      } else if (stats.dropped === droppedDocumentsLogged + 1) {
        logger.warn(`elasticsearch: more documents dropped; ${options.deadLetterPath ? `all are in ${options.deadLetterPath}` : 'pass a dead-letter file to keep them'}`);
      }
    }

    async function bulk(operations: AsyncGenerator<BulkOperation>): Promise<void> {
      writing = true;
      const helper = bulkClient.helpers.bulk<BulkOperation>({
        datasource: operations,
        index,
        flushBytes: options.flushBytes ?? defaults.flushBytes,
        concurrency: options.concurrency ?? defaults.concurrency,
        flushInterval: flushIntervalMs,
        retries,
        wait: retryWaitMs,
        onDocument(operation): { delete: { _id: string } } | [{ index: { _id: string } }, Record<string, unknown>] {
          if (isDeleteOperation(operation)) return { delete: { _id: operation.delete } };
          const { _id, ...body } = operation;
          return [{ index: { _id } }, body];
        },
        onDrop,
      });
      try {
        const result = await helper;
        stats.bytes += result.bytes;
      } catch (error) {
        stats.bytes += helper.stats.bytes;
        throw toSlackEtlError(error, node, secrets, 'index documents', true);
      }
    }

    async function ensureIndex(): Promise<void> {
      const exists = await withRetries(`check index ${index}`, (requestOptions) => client.indices.exists({ index }, requestOptions));
      if (exists) {
        await updateMappings();
        return;
      }
      const created = await withRetries(`create index ${index}`, (requestOptions) =>
        client.indices.create({ index, mappings: indexMappings as estypes.MappingTypeMapping }, requestOptions).then(
          () => true,
          (error: unknown) => {
            // Another writer (or a retried request that did arrive) created it first: that is the state we wanted.
            if (((error as ErrorLike).meta?.body as { error?: { type?: string } } | undefined)?.error?.type === 'resource_already_exists_exception') return false;
            throw error;
          },
        ),
      );
      if (created) logger.info(`elasticsearch: created index ${index}`);
    }

    /** New fields are added to an existing index's mappings; a field mapped otherwise (e.g. an old date unit) is named. */
    async function updateMappings(): Promise<void> {
      const response = await withRetries(`read the mappings of ${index}`, (requestOptions) => client.indices.getMapping({ index }, requestOptions));
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

    /** Streams `_id`, `content_hash`, `type`, `channel_id`, `ts` of the index through a point in time, page by page. */
    async function readIndex(): Promise<IndexSnapshot> {
      const snapshot: IndexSnapshot = { hashes: new Map() };
      const pit = await withRetries(`open a point in time on ${index}`, (requestOptions) => client.openPointInTime({ index, keep_alive: scanKeepAlive }, requestOptions));
      let pitId = pit.id;
      try {
        let searchAfter: estypes.SortResults | undefined;
        for (;;) {
          const page = await withRetries(`read ${index}`, (requestOptions) =>
            client.search<Record<string, unknown>>(
              {
                pit: { id: pitId, keep_alive: scanKeepAlive },
                size: scanPageSize,
                sort: ['_shard_doc'],
                track_total_hits: false,
                _source: ['content_hash'],
                query: { match_all: {} },
                ...(searchAfter ? { search_after: searchAfter } : {}),
              },
              requestOptions,
            ),
          );
          pitId = page.pit_id ?? pitId;
          const hits = page.hits.hits;
          for (const hit of hits) {
            const id = hit._id!;
            const source = hit._source ?? {};
            if (typeof source.content_hash === 'string') snapshot.hashes.set(id, fingerprint(source.content_hash));
          }
          if (hits.length < scanPageSize) break;
          searchAfter = hits.at(-1)!.sort;
        }
      } finally {
        await client.closePointInTime({ id: pitId }).catch(() => undefined);
      }
      logger.debug(`elasticsearch: read ${snapshot.hashes.size} content hashes from ${index}`);
      return snapshot;
    }

    const seen = new SeenMessages();
    let sourceError: unknown;
    let stoppedByAbort = false;

    async function* documentOperations(snapshot: IndexSnapshot): AsyncGenerator<BulkOperation> {
      try {
        for await (const document of documents) {
          if (context.signal?.aborted) {
            stoppedByAbort = true;
            return;
          }
          if (deleteStale && (document.type === 'message' || document.type === 'tombstone')) seen.add(document.channel_id, document.ts);
          if (document.type === 'tombstone') {
            yield { delete: document._id };
            continue;
          }
          const indexedHash = skipUnchanged && document.content_hash !== undefined ? snapshot.hashes.get(document._id) : undefined;
          if (indexedHash !== undefined && indexedHash === fingerprint(document.content_hash!)) {
            stats.unchanged++;
            continue;
          }
          yield document;
        }
      } catch (error) {
        // End the datasource normally so the helper still sends what it holds; the run fails right after.
        sourceError = error;
      }
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
      const deletions = staleMessages({
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
      });
      await bulk(
        (async function* () {
          for await (const { id, reason } of deletions) {
            counts[reason]++;
            yield { delete: id };
          }
        })(),
      );
      stats.deletedExcludedByRules = counts.excluded_by_rules;
      stats.deletedGoneFromSlack = counts.gone_from_slack;
      if (counts.excluded_by_rules + counts.gone_from_slack > 0) {
        logger.info(`elasticsearch: deleted ${counts.gone_from_slack} messages gone from Slack and ${counts.excluded_by_rules} excluded by rules`);
      }
    }

    try {
      await connectElasticsearch(client, node, index, withRetries);
      await ensureIndex();
      const snapshot: IndexSnapshot = skipUnchanged ? await readIndex() : { hashes: new Map() };
      await bulk(documentOperations(snapshot));
      if (sourceError !== undefined) throw sourceError;
      if (stoppedByAbort) context.signal?.throwIfAborted();
      snapshot.hashes.clear();
      if (deleteStale) await deleteStaleMessages();
      if (options.refresh ?? true) await withRetries(`refresh ${index}`, (requestOptions) => client.indices.refresh({ index }, requestOptions));
      stats.retries += throttledItems - droppedThrottled;
      await closeDeadLetter();
      if (deadLetterError) {
        throw new RunError('dead_letter_write_failed', `cannot write the dead-letter file ${options.deadLetterPath}: ${deadLetterError.message}`, {
          hint: `${stats.dropped} documents were dropped; choose a writable --dead-letter path`,
        });
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
