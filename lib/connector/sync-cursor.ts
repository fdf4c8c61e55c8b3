// The incremental state kept in the connector's `sync_cursor`: a state file's bytes, gzipped, in a size-capped envelope.

import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';

export const syncCursorFormat = 'slack-etl-sync-cursor';
export const syncCursorVersion = 1;
/**
 * Kibana reads the connector document often and Elasticsearch keeps `sync_cursor` in `_source` only (it is not
 * indexed), so the cursor stays small: past this many encoded bytes it is left out and the next incremental job starts
 * from an empty state (it reads the whole window; unchanged documents are still skipped against the index).
 */
export const maxSyncCursorBytes = 8 * 1024 * 1024;

export type SyncCursor =
  | { format: typeof syncCursorFormat; version: typeof syncCursorVersion; saved_at: string; state_bytes: number; state_gzip_base64: string }
  | { format: typeof syncCursorFormat; version: typeof syncCursorVersion; saved_at: string; state_bytes: number; omitted: string };

export type RestoreOutcome = 'restored' | 'empty' | 'omitted' | 'foreign';

/**
 * Writes the state a cursor carries to `path` (created exclusively, 0600: it names private channels and DMs).
 * Anything that is not our envelope (null, Elastic's own cursor, an omitted state) leaves no file: an empty state.
 */
export async function restoreState(cursor: unknown, path: string): Promise<RestoreOutcome> {
  if (cursor === null || cursor === undefined) return 'empty';
  const envelope = cursor as Partial<Record<string, unknown>>;
  if (typeof cursor !== 'object' || envelope.format !== syncCursorFormat || envelope.version !== syncCursorVersion) return 'foreign';
  if (typeof envelope.state_gzip_base64 !== 'string') return 'omitted';
  const bytes = gunzipSync(Buffer.from(envelope.state_gzip_base64, 'base64'));
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(bytes);
  } finally {
    await handle.close();
  }
  return 'restored';
}

/** The cursor for the state file at `path` (a missing file is an empty cursor). */
export async function cursorOf(path: string, savedAt: string): Promise<SyncCursor | null> {
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return null;
    throw error;
  }
  const encoded = gzipSync(bytes).toString('base64');
  const base = { format: syncCursorFormat, version: syncCursorVersion, saved_at: savedAt, state_bytes: bytes.length } as const;
  if (encoded.length > maxSyncCursorBytes) {
    return { ...base, omitted: `the state is ${encoded.length} bytes encoded, over the ${maxSyncCursorBytes}-byte limit for sync_cursor` };
  }
  return { ...base, state_gzip_base64: encoded };
}

/** A private directory (0700) for one job's state file; `remove` deletes it with everything in it. */
export async function jobStateDirectory(): Promise<{ statePath: string; remove: () => Promise<void> }> {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-connector-'));
  return { statePath: join(directory, 'state.json'), remove: () => rm(directory, { recursive: true, force: true }) };
}
