// Incremental decisions against the state: which threads to re-read, which stored messages became tombstones,
// and the channel checkpoint. The ids a run saw go to the state store (on disk), never into memory.

import { compareTs, toSlackBoundary, type MessageDocument, type TombstoneDocument } from '../../documents.js';
import type { StateStore, ThreadState } from '../../state/store.js';
import type { SourceContext } from './context.js';

/** Tombstone candidates are looked up this many at a time. */
const tombstoneBatch = 1000;

export const isThreadParent = (message: Record<string, any>): boolean =>
  Number(message.reply_count ?? 0) > 0 && (!message.thread_ts || message.thread_ts === message.ts);

export const threadStateOf = (parent: Record<string, any>): ThreadState => ({
  latestReply: typeof parent.latest_reply === 'string' ? parent.latest_reply : null,
  replyCount: Number(parent.reply_count ?? 0),
});

export class IncrementalDecisions {
  private readonly state: StateStore;
  private readonly activeSince: string;
  private readonly runTimestamp: string;

  constructor(
    private readonly context: SourceContext & { state: StateStore },
    options: { nowSeconds: number; activeThreadDays: number },
  ) {
    this.state = context.state;
    this.activeSince = toSlackBoundary(options.nowSeconds - options.activeThreadDays * 86_400);
    this.runTimestamp = new Date(options.nowSeconds * 1000).toISOString();
  }

  /**
   * A thread's replies are read when it is new to the state, moved, or recently active (Slack does not move
   * `latest_reply` on a reply edit).
   */
  threadNeedsReading(channelId: string, parent: Record<string, any>): boolean {
    const stored = this.state.storedThread(channelId, String(parent.ts));
    if (!stored) return true;
    const { latestReply, replyCount } = threadStateOf(parent);
    if (stored.latestReply !== latestReply || stored.replyCount !== replyCount) return true;
    return latestReply !== null && compareTs(latestReply, this.activeSince) >= 0;
  }

  /** Records what a history page (or a thread's replies) showed: message ids, and its thread parents with whether they are read. */
  noteRead(
    channelId: string,
    messages: readonly MessageDocument[],
    parents: ReadonlyArray<{ ts: string; state: ThreadState; read: boolean }> = [],
  ): void {
    this.state.noteRead(
      messages.map((message) => message._id),
      parents.map((parent) => ({ channel: channelId, ...parent })),
    );
  }

  /**
   * Stored messages of a channel read completely that Slack no longer has, in batches. A stored reply counts only when
   * its thread was re-read or its parent (inside the window) is gone or has no replies left; a thread skipped as
   * unchanged is not looked at, and neither is anything whose message (or parent) is outside the window.
   */
  async *tombstones(channelId: string): AsyncGenerator<TombstoneDocument[]> {
    const { oldest, latest } = this.context;
    let after = '';
    for (;;) {
      const missing = this.state.missingMessages(channelId, after, tombstoneBatch);
      if (missing.length === 0) break;
      after = missing.at(-1)!.id;
      const batch: TombstoneDocument[] = [];
      for (const { id, threadTs } of missing) {
        const ts = id.slice(channelId.length + 1);
        const anchorTs = threadTs ?? ts;
        if (threadTs !== null && this.state.threadLeftUnread(channelId, threadTs)) continue;
        if (oldest !== null && compareTs(anchorTs, oldest) < 0) continue;
        if (latest !== null && compareTs(anchorTs, latest) > 0) continue;
        batch.push({ _id: id, id, type: 'tombstone', deleted_type: 'message', channel_id: channelId, ts, _timestamp: this.runTimestamp });
      }
      this.context.counters.tombstones += batch.length;
      if (batch.length > 0) yield batch;
    }
    this.state.forgetSeen(channelId);
  }

  /** Every document of the channel has been handed on: its checkpoint follows them into the state. */
  channelDone(channelId: string, newestTs: string | null): void {
    // Without replies read, the stored thread checkpoints stay: a later run with threads must still read them.
    this.state.channelDone(channelId, newestTs, this.context.threads);
  }
}
