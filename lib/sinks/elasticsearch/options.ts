// The Elasticsearch sink's options, statistics and defaults, and its settings as the CLI declares them.

import type { Client } from '@elastic/elasticsearch';
import { declareOptions } from '../../options.js';
import type { ComponentStats } from '../../stage.js';
import type { SyncRule } from '../../transforms/sync-rules.js';
import type { ElasticsearchConnectionOptions } from './connection.js';

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

export const sinkDefaults = { flushBytes: 2_000_000, concurrency: 4, retries: 5, retryWaitMs: 1000 };
/** Cap of the doubling wait between request retries. */
export const maxBackoffMs = 30_000;
/** Idle time after which a partly filled batch is sent. */
export const flushIntervalMs = 1000;

export const emptyStats = (): ElasticsearchSinkStats => ({
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
});

/** The sink's settings as the CLI, --help and the README show them (lib/options.ts). */
export const elasticsearchSinkOptions = declareOptions({
  index: {
    flag: 'index',
    type: 'string',
    placeholder: 'NAME',
    description: 'sync: Elasticsearch index (created with mappings if missing); export --format es-bulk: the _index of every action line',
    defaultText: 'sync: required',
  },
  esUrl: {
    flag: 'es-url',
    type: 'string',
    env: 'ELASTICSEARCH_URL',
    placeholder: 'URL',
    description: 'Elasticsearch URL',
    details:
      '(8.x from 8.13, or 9.x; the version is read with `GET /` before any Slack call; 8.x clusters get ' +
      '`compatible-with=8` headers, which the 9.x client would otherwise send as 9 and 8.x would refuse)',
  },
  esApiKey: {
    flag: 'es-api-key',
    type: 'string',
    env: 'ELASTICSEARCH_API_KEY',
    placeholder: 'KEY',
    secret: true,
    description: 'Elasticsearch API key (encoded form)',
  },
  esUsername: {
    flag: 'es-username',
    type: 'string',
    env: 'ELASTICSEARCH_USERNAME',
    placeholder: 'USER',
    description: 'Elasticsearch basic-auth user',
  },
  esPassword: {
    flag: 'es-password',
    type: 'string',
    env: 'ELASTICSEARCH_PASSWORD',
    placeholder: 'PASSWORD',
    secret: true,
    description: 'Elasticsearch basic-auth password; prefer the environment variable',
  },
  esCaCert: {
    flag: 'es-ca-cert',
    type: 'string',
    placeholder: 'FILE',
    description: 'CA certificate (PEM) to trust for Elasticsearch',
    defaultText: 'the system CAs',
  },
  deleteStale: {
    flag: 'delete-stale',
    type: 'boolean',
    default: false,
    description: 'delete indexed messages no longer in Slack (complete channels only, inside the window)',
    details: '(safeguards below)',
  },
  deadLetter: {
    flag: 'dead-letter',
    type: 'string',
    placeholder: 'FILE',
    description: 'NDJSON file for documents Elasticsearch rejected after retries',
    default: 'slack-etl-dead-letter.ndjson',
  },
});
