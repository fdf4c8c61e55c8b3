// StateStore: the incremental state in memory — the "seen" map for dedupe, what the source needs, and what the sink committed.

import { contentHash } from '../content-hash.js';
import { ConfigError } from '../errors.js';
import type { AnyDocument } from '../documents.js';
import type { Stage } from '../stage.js';
import type { SeenStore } from '../transforms/dedupe.js';
import { emptyState, readStateFile, writeStateFile, type OutputRecord, type RunState, type StateData, type ThreadState } from './state-file.js';

/** What one channel read completely tells the next run (see SlackSource.incrementalReport). */
export interface ChannelCheckpoint {
  newestTs: string | null;
  /** Threads of the channel's window as now read; null keeps the stored ones (replies were not read). */
  threads: Record<string, ThreadState> | null;
}

/** One document on its way to the sink, remembered until the sink says it is durably written. */
interface PendingEntry {
  id: string;
  /** null for a tombstone: the id leaves the state. */
  hash: string | null;
  /** Set for a thread reply (not a broadcast). */
  threadTs: string | undefined;
}

const channelOfMessageId = (id: string): string | undefined => {
  const dash = id.indexOf('-');
  return dash > 0 ? id.slice(0, dash) : undefined;
};

export class StateStore implements SeenStore {
  readonly path: string;
  /** `_id` → `content_hash` of every committed document. */
  readonly documents: Map<string, string>;
  /** Committed reply `_id` → `thread_ts`. */
  readonly replies: Map<string, string>;
  team: StateData['team'];
  run: RunState | null;
  /** The file the last finished export wrote (null: none, or stdout). */
  lastOutput: OutputRecord | null;
  private threads: StateData['threads'];
  private channels: StateData['channels'];
  private pending: PendingEntry[] = [];
  private messageIndex: Map<string, string[]> | null = null;

  private constructor(path: string, data: StateData) {
    this.path = path;
    this.documents = new Map(Object.entries(data.documents));
    this.replies = new Map(Object.entries(data.replies));
    this.team = data.team;
    this.run = data.run;
    this.lastOutput = data.lastOutput ?? null;
    this.threads = data.threads;
    this.channels = data.channels;
  }

  /** An empty state that lives only in memory (a Singer run without --state still reports its STATE). */
  static empty(): StateStore {
    return new StateStore('(in memory)', emptyState());
  }

  /** Loads `path` (a missing file is an empty state). A corrupt or unknown file is a ConfigError and is never written. */
  static async open(path: string): Promise<StateStore> {
    return new StateStore(path, (await readStateFile(path)) ?? emptyState());
  }

  get(id: string): string | undefined {
    return this.documents.get(id);
  }

  /** Refuses the state of another Slack team; adopts the team on a first run. */
  bindTeam(team: { id: string; url: string | null }): void {
    if (this.team === null) {
      this.team = { id: team.id, url: team.url };
      return;
    }
    if (this.team.id !== team.id) {
      throw new ConfigError('state_foreign', `the state file ${this.path} belongs to Slack team ${this.team.id}${this.team.url ? ` (${this.team.url})` : ''}, but the token is for team ${team.id}`, {
        hint: 'use a separate --state file per workspace; the file was left untouched',
      });
    }
  }

  threadsOf(channelId: string): Record<string, ThreadState> | undefined {
    return this.threads[channelId];
  }

  /** Message ids stored for a channel, as they were when first asked (before this run changed anything). */
  messageIdsOf(channelId: string): readonly string[] {
    if (this.messageIndex === null) {
      this.messageIndex = new Map();
      for (const id of this.documents.keys()) {
        const channel = channelOfMessageId(id);
        if (channel === undefined) continue;
        const list = this.messageIndex.get(channel);
        if (list) list.push(id);
        else this.messageIndex.set(channel, [id]);
      }
    }
    return this.messageIndex.get(channelId) ?? [];
  }

  /**
   * A pass-through stage to put right before the sink: it remembers each document (in order) until `commit` says
   * the sink has written it durably. Documents only enter the state once committed.
   */
  track(): Stage<AnyDocument, AnyDocument> {
    const pending = this.pending;
    const stage: Stage<AnyDocument, AnyDocument> = async function* trackForState(documents) {
      for await (const document of documents) {
        if (document.type === 'tombstone') pending.push({ id: document._id, hash: null, threadTs: undefined });
        else {
          const isReply = document.type === 'message' && document.thread_ts !== null && document.thread_ts !== document.ts && document.subtype !== 'thread_broadcast';
          pending.push({ id: document._id, hash: document.content_hash ?? contentHash(document), threadTs: isReply ? document.thread_ts! : undefined });
        }
        yield document;
      }
    };
    stage.stageName = 'state';
    return stage;
  }

  /** The first `count` tracked documents (default: all) are durably in the sink: record them. */
  commit(count: number = this.pending.length): void {
    const entries = this.pending.splice(0, Math.min(count, this.pending.length));
    for (const entry of entries) {
      if (entry.hash === null) {
        this.documents.delete(entry.id);
        this.replies.delete(entry.id);
        continue;
      }
      this.documents.set(entry.id, entry.hash);
      if (entry.threadTs !== undefined) this.replies.set(entry.id, entry.threadTs);
    }
  }

  /** Thread and channel checkpoints of the channels a finished run read completely. Only call once everything is committed. */
  recordChannels(checkpoints: Record<string, ChannelCheckpoint>): void {
    for (const [channelId, checkpoint] of Object.entries(checkpoints)) {
      this.channels[channelId] = { newestTs: checkpoint.newestTs };
      if (checkpoint.threads !== null) this.threads[channelId] = checkpoint.threads;
    }
  }

  toJSON(): StateData {
    return {
      format: 'slack-etl-state',
      version: 1,
      team: this.team,
      savedAt: new Date().toISOString(),
      documents: Object.fromEntries(this.documents),
      replies: Object.fromEntries(this.replies),
      threads: this.threads,
      channels: this.channels,
      run: this.run,
      lastOutput: this.lastOutput,
    };
  }

  /** Atomic save (temp file, fsync, rename). */
  async save(): Promise<void> {
    await writeStateFile(this.path, this.toJSON());
  }
}

/** Opens (or starts) the state file at `path`. */
export const createStateStore = (path: string): Promise<StateStore> => StateStore.open(path);
