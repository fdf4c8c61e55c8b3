// StateStore: the incremental state in SQLite — what dedupe has seen, what the source needs, what the sink committed.

import { closeSync, constants, fsyncSync, lstatSync, openSync, readSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { contentHash } from '../content-hash.js';
import { ConfigError } from '../errors.js';
import type { AnyDocument } from '../documents.js';
import { defineStage, type Stage } from '../stage.js';
import type { SeenStore } from '../transforms/dedupe.js';
import { parseState, stateFormat, stateVersion, type OutputRecord, type RunState, type StateData, type ThreadState } from './state-file.js';

export type { RunState, ThreadState } from './state-file.js';

/** The SQLite schema version of the state; version 1 was one JSON document (migrated on first use). */
export const storeVersion = 2;

const sqliteMagic = 'SQLite format 3\0';
/** Tracked documents are written to the pending table in batches of this size. */
const pendingBatch = 1000;

const schema = `
  CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
  -- Every document the sink has durably written; thread_ts is set for a thread reply (not a broadcast).
  CREATE TABLE documents (id TEXT PRIMARY KEY, hash TEXT NOT NULL, thread_ts TEXT) WITHOUT ROWID;
  -- Per channel, per thread parent ts: the thread as last read completely.
  CREATE TABLE threads (channel TEXT NOT NULL, ts TEXT NOT NULL, latest_reply TEXT, reply_count INTEGER NOT NULL, PRIMARY KEY (channel, ts)) WITHOUT ROWID;
  CREATE TABLE channels (channel TEXT PRIMARY KEY, newest_ts TEXT) WITHOUT ROWID;
  -- Channels the unfinished run (meta 'run') has read and committed completely: a resume skips them.
  CREATE TABLE run_channels (channel TEXT PRIMARY KEY) WITHOUT ROWID;
`;

// Per-run scratch tables live in SQLite's temporary database (a file, never this state): nothing here is durable.
const scratch = `
  PRAGMA temp_store = FILE;
  CREATE TEMP TABLE pending (seq INTEGER PRIMARY KEY, position INTEGER NOT NULL, id TEXT, hash TEXT, thread_ts TEXT, channel TEXT, newest_ts TEXT, threads_read INTEGER);
  CREATE TEMP TABLE seen (id TEXT PRIMARY KEY) WITHOUT ROWID;
  CREATE TEMP TABLE read_threads (channel TEXT NOT NULL, ts TEXT NOT NULL, latest_reply TEXT, reply_count INTEGER NOT NULL, was_read INTEGER NOT NULL, PRIMARY KEY (channel, ts)) WITHOUT ROWID;
`;

/** One row of the pending queue: a document on its way to the sink, or the end of a channel read completely. */
type PendingRow =
  | { kind: 'document'; position: number; id: string; hash: string | null; threadTs: string | null }
  | { kind: 'channel'; position: number; channel: string; newestTs: string | null; threadsRead: boolean };

/** A stored message that Slack did not return in this run (a tombstone candidate). */
export interface MissingMessage {
  id: string;
  threadTs: string | null;
}

const invalid = (path: string, problem: string): ConfigError =>
  new ConfigError('state_invalid', `the state file ${path} is not usable: ${problem}`, {
    hint: 'it was left untouched; pass another --state path (a missing file starts a full run) or restore the file from a backup',
  });

/** The holder named by the lock file another run keeps beside the state (lib/files.ts), when there is one. */
function describeHolder(path: string): string {
  try {
    const owner = JSON.parse(readFileSync(`${resolve(path)}.lock`, 'utf8')) as { pid?: unknown; host?: unknown; since?: unknown };
    if (typeof owner.pid === 'number')
      return `another slack-etl run (pid ${owner.pid} on ${String(owner.host)}, since ${String(owner.since)})`;
  } catch {
    // no readable lock file: SQLite's own lock is all we know
  }
  return 'another process (SQLite reports the database locked)';
}

const lockedError = (path: string): ConfigError =>
  new ConfigError('locked', `the state file ${path} is in use by ${describeHolder(path)}`, {
    hint: 'wait for that run to finish: one run per state file at a time',
  });

const isBusy = (error: unknown): boolean => {
  const code = (error as { code?: string }).code ?? '';
  return code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED');
};

/** What is at `path`: nothing, a SQLite state, or (maybe) a version-1 JSON state. Never follows a symbolic link. */
function probe(path: string): 'missing' | 'sqlite' | 'text' {
  let info;
  try {
    info = lstatSync(path);
  } catch (error) {
    if ((error as { code?: string }).code === 'ENOENT') return 'missing';
    throw new ConfigError('state_unreadable', `cannot read the state file ${path}: ${(error as Error).message}`, {
      hint: 'check the path and its permissions',
    });
  }
  if (info.isSymbolicLink()) throw invalid(path, 'it is a symbolic link (state files are never followed through links)');
  if (!info.isFile()) {
    throw new ConfigError(
      'state_unreadable',
      `cannot read the state file ${path}: it is ${info.isDirectory() ? 'a directory' : 'not a regular file'}`,
      { hint: 'check the path and its permissions' },
    );
  }
  const header = Buffer.alloc(16);
  let descriptor: number;
  try {
    descriptor = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (error) {
    throw new ConfigError('state_unreadable', `cannot read the state file ${path}: ${(error as Error).message}`, {
      hint: 'check the path and its permissions',
    });
  }
  try {
    const read = readSync(descriptor, header, 0, 16, 0);
    return read === 16 && header.toString('latin1') === sqliteMagic ? 'sqlite' : 'text';
  } finally {
    closeSync(descriptor);
  }
}

/** Creates an empty private file (0600) at `path` exclusively, without following a link. */
function createPrivate(path: string): void {
  const descriptor = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  closeSync(descriptor);
}

function fsyncDirectory(path: string): void {
  try {
    const descriptor = openSync(dirname(path), constants.O_RDONLY);
    try {
      fsyncSync(descriptor);
    } finally {
      closeSync(descriptor);
    }
  } catch {
    // not every file system lets a directory be synced
  }
}

/**
 * Opens a SQLite state exclusively: WAL journal (a crash rolls back to the last checkpoint), synchronous commits,
 * and SQLite's exclusive locking mode, so a second process cannot read or write it while this one holds it.
 */
function openDatabase(path: string): Database.Database {
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

export class StateStore implements SeenStore {
  readonly path: string;
  private database: Database.Database | null;
  /** A version-1 JSON state read on open, written as SQLite once the run knows its team (a foreign team leaves it as is). */
  private migrating: StateData | null;
  private teamValue: StateData['team'] = null;
  private runValue: RunState | null = null;
  /** The file the last finished export wrote (null: none, or stdout). Written by the next `save()`. */
  lastOutput: OutputRecord | null = null;
  private statements: ReturnType<StateStore['prepare']> | null = null;
  private buffer: PendingRow[] = [];
  /** Documents tracked so far in this run, and how many of them the sink has committed (applied on save). */
  private tracked = 0;
  private committable = 0;

  private inMemory = false;

  private constructor(path: string, database: Database.Database | null, migrating: StateData | null) {
    this.path = path;
    this.database = database;
    this.migrating = migrating;
    if (migrating) {
      this.teamValue = migrating.team;
      this.runValue = migrating.run;
      this.lastOutput = migrating.lastOutput ?? null;
    }
    if (database) this.attach(database);
  }

  /**
   * Opens the state at `path` (a missing file is an empty state, created on first use). A corrupt or unknown file is a
   * ConfigError and is never written; a state held by another run is a ConfigError naming it.
   */
  static async open(path: string): Promise<StateStore> {
    const kind = probe(path);
    if (kind === 'missing') return new StateStore(path, null, null);
    if (kind === 'text') {
      let text: string;
      try {
        text = readFileSync(path, 'utf8');
      } catch (error) {
        throw new ConfigError('state_unreadable', `cannot read the state file ${path}: ${(error as Error).message}`, {
          hint: 'check the path and its permissions',
        });
      }
      return new StateStore(path, null, parseState(text, path));
    }
    let database: Database.Database;
    try {
      database = openDatabase(path);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw invalid(path, `SQLite cannot open it (${(error as Error).message})`);
    }
    try {
      const rows = new Map(
        (() => {
          try {
            return (database.prepare('SELECT key, value FROM meta').all() as Array<{ key: string; value: string }>).map(
              (row) => [row.key, row.value] as const,
            );
          } catch {
            throw invalid(path, `it is not a slack-etl state file (no "format": "${stateFormat}")`);
          }
        })(),
      );
      if (rows.get('format') !== stateFormat) throw invalid(path, `it is not a slack-etl state file (no "format": "${stateFormat}")`);
      if (rows.get('version') !== String(storeVersion)) {
        throw invalid(
          path,
          `its version ${rows.get('version') ?? 'none'} is not one this slack-etl reads (it reads versions 1 and ${storeVersion})`,
        );
      }
      const store = new StateStore(path, database, null);
      store.teamValue = JSON.parse(rows.get('team') ?? 'null') as StateData['team'];
      store.runValue = JSON.parse(rows.get('run') ?? 'null') as RunState | null;
      store.lastOutput = JSON.parse(rows.get('lastOutput') ?? 'null') as OutputRecord | null;
      return store;
    } catch (error) {
      database.close();
      throw error;
    }
  }

  get team(): StateData['team'] {
    return this.teamValue;
  }

  /** The unfinished NDJSON export this state belongs to (resume), or null. Written by the next `save()`. */
  get run(): RunState | null {
    return this.runValue;
  }

  set run(run: RunState | null) {
    this.runValue = run;
  }

  /** Refuses the state of another Slack team; adopts the team on a first run. */
  bindTeam(team: { id: string; url: string | null }): void {
    if (this.teamValue !== null && this.teamValue.id !== team.id) {
      throw new ConfigError(
        'state_foreign',
        `the state file ${this.path} belongs to Slack team ${this.teamValue.id}${this.teamValue.url ? ` (${this.teamValue.url})` : ''}, but the token is for team ${team.id}`,
        {
          hint: 'use a separate --state file per workspace; the file was left untouched',
        },
      );
    }
    if (this.teamValue === null) this.teamValue = { id: team.id, url: team.url };
    this.db();
  }

  /** An empty state that lives only in memory (a Singer run without --state still reports its STATE). */
  static empty(): StateStore {
    const store = new StateStore('(in memory)', null, null);
    store.inMemory = true;
    return store;
  }

  /**
   * The whole committed state in the version-1 JSON form (Singer's STATE message carries it; `--state` reads it back
   * and migrates it). Proportional to the state: for that export only, never on a run's path.
   */
  toJSON(): StateData {
    this.apply();
    const database = this.db();
    const documents: Record<string, string> = {};
    const replies: Record<string, string> = {};
    for (const row of database.prepare('SELECT id, hash, thread_ts FROM documents').iterate() as Iterable<{
      id: string;
      hash: string;
      thread_ts: string | null;
    }>) {
      documents[row.id] = row.hash;
      if (row.thread_ts !== null) replies[row.id] = row.thread_ts;
    }
    const threads: StateData['threads'] = {};
    for (const row of database.prepare('SELECT channel, ts, latest_reply, reply_count FROM threads').iterate() as Iterable<{
      channel: string;
      ts: string;
      latest_reply: string | null;
      reply_count: number;
    }>) {
      (threads[row.channel] ??= {})[row.ts] = { latestReply: row.latest_reply, replyCount: row.reply_count };
    }
    const channels: StateData['channels'] = {};
    for (const row of database.prepare('SELECT channel, newest_ts FROM channels').iterate() as Iterable<{
      channel: string;
      newest_ts: string | null;
    }>) {
      channels[row.channel] = { newestTs: row.newest_ts };
    }
    return {
      format: stateFormat,
      version: stateVersion,
      team: this.teamValue,
      savedAt: new Date().toISOString(),
      documents,
      replies,
      threads,
      channels,
      run: this.runValue,
      lastOutput: this.lastOutput,
    };
  }

  /** True when no document was ever committed (a first run emits everything, like a run without state). */
  isEmpty(): boolean {
    return this.sql().anyDocument.get() === undefined;
  }

  /** Content hash of a committed document (dedupe's "seen before"). */
  get(id: string): string | undefined {
    const row = this.sql().getHash.get(id) as { hash: string } | undefined;
    return row?.hash;
  }

  /** How a thread was when its replies were last read completely. */
  storedThread(channelId: string, threadTs: string): ThreadState | undefined {
    const row = this.sql().getThread.get(channelId, threadTs) as { latest_reply: string | null; reply_count: number } | undefined;
    return row ? { latestReply: row.latest_reply, replyCount: row.reply_count } : undefined;
  }

  /** Messages of this run's channel read (for tombstones): their ids, and the thread parents with how they were handled. */
  noteRead(ids: readonly string[], threads: ReadonlyArray<{ channel: string; ts: string; state: ThreadState; read: boolean }>): void {
    const sql = this.sql();
    this.db().transaction(() => {
      for (const id of ids) sql.insertSeen.run(id);
      for (const thread of threads)
        sql.insertReadThread.run(thread.channel, thread.ts, thread.state.latestReply, thread.state.replyCount, thread.read ? 1 : 0);
    })();
  }

  /** Whether this run saw the thread parent and left its replies unread because it had not changed. */
  threadLeftUnread(channelId: string, threadTs: string): boolean {
    return (this.sql().getReadThread.get(channelId, threadTs) as { was_read: number } | undefined)?.was_read === 0;
  }

  /** Committed messages of a channel (ids after `afterId`, in id order) that this run did not see: at most `limit`. */
  missingMessages(channelId: string, afterId: string, limit: number): MissingMessage[] {
    const low = afterId > `${channelId}-` ? afterId : `${channelId}-`;
    const rows = this.sql().missing.all(low, `${channelId}.`, limit) as Array<{ id: string; thread_ts: string | null }>;
    return rows.map((row) => ({ id: row.id, threadTs: row.thread_ts }));
  }

  /** Forgets which messages of a channel this run saw (after its tombstones were decided). */
  forgetSeen(channelId: string): void {
    this.sql().deleteSeen.run(`${channelId}-`, `${channelId}.`);
  }

  /**
   * A channel was read completely and every document of it has passed `track()`: once those are committed, its
   * checkpoint (newest ts, its threads if they were read) is recorded and a resumed run skips it.
   */
  channelDone(channelId: string, newestTs: string | null, threadsRead: boolean): void {
    this.buffer.push({ kind: 'channel', position: this.tracked, channel: channelId, newestTs, threadsRead });
  }

  /** Channels the unfinished run recorded in this state has already read and committed. */
  finishedChannelsOfRun(): string[] {
    if (!this.database) return [];
    return (this.sql().runChannels.all() as Array<{ channel: string }>).map((row) => row.channel);
  }

  /**
   * A pass-through stage to put right before the sink: it remembers each document (in order) until `commit` says
   * the sink has written it durably. Documents only enter the state once committed.
   */
  track(): Stage<AnyDocument, AnyDocument> {
    const store = this;
    return defineStage('state', async function* trackForState(documents: AsyncIterable<AnyDocument>) {
      for await (const document of documents) {
        store.tracked++;
        if (document.type === 'tombstone')
          store.buffer.push({ kind: 'document', position: store.tracked, id: document._id, hash: null, threadTs: null });
        else {
          const isReply =
            document.type === 'message' &&
            document.thread_ts !== null &&
            document.thread_ts !== document.ts &&
            document.subtype !== 'thread_broadcast';
          store.buffer.push({
            kind: 'document',
            position: store.tracked,
            id: document._id,
            hash: document.content_hash ?? contentHash(document),
            threadTs: isReply ? document.thread_ts! : null,
          });
        }
        if (store.buffer.length >= pendingBatch) store.flushPending();
        yield document;
      }
    });
  }

  /** The first `count` more tracked documents (default: all) are durably in the sink: the next `save()` records them. */
  commit(count: number = this.tracked - this.committable): void {
    this.committable = Math.min(this.tracked, this.committable + count);
  }

  /**
   * One transaction: the committed documents (and the channels they complete), the team and the run. Its cost is
   * proportional to what changed since the last save, never to the size of the state.
   */
  async save(): Promise<void> {
    this.apply();
  }

  private apply(): void {
    const database = this.db();
    this.flushPending();
    const sql = this.sql();
    const limit = this.committable;
    database.transaction(() => {
      // In chunks: a statement being iterated cannot run beside the writes.
      for (let after = 0; ;) {
        const rows = sql.pendingChunk.all(limit, after, 4096) as Array<Record<string, any>>;
        if (rows.length === 0) break;
        after = Number(rows.at(-1)!.seq);
        for (const row of rows) {
          if (row.channel !== null) {
            const channel = String(row.channel);
            sql.setChannel.run(channel, row.newest_ts);
            if (row.threads_read === 1) {
              sql.deleteThreads.run(channel);
              sql.copyThreads.run(channel);
            }
            sql.deleteReadThreads.run(channel);
            if (this.runValue) sql.addRunChannel.run(channel);
          } else if (row.hash === null) sql.deleteDocument.run(row.id);
          else sql.putDocument.run(row.id, row.hash, row.thread_ts);
        }
      }
      sql.deletePendingUpTo.run(limit);
      if (!this.runValue) sql.clearRunChannels.run();
      sql.setMeta.run('team', JSON.stringify(this.teamValue));
      sql.setMeta.run('run', JSON.stringify(this.runValue));
      sql.setMeta.run('lastOutput', JSON.stringify(this.lastOutput));
      sql.setMeta.run('savedAt', new Date().toISOString());
    })();
  }

  /** Releases the database (and its lock). The store cannot be used afterwards. */
  close(): void {
    // At rest the state is one file (no -wal beside it), readable by any SQLite tool without leaving files behind.
    try {
      this.database?.pragma('journal_mode = DELETE');
    } catch {
      // still a valid WAL database; the next open recovers it
    }
    this.database?.close();
    this.database = null;
    this.statements = null;
  }

  private flushPending(): void {
    if (this.buffer.length === 0) return;
    const rows = this.buffer;
    this.buffer = [];
    const sql = this.sql();
    this.db().transaction(() => {
      for (const row of rows) {
        if (row.kind === 'document') sql.insertPending.run(row.position, row.id, row.hash, row.threadTs, null, null, null);
        else sql.insertPending.run(row.position, null, null, null, row.channel, row.newestTs, row.threadsRead ? 1 : 0);
      }
    })();
  }

  private sql(): NonNullable<StateStore['statements']> {
    this.db();
    return this.statements!;
  }

  /** The database, created (or migrated from version 1) on first use. */
  private db(): Database.Database {
    if (this.database) return this.database;
    this.database = this.migrating
      ? this.migrate(this.migrating)
      : this.inMemory
        ? this.initialize(new Database(':memory:'))
        : this.create();
    this.migrating = null;
    this.attach(this.database);
    return this.database;
  }

  private attach(database: Database.Database): void {
    database.exec(scratch);
    this.statements = this.prepare(database);
  }

  private prepare(database: Database.Database) {
    return {
      getHash: database.prepare('SELECT hash FROM documents WHERE id = ?'),
      anyDocument: database.prepare('SELECT 1 FROM documents LIMIT 1'),
      getThread: database.prepare('SELECT latest_reply, reply_count FROM threads WHERE channel = ? AND ts = ?'),
      insertSeen: database.prepare('INSERT OR IGNORE INTO temp.seen (id) VALUES (?)'),
      insertReadThread: database.prepare(
        'INSERT OR REPLACE INTO temp.read_threads (channel, ts, latest_reply, reply_count, was_read) VALUES (?, ?, ?, ?, ?)',
      ),
      getReadThread: database.prepare('SELECT was_read FROM temp.read_threads WHERE channel = ? AND ts = ?'),
      missing: database.prepare(
        'SELECT id, thread_ts FROM documents WHERE id > ? AND id < ? AND id NOT IN (SELECT id FROM temp.seen) ORDER BY id LIMIT ?',
      ),
      deleteSeen: database.prepare('DELETE FROM temp.seen WHERE id > ? AND id < ?'),
      runChannels: database.prepare('SELECT channel FROM run_channels'),
      insertPending: database.prepare(
        'INSERT INTO temp.pending (position, id, hash, thread_ts, channel, newest_ts, threads_read) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      pendingChunk: database.prepare(
        'SELECT seq, id, hash, thread_ts, channel, newest_ts, threads_read FROM temp.pending WHERE position <= ? AND seq > ? ORDER BY seq LIMIT ?',
      ),
      deletePendingUpTo: database.prepare('DELETE FROM temp.pending WHERE position <= ?'),
      setChannel: database.prepare('INSERT OR REPLACE INTO channels (channel, newest_ts) VALUES (?, ?)'),
      deleteThreads: database.prepare('DELETE FROM threads WHERE channel = ?'),
      copyThreads: database.prepare(
        'INSERT INTO threads (channel, ts, latest_reply, reply_count) SELECT channel, ts, latest_reply, reply_count FROM temp.read_threads WHERE channel = ?',
      ),
      deleteReadThreads: database.prepare('DELETE FROM temp.read_threads WHERE channel = ?'),
      addRunChannel: database.prepare('INSERT OR IGNORE INTO run_channels (channel) VALUES (?)'),
      clearRunChannels: database.prepare('DELETE FROM run_channels'),
      deleteDocument: database.prepare('DELETE FROM documents WHERE id = ?'),
      putDocument: database.prepare('INSERT OR REPLACE INTO documents (id, hash, thread_ts) VALUES (?, ?, ?)'),
      setMeta: database.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    };
  }

  /** A new state file: created 0600 exclusively, then opened (and locked) as SQLite. */
  private create(): Database.Database {
    try {
      createPrivate(this.path);
    } catch (error) {
      if ((error as { code?: string }).code === 'EEXIST') throw lockedError(this.path);
      throw new ConfigError('state_unwritable', `cannot create the state file ${this.path}: ${(error as Error).message}`, {
        hint: 'check the directory and its permissions',
      });
    }
    return this.initialize(openDatabase(this.path));
  }

  private initialize(database: Database.Database): Database.Database {
    database.exec(schema);
    const put = database.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
    database.transaction(() => {
      put.run('format', stateFormat);
      put.run('version', String(storeVersion));
      put.run('team', JSON.stringify(this.teamValue));
      put.run('run', JSON.stringify(this.runValue));
      put.run('savedAt', new Date().toISOString());
    })();
    return database;
  }

  /**
   * Version 1 → SQLite: written beside the JSON file under a temporary name, then renamed over it, so a crash leaves
   * the old file or the complete new one.
   */
  private migrate(data: StateData): Database.Database {
    const target = resolve(this.path);
    const temporary = join(dirname(target), `.${basename(target)}.${process.pid}.${hostname()}.migrating`);
    rmSync(temporary, { force: true });
    createPrivate(temporary);
    try {
      const database = new Database(temporary, { fileMustExist: true });
      database.pragma('journal_mode = DELETE');
      database.exec(schema);
      database.transaction(() => {
        const meta = database.prepare('INSERT INTO meta (key, value) VALUES (?, ?)');
        meta.run('format', stateFormat);
        meta.run('version', String(storeVersion));
        meta.run('team', JSON.stringify(this.teamValue));
        meta.run('run', JSON.stringify(data.run));
        meta.run('savedAt', data.savedAt);
        meta.run('migratedFrom', '1');
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
      const descriptor = openSync(temporary, constants.O_RDONLY);
      fsyncSync(descriptor);
      closeSync(descriptor);
      renameSync(temporary, target);
      fsyncDirectory(target);
    } catch (error) {
      rmSync(temporary, { force: true });
      throw error;
    }
    return openDatabase(this.path);
  }
}

/** Opens (or starts) the state at `path`. */
export const createStateStore = (path: string): Promise<StateStore> => StateStore.open(path);
