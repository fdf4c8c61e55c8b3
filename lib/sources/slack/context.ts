// What every per-entity Slack stream shares: the client, the run's window and counters.

import type { Logger } from '../../log.js';
import type { ProgressListener } from '../../progress.js';
import type { StateStore } from '../../state/store.js';
import { SlackApiError, type SlackApiClient } from './client.js';

/** Largest page sizes Slack accepts, for the fewest calls. */
export const pageSizes = { list: 999, history: 999, replies: 1000 } as const;

/** "This channel cannot be read by us" (error-policy.ts): skip it with a warning, never fail the run. */
export const skipsChannel = (error: unknown): error is SlackApiError => error instanceof SlackApiError && error.action === 'skip-channel';

export interface SourceCounters {
  channelsRead: number;
  channelsSkipped: number;
  channelsJoined: number;
  threadsRead: number;
  /** Incremental runs: threads whose replies were not read because they had not changed. */
  threadsUnchanged: number;
  /** Messages skipped because they cannot become documents (no usable ts, hostile nesting); each one is warned about. */
  messagesSkipped: number;
  tombstones: number;
}

export interface SourceContext {
  client: SlackApiClient;
  logger: Logger;
  /** Window boundaries as Slack `ts` strings; null = unbounded. */
  oldest: string | null;
  latest: string | null;
  /** Read thread replies at all. */
  threads: boolean;
  /** Replies of one channel's threads in flight (and buffered) at once. */
  threadConcurrency: number;
  autoJoinChannels: boolean;
  state: StateStore | undefined;
  counters: SourceCounters;
  /** Ends every stream of the run (the consumer left, or the caller aborted). */
  signal: AbortSignal;
  teamUrl: string | null;
  /** Puts the Slack object on its document (formats that write Slack's own objects), or nothing. */
  progress: ProgressListener | undefined;
  keep: <T extends object>(document: T, raw: Record<string, any>) => T;
}
