// Batched bulk writes: batches compared with the index (content_hash by mget), changed part sent, every item verified, 413 split.

import type { Client, TransportRequestOptions } from '@elastic/elasticsearch';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { backoffDelay, sleep, type RetryPolicy } from '../../retry.js';
import { statusOf } from './connection.js';

/** One operation, serialized once: `line` is the action line and, for an index, the body line (each ending in `\n`). */
export interface BulkEntry {
  id: string;
  /** The document's content_hash (compared with the index's), if it has one. */
  hash: string | undefined;
  isDelete: boolean;
  line: string;
}

export interface ItemError {
  type: string;
  reason: string;
}

export type RequestRunner = <T>(action: string, request: (options: TransportRequestOptions) => Promise<T>) => Promise<T>;

export interface BulkWriterOptions {
  client: Client;
  index: string;
  /** Bytes of NDJSON per bulk request. */
  flushBytes: number;
  /** Bulk requests in flight; comparing with the index, as many more batches have their mget in flight ahead of them. */
  concurrency: number;
  /** Re-sends of an item that failed with 429/5xx or got no answer. */
  retries: number;
  retryWaitMs: number;
  /** A batch that stops growing is sent after this long. */
  flushIntervalMs: number;
  /** Ask the index for the batch's content hashes and skip what it already holds. */
  compareWithIndex: boolean;
  /** Runs one request with request-level retries (429, 5xx, connection errors). */
  send: RequestRunner;
  signal?: AbortSignal;
  onWritten(result: string): void;
  onUnchanged(count: number): void;
  onRetried(count: number): void;
  onRequest(bytes: number): void;
  onDrop(entry: BulkEntry, status: number, error: ItemError): void;
  /** Something the cluster did that a correct server never does (items missing, errors:false with failed items). */
  onAnomaly(message: string): void;
}

interface BulkItemResult {
  _id?: string;
  status?: number;
  result?: string;
  error?: { type?: string; reason?: string } | string;
}

interface BulkResponseBody {
  errors?: boolean;
  items?: Array<Record<string, BulkItemResult | undefined>>;
}

const tooLarge: unique symbol = Symbol('413');
/**
 * Only what each item is checked by: the full answer repeats index, version, shards and sequence numbers per item
 * (about three times the bytes to serialize, send and parse). Error responses are never filtered.
 */
const bulkFilterPath = 'errors,items.*._id,items.*.status,items.*.result,items.*.error';
const maxBackoffMs = 30_000;

const actionLine = (action: 'index' | 'delete', id: string): string => `{"${action}":{"_id":${JSON.stringify(id)}}}\n`;

/**
 * The body of an index operation: the document without `_id`. Documents start with `_id`, so the serialized document
 * minus that first member is the body, without copying the object; anything else takes the slow path. `line` is the
 * document's JSON when a stage already wrote it (dedupe's canonical order also starts with `_id`).
 */
export function indexEntry(document: { _id: string; content_hash?: string }, line?: string): BulkEntry {
  const id = document._id;
  const json = line ?? JSON.stringify(document);
  const idJson = JSON.stringify(id);
  const prefix = `{"_id":${idJson},`;
  let body: string;
  if (json.startsWith(prefix)) body = `{${json.slice(prefix.length)}`;
  else {
    const { _id, ...rest } = document;
    body = JSON.stringify(rest);
  }
  return { id, hash: document.content_hash, isDelete: false, line: `{"index":{"_id":${idJson}}}\n${body}\n` };
}

export const deleteEntry = (id: string): BulkEntry => ({ id, hash: undefined, isDelete: true, line: actionLine('delete', id) });

function itemError(result: BulkItemResult): ItemError {
  const error = result.error;
  if (typeof error === 'string') return { type: error, reason: error };
  return { type: error?.type ?? `http_${String(result.status)}`, reason: error?.reason ?? '' };
}

