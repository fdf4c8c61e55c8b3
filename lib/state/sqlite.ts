// The state's SQLite file: schema, statements, how it is found, created, opened exclusively and migrated from version 1.

import { closeSync, constants, lstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { ConfigError } from '../errors.js';
import { createPrivateFile, createTemporaryBeside, lockPathFor, removeTemporariesOfDeadProcesses, replaceFile } from '../files.js';
import { stateFormat, type StateData } from './state-file.js';

/** The SQLite schema version of the state; version 1 was one JSON document (migrated on first use). */
export const storeVersion = 2;

const sqliteMagic = 'SQLite format 3\0';
const migrationTag = 'migrating';

const schema = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  -- Every document the sink has durably written; thread_ts is set for a thread reply (not a broadcast).
  CREATE TABLE documents (id TEXT PRIMARY KEY, hash TEXT NOT NULL, thread_ts TEXT) WITHOUT ROWID;
  -- Per channel, per thread parent ts: the thread as last read completely.
  CREATE TABLE threads (
    channel TEXT NOT NULL, ts TEXT NOT NULL, latest_reply TEXT, reply_count INTEGER NOT NULL, PRIMARY KEY (channel, ts)
  ) WITHOUT ROWID;
  CREATE TABLE channels (channel TEXT PRIMARY KEY, newest_ts TEXT) WITHOUT ROWID;
  -- Channels the unfinished run (meta 'run') has read and committed completely: a resume skips them.
  CREATE TABLE run_channels (channel TEXT PRIMARY KEY) WITHOUT ROWID;
`;

// Per-run scratch tables live in SQLite's temporary database (a file, never this state): nothing here is durable.
const scratch = `
  PRAGMA temp_store = FILE;
  CREATE TEMP TABLE pending (
    seq INTEGER PRIMARY KEY, position INTEGER NOT NULL, id TEXT, hash TEXT, thread_ts TEXT,
    channel TEXT, newest_ts TEXT, threads_read INTEGER
  );
  CREATE TEMP TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TEMP TABLE read_threads (
    channel TEXT NOT NULL, ts TEXT NOT NULL, latest_reply TEXT, reply_count INTEGER NOT NULL, was_read INTEGER NOT NULL,
    PRIMARY KEY (channel, ts)
  ) WITHOUT ROWID;
`;

/** Every statement a run uses (prepared once per database). */
const statementTexts = {
  getHash: 'SELECT hash FROM documents WHERE id = ?',
  anyDocument: 'SELECT 1 FROM documents LIMIT 1',
  getThread: 'SELECT latest_reply, reply_count FROM threads WHERE channel = ? AND ts = ?',
  insertSeen: 'INSERT OR IGNORE INTO temp.seen (id) VALUES (?)',
  insertReadThread: 'INSERT OR REPLACE INTO temp.read_threads (channel, ts, latest_reply, reply_count, was_read) VALUES (?, ?, ?, ?, ?)',
  getReadThread: 'SELECT was_read FROM temp.read_threads WHERE channel = ? AND ts = ?',
  missing: 'SELECT id, thread_ts FROM documents WHERE id > ? AND id < ? AND id NOT IN (SELECT id FROM temp.seen) ORDER BY id LIMIT ?',
  deleteSeen: 'DELETE FROM temp.seen WHERE id > ? AND id < ?',
  runChannels: 'SELECT channel FROM run_channels',
  insertPending: 'INSERT INTO temp.pending (position, id, hash, thread_ts, channel, newest_ts, threads_read) VALUES (?, ?, ?, ?, ?, ?, ?)',
  pendingChunk:
    'SELECT seq, id, hash, thread_ts, channel, newest_ts, threads_read FROM temp.pending WHERE position <= ? AND seq > ? ' +
    'ORDER BY seq LIMIT ?',
  deletePendingUpTo: 'DELETE FROM temp.pending WHERE position <= ?',
  setChannel: 'INSERT OR REPLACE INTO channels (channel, newest_ts) VALUES (?, ?)',
  deleteThreads: 'DELETE FROM threads WHERE channel = ?',
  copyThreads:
    'INSERT INTO threads (channel, ts, latest_reply, reply_count) ' +
    'SELECT channel, ts, latest_reply, reply_count FROM temp.read_threads WHERE channel = ?',
  deleteReadThreads: 'DELETE FROM temp.read_threads WHERE channel = ?',
  addRunChannel: 'INSERT OR IGNORE INTO run_channels (channel) VALUES (?)',
  clearRunChannels: 'DELETE FROM run_channels',
  deleteDocument: 'DELETE FROM documents WHERE id = ?',
  putDocument: 'INSERT OR REPLACE INTO documents (id, hash, thread_ts) VALUES (?, ?, ?)',
  setMeta: 'INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)',
};

export type Statements = Record<keyof typeof statementTexts, Database.Statement>;

export function prepareStatements(database: Database.Database): Statements {
  database.exec(scratch);
  return Object.fromEntries(Object.entries(statementTexts).map(([name, text]) => [name, database.prepare(text)])) as Statements;
}

export const invalidState = (path: string, problem: string): ConfigError =>
  new ConfigError('state_invalid', `the state file ${path} is not usable: ${problem}`, {
    hint: 'it was left untouched; pass another --state path (a missing file starts a full run) or restore the file from a backup',
  });

const unreadable = (path: string, problem: string): ConfigError =>
  new ConfigError('state_unreadable', `cannot read the state file ${path}: ${problem}`, { hint: 'check the path and its permissions' });

/** The holder named by the lock file another run keeps beside the state (lib/files.ts), when there is one. */
function describeHolder(path: string): string {
  try {
    const owner = JSON.parse(readFileSync(lockPathFor(path), 'utf8')) as { pid?: unknown; host?: unknown; since?: unknown };
    if (typeof owner.pid === 'number')
      return `another slack-etl run (pid ${owner.pid} on ${String(owner.host)}, since ${String(owner.since)})`;
  } catch {
    // no readable lock file: SQLite's own lock is all we know
  }
  return 'another process (SQLite reports the database locked)';
}

export const lockedError = (path: string): ConfigError =>
  new ConfigError('locked', `the state file ${path} is in use by ${describeHolder(path)}`, {
    hint: 'wait for that run to finish: one run per state file at a time',
  });

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
};

/** What is at `path`: nothing, a SQLite state, or (maybe) a version-1 JSON state. Never follows a symbolic link. */
export function probe(path: string): 'missing' | 'sqlite' | 'text' {
  let info;
  try {
    info = lstatSync(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return 'missing';
    throw unreadable(path, (error as Error).message);
  }
  if (info.isSymbolicLink()) throw invalidState(path, 'it is a symbolic link (state files are never followed through links)');
  if (!info.isFile()) throw unreadable(path, `it is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`);
  const header = Buffer.alloc(16);
  let descriptor: number;
  try {
    descriptor = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw unreadable(path, (error as Error).message);
  }
  try {
    const read = readSync(descriptor, header, 0, 16, 0);
    return read === 16 && header.toString('latin1') === sqliteMagic ? 'sqlite' : 'text';
  } finally {
    closeSync(descriptor);
  }
}

/** A version-1 JSON state's text, or a ConfigError naming why it cannot be read. */
export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw unreadable(path, (error as Error).message);
  }
}

/**
 * Opens a SQLite state exclusively: WAL journal (a crash rolls back to the last checkpoint), synchronous commits,
 * and SQLite's exclusive locking mode, so a second process cannot read or write it while this one holds it.
 */
export function openDatabase(path: string): Database.Database {
  const database = new Database(path, { fileMustExist: true, timeout: 0 });
  try {
    database.pragma('locking_mode = EXCLUSIVE');
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    // The exclusive lock is taken by the first write and kept until close.
    database.exec('BEGIN IMMEDIATE; COMMIT');
  } catch (error) {
    database.close();
    if (isBusy(error)) throw lockedError(path);
    throw error;
  }
  return database;
}

/** The meta rows of an opened state, checked to be slack-etl's and of this version. */
export function readMeta(database: Database.Database, path: string): Map<string, string> {
  let rows: Array<{ key: string; value: string }>;
  try {
    rows = database.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>;
  } catch {
    throw invalidState(path, `it is not a slack-etl state file (no "format": "${stateFormat}")`);
  }
  const meta = new Map(rows.map((row) => [row.key, row.value] as const));
  if (meta.get('format') !== stateFormat) throw invalidState(path, `it is not a slack-etl state file (no "format": "${stateFormat}")`);
  if (meta.get('version') !== String(storeVersion)) {
    throw invalidState(
      path,
      `its version ${meta.get('version') ?? 'none'} is not one this slack-etl reads (it reads versions 1 and ${storeVersion})`,
    );
  }
  return meta;
}

/** Creates the tables and the meta rows of a new state. */
export function initialize(database: Database.Database, meta: Record<string, string>): Database.Database {
  database.exec(schema);
  const put = database.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
  database.transaction(() => {
    put.run('format', stateFormat);
    put.run('version', String(storeVersion));
    for (const [key, value] of Object.entries(meta)) put.run(key, value);
  })();
  return database;
}

/** A new state file: created 0600 exclusively without following a link (lib/files.ts), then opened and locked as SQLite. */
export async function createStateFile(path: string, meta: Record<string, string>): Promise<Database.Database> {
  try {
    await (await createPrivateFile(path)).close();
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    if ((error as { code?: string }).code === 'EEXIST') throw lockedError(path);
    throw new ConfigError('state_unwritable', `cannot create the state file ${path}: ${(error as Error).message}`, {
      hint: 'check the directory and its permissions',
    });
  }
  return initialize(openDatabase(path), meta);
}

/**
 * Version 1 → SQLite: written beside the JSON file under a temporary name, then renamed over it, so a crash leaves
 * the old file or the complete new one.
 */
export async function migrateStateFile(path: string, data: StateData, meta: Record<string, string>): Promise<Database.Database> {
  await removeTemporariesOfDeadProcesses(path, migrationTag);
  const temporary = await createTemporaryBeside(path, migrationTag);
  try {
    // Private whatever the JSON file's mode was: the state names every channel and DM it has seen.
    await temporary.handle.chmod(0o600);
    const database = new Database(temporary.path, { fileMustExist: true });
    database.pragma('journal_mode = DELETE');
    initialize(database, { ...meta, savedAt: data.savedAt, migratedFrom: '1' });
    database.transaction(() => {
      const document = database.prepare('INSERT INTO documents (id, hash, thread_ts) VALUES (?, ?, ?)');
      for (const [id, hash] of Object.entries(data.documents)) document.run(id, hash, data.replies[id] ?? null);
      const thread = database.prepare('INSERT INTO threads (channel, ts, latest_reply, reply_count) VALUES (?, ?, ?, ?)');
      for (const [channel, threads] of Object.entries(data.threads)) {
        for (const [ts, state] of Object.entries(threads)) thread.run(channel, ts, state.latestReply ?? null, state.replyCount);
      }
      const channel = database.prepare('INSERT INTO channels (channel, newest_ts) VALUES (?, ?)');
      for (const [id, checkpoint] of Object.entries(data.channels)) channel.run(id, checkpoint.newestTs ?? null);
    })();
    database.close();
    await temporary.handle.sync();
    await temporary.handle.close();
    await replaceFile(temporary.path, resolve(path));
  } catch (error) {
    await temporary.handle.close().catch(() => {});
    await rm(temporary.path, { force: true });
    throw error;
  }
  return openDatabase(path);
}
