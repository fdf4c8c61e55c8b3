// Worker thread of hashInWorker: the content hash and the JSON line of every document of a batch, in order.

import { deserialize } from 'node:v8';
import { parentPort } from 'node:worker_threads';
import { hashDocument } from '../content-hash.js';

export interface HashBatch {
  id: number;
  /** The batch's documents, by v8.serialize. */
  documents: Uint8Array;
}

export type HashResult =
  { id: number; hashes: Array<string | null>; lines: string[] } | { id: number; error: { name: string; message: string } };

parentPort!.on('message', ({ id, documents: serialized }: HashBatch) => {
  try {
    const documents = deserialize(serialized) as Array<Record<string, unknown>>;
    const hashes = new Array<string | null>(documents.length);
    const lines = new Array<string>(documents.length);
    for (let index = 0; index < documents.length; index++) {
      const document = documents[index]!;
      // Tombstones are not hashed (as dedupe leaves them): their line is written as they are.
      if (document.type === 'tombstone') {
        hashes[index] = null;
        lines[index] = JSON.stringify(document);
      } else {
        // The line in the order dedupe emits (canonical), so both paths write the same bytes.
        const hashed = hashDocument(document);
        hashes[index] = hashed.document.content_hash as string;
        lines[index] = hashed.line ?? JSON.stringify(hashed.document);
      }
    }
    parentPort!.postMessage({ id, hashes, lines } satisfies HashResult);
  } catch (error) {
    const { name, message } = error instanceof Error ? error : new Error(String(error));
    parentPort!.postMessage({ id, error: { name, message } } satisfies HashResult);
  }
});