export class BulkWriter {
  private batch: BulkEntry[] = [];
  private batchBytes = 0;
  /** Batches taken from the input and not yet written: bounds memory and gives the input its backpressure. */
  private readonly batchSlots: Slots;
  /** Bulk requests in flight: exactly `concurrency`, as raw helpers.bulk; a batch's mget runs before it takes one. */
  private readonly bulkSlots: Slots;
  private readonly running = new Set<Promise<void>>();
  private failure: { error: unknown } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly policy: RetryPolicy;

  constructor(private readonly options: BulkWriterOptions) {
    this.policy = { attempts: options.retries + 1, baseDelayMs: options.retryWaitMs, maxDelayMs: maxBackoffMs };
    // Comparing, up to `concurrency` more batches are read ahead, so the next batches' mgets overlap the bulk writes.
    this.batchSlots = new Slots(options.compareWithIndex ? 2 * options.concurrency : options.concurrency);
    this.bulkSlots = new Slots(options.concurrency);
  }

  /** Adds one operation; returns a promise only when a full batch had to wait for a free slot (await it then). */
  add(entry: BulkEntry): Promise<void> | undefined {
    if (this.failure) throw this.failure.error;
    this.batch.push(entry);
    this.batchBytes += entry.line.length;
    if (this.batchBytes >= this.options.flushBytes) return this.flush();
    if (this.batch.length === 1) this.armTimer();
    return undefined;
  }

