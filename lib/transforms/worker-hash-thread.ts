// Worker thread of hashInWorker: the content hash and the JSON line of every document of a batch, in order.

import { deserialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { contentHashLength as hashLength, hashDocument } from '../content-hash.js';

export interface HashBatch {
  id: number;
  /** The batch's documents, by v8.serialize. */
  documents: Uint8Array;
}

/**
 * A batch's answer as three flat values instead of two arrays of strings (one clone each, not one per document): the
 * lines back to back with where each ends, and the 43-character hashes back to back (a tombstone's slot is blank).
 */
export type HashResult =
  | { id: number; lines: string; lineEnds: Int32Array; hashes: string; hashed: Uint8Array }
  | { id: number; error: { name: string; message: string } };

const blankHash = ' '.repeat(hashLength);

parentPort!.on('message', ({ id, documents: serialized }: HashBatch) => {
  try {
    const documents = deserialize(serialized) as Array<Record<string, unknown>>;
    const lineEnds = new Int32Array(documents.length);
    const hashed = new Uint8Array(documents.length);
    let lines = '';
    let hashes = '';
    for (let index = 0; index < documents.length; index++) {
      const document = documents[index]!;
      // Tombstones are not hashed (as dedupe leaves them): their line is written as they are.
      if (document.type === 'tombstone') {
        hashes += blankHash;
        lines += JSON.stringify(document);
      } else {
        // The line in the order dedupe emits (canonical), so both paths write the same bytes.
        const result = hashDocument(document);
        hashed[index] = 1;
        hashes += result.document.content_hash as string;
        lines += result.line ?? JSON.stringify(result.document);
      }
      lineEnds[index] = lines.length;
    }
    parentPort!.postMessage({ id, lines, lineEnds, hashes, hashed } satisfies HashResult, [lineEnds.buffer, hashed.buffer]);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    parentPort!.postMessage({ id, error: { name, message } } satisfies HashResult);
  }
});
