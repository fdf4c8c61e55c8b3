// Hashing and serialization on a second core: batches of documents go to a worker thread and come back in order with hash and line.

import { Worker } from 'node:worker_threads';
import { applySteps, type DocumentStep } from '../document-step.js';
import { contentHashLength as hashLength } from '../content-hash.js';
import type { HashBatch, HashResult } from './worker-hash-thread.js';
import { DocumentPacker } from './worker-packing.js';

type AnyStep = DocumentStep<any, any>;

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

/** The worker thread, and `send`: a batch's answer, in the order batches were sent (rejected if the thread fails or exits). */
function startHashWorker(): { send: (batch: object[]) => Promise<HashResult>; terminate: () => Promise<void> } {
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
  // An answer that cannot be read here would leave its batch waiting for ever.
  worker.on('messageerror', failAll);
  worker.on('exit', (code) => failAll(new Error(`the hashing worker thread exited (code ${code})`)));

  let nextId = 0;
  const packer = new DocumentPacker();
  const send = (batch: object[]): Promise<HashResult> =>
    new Promise<HashResult>((resolve, reject) => {
      if (failure !== null) return reject(failure);
      const id = nextId++;
      // Throws (rejecting this batch) when a document's getter does.
      const packed = packer.pack(batch);
      try {
        worker.postMessage({ id, ...packed } satisfies HashBatch, [packed.shapes.buffer as ArrayBuffer]);
      } catch (error) {
        // A value that cannot cross threads (a function): this batch fails, and its new shapes never reached the worker.
        packer.discard(packed);
        throw error;
      }
      waiting.set(id, { resolve, reject });
    });
  const terminate = async () => {
    worker.removeAllListeners('exit');
    await worker.terminate();
  };
  return { send, terminate };
}

/**
 * Runs `before` on each document (on this thread), sends documents in batches to a worker thread that sets
 * `content_hash` (today's hash, contentHash) and writes each JSON line, then runs `after` on each document as it comes
 * back, in the input order. `lineOf` answers the line of the document yielded last: the bytes the single-thread path writes for
 * it, as long as nothing changes the document in between (pipeline() only uses this with nothing in between).
 * Documents must be plain JSON data (what every source of this library produces): they cross threads by structured clone.
 *
 * A batch crosses as one postMessage (packed: worker-packing.ts), whose serializer is freed as soon as it is sent.
 * Serialising each document as it arrived, with one v8 DefaultSerializer per few documents, cost more: a (de)serializer
 * holds every object it wrote or read as a GC root until its wrapper is collected, so each scavenge of both threads
 * copied about 1.6 MB of finished documents (pauses of 5-7 ms against 2), and a run of hashing alone took 6.8 s where
 * this takes 4.7 s.
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
    const worker = startHashWorker();
    const input = documents[Symbol.asyncIterator]();
    let inputDone = false;
    let stopped = false;
    const inFlight: Array<{ batch: object[]; result: Promise<HashResult> }> = [];
    const fill = async () => {
      const batch: object[] = [];
      while (batch.length < batchSize) {
        let next: IteratorResult<unknown>;
        try {
          next = await input.next();
        } catch (error) {
          // A failed input is over: nothing to close (after a step's failure, the finally below closes it).
          inputDone = true;
          throw error;
        }
        if (stopped) return;
        if (next.done) {
          inputDone = true;
          break;
        }
        let document = applySteps(next.value, before);
        if (document instanceof Promise) document = await document;
        if (stopped) return;
        if (document !== undefined) batch.push(document as object);
      }
      if (batch.length === 0) return;
      const result = worker.send(batch);
      // A batch failing while earlier ones are still being yielded is reported when its turn comes.
      result.catch(() => {});
      inFlight.push({ batch, result });
    };
    // Batches are read and sent in the background, up to the bound, so that the source and the steps before the
    // worker keep this thread busy while the sink waits for its writes (instead of only when the sink asks for more).
    let filling: Promise<void> | null = null;
    let readFailure: { error: unknown } | null = null;
    const topUp = (): void => {
      if (filling !== null || inputDone || stopped || readFailure !== null || inFlight.length >= batchesInFlight) return;
      filling = fill().then(
        () => {
          filling = null;
          topUp();
        },
        (error: unknown) => {
          filling = null;
          readFailure = { error };
        },
      );
    };

    try {
      for (;;) {
        topUp();
        const head = inFlight.shift();
        if (head === undefined) {
          if (filling !== null) {
            await filling;
            continue;
          }
          // The source's or a step's failure, after every batch read before it (set in topUp's callback, hence the cast).
          if (readFailure !== null) throw (readFailure as { error: unknown }).error;
          break;
        }
        topUp();
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
      stopped = true;
      // A batch being read stops after the source's current step; the source is closed after it, not during it.
      await filling;
      await worker.terminate();
      if (!inputDone) await input.return?.(undefined);
    }
  }

  return { stream: stream(), lineOf, lineBytesOf };
}
