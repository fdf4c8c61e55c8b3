// What one run of the Elasticsearch sink shares between its parts: client, counters, the retrying request runner, and the writers it opens.

import type { Client } from '@elastic/elasticsearch';
import type { Logger } from '../../log.js';
import { retry } from '../../retry.js';
import { BulkWriter, type RequestRunner } from './bulk-writer.js';
import { isTransient, statusOf, toSlackEtlError, type ErrorLike } from './connection.js';
import type { DeadLetters } from './dead-letters.js';
import { flushIntervalMs, maxBackoffMs, sinkDefaults, type ElasticsearchSinkOptions, type ElasticsearchSinkStats } from './options.js';

export interface SinkRun {
  client: Client;
  index: string;
  node: string;
  secrets: Array<string | undefined>;
  options: ElasticsearchSinkOptions;
  stats: ElasticsearchSinkStats;
  logger: Logger;
  signal?: AbortSignal;
  /** Set once bulk requests start: from then on a lost connection is a failed run, not a wrong URL. */
  writing: boolean;
  deadLetters: DeadLetters;
  /** Anomalies already logged (each once per run). */
  anomalies: Set<string>;
}

/** Request-level retries with backoff (lib/retry.ts); the transport's own retries are off so waits do not multiply. */
export function requestRunner(run: SinkRun): RequestRunner {
  const retries = run.options.retries ?? sinkDefaults.retries;
  const policy = { attempts: retries + 1, baseDelayMs: run.options.retryWaitMs ?? sinkDefaults.retryWaitMs, maxDelayMs: maxBackoffMs };
  return (action, request) =>
    retry(() => request({ maxRetries: 0 }), {
      policy,
      signal: run.signal,
      decide: (error) => (isTransient(error) ? 'backoff' : 'fail'),
      onRetry: ({ error, failures, delayMs }) => {
        run.stats.retries++;
        const cause = statusOf(error) ?? (error as ErrorLike).name;
        run.logger.debug(`elasticsearch: ${action} failed (${String(cause)}), retry ${failures}/${retries} in ${Math.round(delayMs)} ms`);
      },
    }).catch((error: unknown) => {
      throw toSlackEtlError(error, run.node, run.secrets, action, run.writing);
    });
}

/** A bulk writer whose outcomes land in the run's counters, dead letters and log. */
export function openWriter(run: SinkRun, request: RequestRunner, compareWithIndex: boolean): BulkWriter {
  const { stats, options } = run;
  run.writing = true;
  return new BulkWriter({
    client: run.client,
    index: run.index,
    flushBytes: options.flushBytes ?? sinkDefaults.flushBytes,
    concurrency: options.concurrency ?? sinkDefaults.concurrency,
    retries: options.retries ?? sinkDefaults.retries,
    retryWaitMs: options.retryWaitMs ?? sinkDefaults.retryWaitMs,
    flushIntervalMs,
    compareWithIndex,
    send: request,
    signal: run.signal,
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
    onDrop: run.deadLetters.drop,
    onAnomaly(message) {
      if (run.anomalies.has(message)) return;
      run.anomalies.add(message);
      run.logger.warn(`elasticsearch: ${message}`);
    },
  });
}
