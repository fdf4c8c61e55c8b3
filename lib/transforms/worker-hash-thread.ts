// Worker thread of hashInWorker: the content hash and the JSON line (UTF-8) of every document of a batch, in order.

import { parentPort } from 'node:worker_threads';
import { contentHashLength as hashLength, hashDocument } from '../content-hash.js';
import { DocumentUnpacker, type PackedBatch } from './worker-packing.js';

/** A batch's documents, in order, packed (cloned by postMessage). */
export interface HashBatch extends PackedBatch {
  id: number;
}

/**
 * A batch's answer as flat values instead of arrays of strings (one transfer or clone each, not one per document): the
 * lines encoded as UTF-8 back to back with the byte offset where each ends (the sink copies bytes, the main thread
 * never encodes), and the 43-character hashes back to back (a tombstone's slot is blank).
 */
export type HashResult =
  | { id: number; bytes: Uint8Array; byteEnds: Int32Array; hashes: string; hashed: Uint8Array }
  | { id: number; error: { name: string; message: string } };

const blankHash = ' '.repeat(hashLength);
/** Lines are encoded here as they are made; kept across batches unless a batch of huge documents grew it. */
const scratchBytes = 256 * 1024;
let scratch = Buffer.allocUnsafeSlow(scratchBytes);

/** Room for `bytes` more after `used` bytes of the scratch buffer. */
function ensureRoom(used: number, bytes: number): void {
  if (used + bytes <= scratch.length) return;
  const grown = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, used + bytes));
  scratch.copy(grown, 0, 0, used);
  scratch = grown;
}

const unpacker = new DocumentUnpacker();

// A batch this thread cannot read has no id to answer: failing the thread fails every batch waiting (hashInWorker).
parentPort!.on('messageerror', (error) => {
  throw error;
});

parentPort!.on('message', (batch: HashBatch) => {
  const { id } = batch;
  try {
    const documents = unpacker.unpack(batch);
    const count = documents.length;
    const byteEnds = new Int32Array(count);
    const hashed = new Uint8Array(count);
    let hashes = '';
    let used = 0;
    // Each line is encoded as soon as it is made.
    for (let index = 0; index < count; index++) {
      const document = documents[index] as Record<string, unknown>;
      let line: string;
      // Tombstones are not hashed (as dedupe leaves them): their line is written as they are.
      if (document.type === 'tombstone') {
        hashes += blankHash;
        line = JSON.stringify(document);
      } else {
        // The line in the order dedupe emits (canonical), so both paths write the same bytes.
        const result = hashDocument(document);
        hashed[index] = 1;
        hashes += result.document.content_hash as string;
        line = result.line ?? JSON.stringify(result.document);
      }
      // At most 3 UTF-8 bytes per UTF-16 code unit.
      ensureRoom(used, line.length * 3);
      used += scratch.write(line, used);
      byteEnds[index] = used;
    }
    // Copied to a buffer of the exact size: a transferred buffer counts as external memory, and oversized ones made V8
    // collect more often.
    const bytes = new Uint8Array(used);
    bytes.set(scratch.subarray(0, used));
    if (scratch.length > 16 * scratchBytes) scratch = Buffer.allocUnsafeSlow(scratchBytes);
    parentPort!.postMessage({ id, bytes, byteEnds, hashes, hashed } satisfies HashResult, [bytes.buffer, byteEnds.buffer, hashed.buffer]);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    parentPort!.postMessage({ id, error: { name, message } } satisfies HashResult);
  }
});