  /** Sends the current batch once a slot is free. */
  async flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.batch.length === 0) return;
    const batch = this.batch;
    this.batch = [];
    this.batchBytes = 0;
    await this.batchSlots.acquire();
    const task = this.process(batch).then(
      () => this.batchSlots.release(),
      (error: unknown) => {
        this.failure ??= { error };
        this.batchSlots.release();
      },
    );
    this.running.add(task);
    void task.finally(() => this.running.delete(task));
    // One turn of the event loop before the next batch is built, as helpers.bulk does: an input that never waits (an array,
    // fused synchronous stages) would otherwise hold the request's socket writes back until that batch is full.
    await nextTurn();
  }

  /** Sends what is left and waits for every batch; throws the first request-level failure. */
  async close(): Promise<void> {
    if (!this.failure) await this.flush();
    else if (this.timer) clearTimeout(this.timer);
    while (this.running.size > 0) await Promise.all(this.running);
    if (this.failure) throw this.failure.error;
  }

  private armTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    const batch = this.batch;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.batch === batch && batch.length > 0) void this.flush();
    }, this.options.flushIntervalMs);
    this.timer.unref();
  }

  private async process(batch: BulkEntry[]): Promise<void> {
    const changed = this.options.compareWithIndex ? await this.withoutUnchanged(batch) : batch;
    if (changed.length === 0) return;
    await this.bulkSlots.acquire();
    try {
      await this.write(changed);
    } finally {
      this.bulkSlots.release();
    }
  }

  /** One mget of the batch's ids with `_source: content_hash`: memory is one batch, whatever the size of the index. */
  private async withoutUnchanged(batch: BulkEntry[]): Promise<BulkEntry[]> {
    const candidates = batch.filter((entry) => !entry.isDelete && entry.hash !== undefined);
    if (candidates.length === 0) return batch;
    const { client, index } = this.options;
    const response = await this.options.send(`compare ${candidates.length} documents with ${index}`, (requestOptions) =>
      client.mget<{ content_hash?: unknown }>(
        {
          index,
          ids: candidates.map((entry) => entry.id),
          _source_includes: ['content_hash'],
          filter_path: ['docs._id', 'docs.found', 'docs._source.content_hash'],
        },
        requestOptions,
      ),
    );
    const indexed = new Map<string, unknown>();
    for (const doc of response.docs ?? []) {
      if ('found' in doc && doc.found) indexed.set(doc._id, doc._source?.content_hash);
    }
    const changed = batch.filter((entry) => entry.isDelete || entry.hash === undefined || indexed.get(entry.id) !== entry.hash);
    if (changed.length < batch.length) this.options.onUnchanged(batch.length - changed.length);
    return changed;
  }

  /** Sends entries, verifies every item, re-sends the retryable ones with backoff; splits on 413. */
  private async write(entries: BulkEntry[]): Promise<void> {
    let pending = entries;
    let lastFailure = new Map<BulkEntry, { status: number; error: ItemError }>();
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) {
        if (attempt > this.options.retries) break;
        this.options.onRetried(pending.length);
        await sleep(backoffDelay(this.policy, attempt), this.options.signal);
      }
      const outcome = await this.sendBulk(pending);
      if (outcome === tooLarge) {
        await this.splitTooLarge(pending);
        return;
      }
      lastFailure = outcome;
      pending = [...outcome.keys()];
    }
    for (const entry of pending) {
      const failure = lastFailure.get(entry)!;
      this.options.onDrop(entry, failure.status, failure.error);
    }
  }

  private async splitTooLarge(entries: BulkEntry[]): Promise<void> {
    if (entries.length === 1) {
      this.options.onDrop(entries[0]!, 413, {
        type: 'request_entity_too_large',
        reason: 'the document alone is larger than the cluster accepts in one request (http.max_content_length)',
      });
      return;
    }
    const middle = entries.length >>> 1;
    await this.write(entries.slice(0, middle));
    await this.write(entries.slice(middle));
  }

  /** One bulk request. Returns the entries to try again, with why, or `tooLarge`. Permanent failures are dropped here. */
  private async sendBulk(entries: BulkEntry[]): Promise<Map<BulkEntry, { status: number; error: ItemError }> | typeof tooLarge> {
    const { client, index } = this.options;
    let body = '';
    let characters = 0;
    for (const entry of entries) {
      body += entry.line;
      characters += entry.line.length;
    }
    const response = await this.options.send<BulkResponseBody | typeof tooLarge>('accept a bulk request', (requestOptions) =>
      client.transport
        .request<BulkResponseBody>(
          { method: 'POST', path: `/${encodeURIComponent(index)}/_bulk`, querystring: { filter_path: bulkFilterPath }, bulkBody: body },
          requestOptions,
        )
        .catch((error: unknown): typeof tooLarge => {
          if (statusOf(error) === 413) return tooLarge;
          throw error;
        }),
    );
    if (response === tooLarge) return tooLarge;
    // Characters, not Buffer.byteLength: that would walk 2 MB per request again (the same count for ASCII text).
    this.options.onRequest(characters);
    const retry = new Map<BulkEntry, { status: number; error: ItemError }>();
    const items = Array.isArray(response?.items) ? response.items : [];
    if (items.length !== entries.length) {
      this.options.onAnomaly(
        `a bulk response had ${items.length} items for ${entries.length} operations; the unanswered ones are sent again`,
      );
    }
    let failedItems = 0;
    for (let position = 0; position < entries.length; position++) {
      const entry = entries[position]!;
      const item = items[position];
      const result = item ? (entry.isDelete ? item.delete : item.index) : undefined;
      if (!result || typeof result.status !== 'number' || (result._id !== undefined && result._id !== entry.id)) {
        retry.set(entry, { status: 0, error: { type: 'no_item', reason: 'the bulk response had no matching item for this operation' } });
        continue;
      }
      const status = result.status;
      if (status < 300) this.options.onWritten(result.result ?? (entry.isDelete ? 'deleted' : 'updated'));
      else if (status === 404 && entry.isDelete) this.options.onWritten('not_found');
      else {
        failedItems++;
        if (status === 429 || status >= 500) retry.set(entry, { status, error: itemError(result) });
        else this.options.onDrop(entry, status, itemError(result));
      }
    }
    if (failedItems > 0 && response?.errors === false) {
      this.options.onAnomaly(`a bulk response said errors:false but ${failedItems} of its items failed; each item is checked`);
    }
    return retry;
  }
}

/** A counting semaphore whose uncontended acquire costs no promise. */
class Slots {
  private active = 0;
  private readonly waiters: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  acquire(): Promise<void> | void {
    if (this.active < this.limit) {
      this.active++;
      return;
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.active--;
  }
}
