// Run progress the source feeds (channels selected, done, being read; replies Slack announced) and displays read.

/** What a source reports as it goes; every method is optional so a source calls only what it knows. */
export interface ProgressListener {
  /** Channels this run will read (after selection, membership and resume skipping). */
  channelsSelected?(count: number): void;
  /** Resume: channels a previous, interrupted run already finished and this run skips. */
  channelsAlreadyDone?(count: number): void;
  channelStarted?(id: string, name: string): void;
  channelFinished?(id: string, name: string): void;
  /** Top-level messages read from history. */
  messagesRead?(count: number): void;
  /** Replies Slack announced (`reply_count` of thread parents whose replies will be read). */
  repliesExpected?(count: number): void;
  repliesRead?(count: number): void;
}

export interface ProgressSnapshot {
  channelsSelected: number | null;
  channelsAlreadyDone: number;
  channelsDone: number;
  /** Names of the channels being read now. */
  reading: string[];
  messagesRead: number;
  repliesExpected: number;
  repliesRead: number;
}

/** The counters behind a progress display: a ProgressListener that keeps what it is told. */
export class RunProgress implements Required<ProgressListener> {
  private selected: number | null = null;
  private alreadyDone = 0;
  private done = 0;
  private readonly active = new Map<string, string>();
  private messages = 0;
  private repliesAnnounced = 0;
  private replies = 0;

  channelsSelected(count: number): void {
    this.selected = count;
  }
  channelsAlreadyDone(count: number): void {
    this.alreadyDone = count;
  }
  channelStarted(id: string, name: string): void {
    this.active.set(id, name);
  }
  channelFinished(id: string): void {
    if (this.active.delete(id)) this.done++;
  }
  messagesRead(count: number): void {
    this.messages += count;
  }
  repliesExpected(count: number): void {
    this.repliesAnnounced += count;
  }
  repliesRead(count: number): void {
    this.replies += count;
  }

  snapshot(): ProgressSnapshot {
    return {
      channelsSelected: this.selected,
      channelsAlreadyDone: this.alreadyDone,
      channelsDone: this.done,
      reading: [...this.active.values()],
      messagesRead: this.messages,
      repliesExpected: this.repliesAnnounced,
      repliesRead: this.replies,
    };
  }
}
