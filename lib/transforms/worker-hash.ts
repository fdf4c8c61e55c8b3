// Hashing and serialization on a second core: batches of documents go to a worker thread and come back in order with hash and line.

import { DefaultSerializer } from 'node:v8';
import { Worker } from 'node:worker_threads';
import { applySteps, type DocumentStep } from '../document-step.js';
import { contentHashLength as hashLength } from '../content-hash.js';
import type { HashBatch, HashResult } from './worker-hash-thread.js';

type AnyStep = DocumentStep<any, any>;

/** Documents per serialised segment of a batch (see SerializedBatch). */
const segmentSize = 32;

/**
 * A batch being filled: its documents, and the same documents serialised by V8's serializer as each arrives (still in
 * the cache), rather than the whole batch at once. A transferred buffer costs this thread less than postMessage's own
 * clone of the objects. A (de)serializer keeps every object it has seen: segments of `segmentSize` documents let the
 * worker drop documents as it goes.
 */
class SerializedBatch {
  readonly documents: object[] = [];
  private readonly segments: Buffer[] = [];
  private serializer: DefaultSerializer | undefined;

  /** Throws what the serializer throws for a value that cannot cross threads (a function, a symbol). */
  add(document: object): void {
    if (this.serializer === undefined) {
      this.serializer = new DefaultSerializer();
      this.serializer.writeHeader();
    }
    this.serializer.writeValue(document);
    this.documents.push(document);
    if (this.documents.length % segmentSize === 0) this.endSegment();
  }

  finish(): Buffer[] {
    this.endSegment();
    return this.segments;
  }

  private endSegment(): void {
    if (this.serializer !== undefined) this.segments.push(this.serializer.releaseBuffer());
    this.serializer = undefined;
  }
}

export interface WorkerHashOptions {
  /** Documents per message to the worker; default 256. */
  batchSize?: number;
  /** Batches sent and not yet back (the bound on memory and read-ahead); default 4. */
  batchesInFlight?: number;
}

/** The JSON line of the document handed to the sink last, as the worker wrote it (see SinkContext.lineOf, lineBytesOf). */
export interface WorkerLines {
  lineOf(document: object): string | undefined;
  lineBytesOf(document: object): Uint8Array | undefined;
}

/**
 * Runs `before` on each document (on this thread), sends documents in batches to a worker thread that sets
 * `content_hash` (today's hash, contentHash) and writes each JSON line, then runs `after` on each document as it comes
 * back, in the input order. `lineOf` answers the line of the document yielded last: the bytes the single-thread path writes for
 * it, as long as nothing changes the document in between (pipeline() only uses this with nothing in between).
 * Documents must be plain JSON data (what every source of this library produces): they cross threads by structured clone.
 */
export function hashInWorker(
  documents: AsyncIterable<unknown>,
  before: readonly AnyStep[],
  after: readonly AnyStep[],
  onEnd?: () => void,
  options: WorkerHashOptions = {},
): { stream: AsyncIterable<any> } & WorkerLines {
  // The line of the document yielded last: bytes[lineStart, lineEnd) of its batch, unless a step replaced the document.
  let lastDocument: object | undefined;
  let bytes: Buffer | undefined;
  let lineStart = 0;
  let lineEnd = -1;
  const lineOf = (document: object) =>
    document === lastDocument && lineEnd >= 0 ? bytes!.toString('utf8', lineStart, lineEnd) : undefined;
  const lineBytesOf = (document: object) => (document === lastDocument && lineEnd >= 0 ? bytes!.subarray(lineStart, lineEnd) : undefined);

  async function* stream(): AsyncGenerator<any> {
    const batchSize = options.batchSize ?? 256;
    const batchesInFlight = options.batchesInFlight ?? 4;
    const worker = new Worker(new URL('./worker-hash-thread.js', import.meta.url));
    const waiting = new Map<number, { resolve: (result: HashResult) => void; reject: (error: unknown) => void }>();
    let failure: unknown = null;
    const failAll = (error: unknown) => {
      failure ??= error;
      for (const { reject } of waiting.values()) reject(error);
      waiting.clear();
    };
    worker.on('message', (result: HashResult) => {
      const entry = waiting.get(result.id);
      waiting.delete(result.id);
      entry?.resolve(result);
    });
    worker.on('error', failAll);
    worker.on('exit', (code) => failAll(new Error(`the hashing worker thread exited (code ${code})`)));

    let nextId = 0;
    const send = (batch: SerializedBatch): Promise<HashResult> =>
      new Promise<HashResult>((resolve, reject) => {
        if (failure !== null) return reject(failure);
        const id = nextId++;
        waiting.set(id, { resolve, reject });
        const segments = batch.finish();
        const message: HashBatch = { id, count: batch.documents.length, segments, segmentSize };
        worker.postMessage(
          message,
          segments.map((segment) => segment.buffer as ArrayBuffer),
        );
      });

    const input = documents[Symbol.asyncIterator]();
    let inputDone = false;
    const inFlight: Array<{ batch: object[]; result: Promise<HashResult> }> = [];
    const fill = async () => {
      const batch = new SerializedBatch();
      let unserializable: unknown = null;
      while (batch.documents.length < batchSize) {
        const next = await input.next();
        if (next.done) {
          inputDone = true;
          break;
        }
        let document = applySteps(next.value, before);
        if (document instanceof Promise) document = await document;
        if (document === undefined) continue;
        try {
          batch.add(document as object);
        } catch (error) {
          // Reported when this batch's turn comes, after the documents before it.
          unserializable = error;
          break;
        }
      }
      if (batch.documents.length === 0 && unserializable === null) return;
      const result = unserializable === null ? send(batch) : Promise.reject(unserializable);
      // A batch failing while earlier ones are still being yielded is reported when its turn comes.
      result.catch(() => {});
      inFlight.push({ batch: batch.documents, result });
    };

    try {
      for (;;) {
        while (!inputDone && inFlight.length < batchesInFlight) await fill();
        const head = inFlight.shift();
        if (head === undefined) break;
        const result = await head.result;
        if ('error' in result) throw Object.assign(new Error(result.error.message), { name: result.error.name });
        const { batch } = head;
        const { byteEnds, hashes, hashed } = result;
        const batchBytes = Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength);
        let start = 0;
        for (let index = 0; index < batch.length; index++) {
          const original: any = batch[index];
          if (hashed[index] === 1) original.content_hash = hashes.slice(index * hashLength, (index + 1) * hashLength);
          const end = byteEnds[index]!;
          let document = applySteps(original, after);
          if (document instanceof Promise) document = await document;
          const documentStart = start;
          start = end;
          if (document === undefined) continue;
          lastDocument = document as object;
          bytes = batchBytes;
          lineStart = documentStart;
          // A step that put another document in its place makes the worker's line stale.
          lineEnd = document === original ? end : -1;
          yield document;
        }
      }
      onEnd?.();
    } finally {
      lastDocument = bytes = undefined;
      worker.removeAllListeners('exit');
      await worker.terminate();
      if (!inputDone) await input.return?.(undefined);
    }
  }

  return { stream: stream(), lineOf, lineBytesOf };
}
