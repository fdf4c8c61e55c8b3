// The sink's hot path: one loop over the input into the bulk writer, no generator layer or object copy per document.

import type { AnyDocument } from '../../documents.js';
import { deleteEntry, indexEntry, type BulkWriter } from './bulk-writer.js';
import type { SeenMessages } from './seen-messages.js';

export interface WriteOutcome {
  /** The input failed: what was added is still sent, then the run fails with this. */
  sourceError?: unknown;
  aborted: boolean;
}

/**
 * Returns normally when the input ended or the run was aborted (what was added is still sent by the caller's close);
 * `seen` (with --delete-stale) records every message and tombstone the run produced; `lineOf` (the sink context's) saves
 * serialising documents whose JSON line a stage already wrote.
 */
export async function writeDocuments(
  documents: AsyncIterable<AnyDocument>,
  writer: BulkWriter,
  seen: SeenMessages | undefined,
  signal: AbortSignal | undefined,
  lineOf?: (document: object) => string | undefined,
): Promise<WriteOutcome> {
  try {
    for await (const document of documents) {
      if (signal?.aborted) return { aborted: true };
      const isTombstone = document.type === 'tombstone';
      if (seen && (isTombstone || document.type === 'message')) seen.add(document.channel_id, document.ts);
      const waiting = writer.add(isTombstone ? deleteEntry(document._id) : indexEntry(document, lineOf?.(document)));
      if (waiting) await waiting;
    }
  } catch (error) {
    // End normally so the writer still sends what it holds; the run fails right after.
    return { sourceError: error, aborted: false };
  }
  return { aborted: false };
}
