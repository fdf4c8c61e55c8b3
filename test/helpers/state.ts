// Test helper: reads a SQLite state file (version 2) the way the v1 tests read the JSON one.

import Database from 'better-sqlite3';

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

export function readState(path: string): StateSnapshot {
  const database = new Database(path, { readonly: true, fileMustExist: true });
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
