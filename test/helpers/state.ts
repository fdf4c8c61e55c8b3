// Test helper: reads a SQLite state file (version 2) the way the v1 tests read the JSON one.

import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface StateSnapshot {
  format: string;
  version: number;
  team: { id: string; url: string | null } | null;
  run: { path: string; partialPath: string; committedBytes: number } | null;
  documents: Record<string, string>;
  replies: Record<string, string>;
  threads: number;
  runChannels: string[];
}

/**
 * A run killed with SIGKILL leaves its last commits in the WAL, without the shared-memory index (the CLI opens the state in
 * exclusive mode): a read-only connection cannot rebuild that index and reads only the main file, as if those commits were
 * lost. So a copy of the file and its WAL is opened read-write, as the next run would open it, and the state is untouched.
 * Throws, as any other reader would, while a run holds the state: after `busyTimeoutMs` (SQLite's busy timeout,
 * better-sqlite3's default 5 s) spent waiting for the run to let go.
 */
export function readState(path: string, options: { busyTimeoutMs?: number } = {}): StateSnapshot {
  // As another process would try it: a state a live run holds (SQLite's exclusive lock) cannot be read at all.
  const original = new Database(path, { readonly: true, fileMustExist: true, timeout: options.busyTimeoutMs ?? 5000 });
  try {
    original.prepare('SELECT count(*) FROM meta').get();
  } finally {
    original.close();
  }
  const directory = mkdtempSync(join(tmpdir(), 'slack-etl-state-'));
  try {
    const copy = join(directory, 'state');
    copyFileSync(path, copy);
    if (existsSync(`${path}-wal`)) copyFileSync(`${path}-wal`, `${copy}-wal`);
    return readStateFile(copy);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function readStateFile(path: string): StateSnapshot {
  const database = new Database(path, { fileMustExist: true });
  database.pragma('locking_mode = EXCLUSIVE');
  try {
    const meta = new Map(
      (database.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>).map((row) => [row.key, row.value]),
    );
    const documents: Record<string, string> = {};
    const replies: Record<string, string> = {};
    for (const row of database.prepare('SELECT id, hash, thread_ts FROM documents').all() as Array<{
      id: string;
      hash: string;
      thread_ts: string | null;
    }>) {
      documents[row.id] = row.hash;
      if (row.thread_ts !== null) replies[row.id] = row.thread_ts;
    }
    return {
      format: meta.get('format')!,
      version: Number(meta.get('version')),
      team: JSON.parse(meta.get('team') ?? 'null'),
      run: JSON.parse(meta.get('run') ?? 'null'),
      documents,
      replies,
      threads: (database.prepare('SELECT count(*) AS n FROM threads').get() as { n: number }).n,
      runChannels: (database.prepare('SELECT channel FROM run_channels').all() as Array<{ channel: string }>).map((row) => row.channel),
    };
  } finally {
    database.close();
  }
}
