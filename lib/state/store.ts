// StateStore: the incremental state in SQLite — what dedupe has seen, what the source needs, what the sink committed.

import Database from 'better-sqlite3';
import { contentHash } from '../content-hash.js';
import type { AnyDocument } from '../documents.js';
import { defineStage, type Stage } from '../stage.js';
import type { SeenStore } from '../transforms/dedupe.js';
import {
  createStateFile,
  invalidState,
  migrateStateFile,
  openDatabase,
  prepareStatements,
  probe,
  readMeta,
  readText,
  initialize,
  type Statements,
} from './sqlite.js';
import { ConfigError } from '../errors.js';
import { parseState, stateFormat, stateVersion, type OutputRecord, type RunState, type StateData, type ThreadState } from './state-file.js';

export type { RunState, ThreadState } from './state-file.js';
export { storeVersion } from './sqlite.js';

/** Tracked documents are written to the pending table in batches of this size. */
const pendingBatch = 1000;

/** One row of the pending queue: a document on its way to the sink, or the end of a channel read completely. */
type PendingRow =
  | { kind: 'document'; position: number; id: string; hash: string | null; threadTs: string | null }
  | { kind: 'channel'; position: number; channel: string; newestTs: string | null; threadsRead: boolean };

/** A stored message that Slack did not return in this run (a tombstone candidate). */
export interface MissingMessage {
  id: string;
  threadTs: string | null;
}

const emptyState = (): StateData => ({
  format: stateFormat,
  version: stateVersion,
  team: null,
  savedAt: new Date().toISOString(),
  documents: {},
  replies: {},
  threads: {},
  channels: {},
  run: null,
});

const isReply = (document: AnyDocument): boolean =>
  document.type === 'message' &&
  document.thread_ts !== null &&
  document.thread_ts !== document.ts &&
  document.subtype !== 'thread_broadcast';

export class StateStore implements SeenStore {
  readonly path: string;
  private database: Database.Database | null;
  /** A version-1 JSON state read on open, written as SQLite once the run knows its team (a foreign team leaves it as is). */
  private migrating: StateData | null;
  private teamValue: StateData['team'] = null;
  private runValue: RunState | null = null;
  /** The file the last finished export wrote (null: none, or stdout). Written by the next `save()`. */
  lastOutput: OutputRecord | null = null;
  private statements: Statements | null = null;
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
    if (kind === 'text') return new StateStore(path, null, parseState(readText(path), path));
    let database: Database.Database;
    try {
      database = openDatabase(path);
    } catch (error) {
      if (error instanceof ConfigError) throw error;
      throw invalidState(path, `SQLite cannot open it (${(error as Error).message})`);
    }
    try {
      const meta = readMeta(database, path);
      const store = new StateStore(path, database, null);
      store.teamValue = JSON.parse(meta.get('team') ?? 'null') as StateData['team'];
      store.runValue = JSON.parse(meta.get('run') ?? 'null') as RunState | null;
      store.lastOutput = JSON.parse(meta.get('lastOutput') ?? 'null') as OutputRecord | null;
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

  /**
   * Refuses the state of another Slack team; adopts the team on a first run (`id` null: a source without a team, e.g.
   * an archive). Then the state file exists: created, or migrated from version 1, here — never before the team is known.
   */
  async bindTeam(team: { id: string | null; url: string | null }): Promise<void> {
    if (team.id !== null && this.teamValue !== null && this.teamValue.id !== team.id) {
      throw new ConfigError(
        'state_foreign',
        `the state file ${this.path} belongs to Slack team ${this.teamValue.id}${this.teamValue.url ? ` (${this.teamValue.url})` : ''}, ` +
          `but the token is for team ${team.id}`,
        { hint: 'use a separate --state file per workspace; the file was left untouched' },
      );
    }
    if (this.teamValue === null && team.id !== null) this.teamValue = { id: team.id, url: team.url };
    if (this.database || this.inMemory) return;
    const meta = { team: JSON.stringify(this.teamValue), run: JSON.stringify(this.runValue), savedAt: new Date().toISOString() };
    const database = this.migrating ? await migrateStateFile(this.path, this.migrating, meta) : await createStateFile(this.path, meta);
    this.migrating = null;
    this.database = database;
    this.attach(database);
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
    if (!this.bound) return { ...(this.migrating ?? emptyState()), team: this.teamValue, run: this.runValue, lastOutput: this.lastOutput };
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
    if (!this.bound) return Object.keys(this.migrating?.documents ?? {}).length === 0;
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
    return defineStage('state', (documents: AsyncIterable<AnyDocument>) => this.tracking(documents));
  }

  private async *tracking(documents: AsyncIterable<AnyDocument>): AsyncGenerator<AnyDocument> {
    for await (const document of documents) {
      this.tracked++;
      const tombstone = document.type === 'tombstone';
      this.buffer.push({
        kind: 'document',
        position: this.tracked,
        id: document._id,
        hash: tombstone ? null : (document.content_hash ?? contentHash(document)),
        threadTs: !tombstone && isReply(document) ? (document as { thread_ts: string }).thread_ts : null,
      });
      if (this.buffer.length >= pendingBatch) this.flushPending();
      yield document;
    }
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
    // Not bound yet: nothing can have been tracked, and a missing file stays missing.
    if (this.bound) this.apply();
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

  /** Whether the database exists (opened, created, migrated, or in memory). */
  private get bound(): boolean {
    return this.database !== null || this.inMemory;
  }

  private sql(): Statements {
    this.db();
    return this.statements!;
  }

  /** The database: opened by `open`, made by `bindTeam` (or in memory); a missing file is never written before that. */
  private db(): Database.Database {
    if (this.database) return this.database;
    if (!this.inMemory) throw new Error(`the state ${this.path} is used before bindTeam()`);
    this.database = initialize(new Database(':memory:'), { team: JSON.stringify(this.teamValue), run: 'null', savedAt: '' });
    this.attach(this.database);
    return this.database;
  }

  private attach(database: Database.Database): void {
    this.statements = prepareStatements(database);
  }
}

/** Opens (or starts) the state at `path`. */
export const createStateStore = (path: string): Promise<StateStore> => StateStore.open(path);
