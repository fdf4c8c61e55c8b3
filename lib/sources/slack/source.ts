// slackSource(): users, channels, messages and thread replies of a workspace as one async iterable of documents.

import { compareTs, toSlackBoundary, type AnyDocument, type MessageDocument, type TombstoneDocument } from '../../documents.js';
import { silentLogger, type Logger } from '../../log.js';
import type { ComponentStats, Source, SourceReport } from '../../stage.js';
import { SlackApiClient, SlackApiError, type SlackClientOptions } from './client.js';
import { missingScopeError } from './error-policy.js';
import { runPool, Semaphore } from './concurrency.js';
import { conversationName, conversationTitle, MalformedMessageError, toChannelDocument, toMessageDocument, toUserDocument } from './to-documents.js';
import type { TierRates } from './pacer.js';
import { resolveWindow, type MessageWindow, type WindowBoundary } from './window.js';
import type { ProgressListener } from '../../progress.js';
import { channelSelection, channelTypes, checkChannelSelection, isMember, slackTypeNames, type ChannelType } from './selection.js';
import type { ChannelCheckpoint, StateStore } from '../../state/store.js';
import type { ThreadState } from '../../state/state-file.js';
import { attachSlackObject } from '../../slack-raw.js';

export { channelTypes, type ChannelType } from './selection.js';
/** Scopes a bot token needs per conversation type: [list, read history]. */
const scopesByType: Record<ChannelType, [string, string]> = {
  public: ['channels:read', 'channels:history'],
  private: ['groups:read', 'groups:history'],
  im: ['im:read', 'im:history'],
  mpim: ['mpim:read', 'mpim:history'],
};
/** "This channel cannot be read by us" (error-policy.ts): skip it with a warning, never fail the run. */
const skipsChannel = (error: unknown): error is SlackApiError => error instanceof SlackApiError && error.action === 'skip-channel';

/** Largest page sizes Slack accepts, for the fewest calls. */
export const pageSizes = { list: 999, history: 999, replies: 1000 } as const;

export interface SlackSourceOptions extends Omit<SlackClientOptions, 'token'> {
  token: string;
  /** Days of history to read (Elastic `fetch_last_n_days`); 0 = all history. Default 180. Ignored with `since`/`until`. */
  fetchLastNDays?: number;
  /** Oldest message time, inclusive: ISO date or date-time, a duration back from `now` (`P30D`, `30d`), a Date or epoch ms. */
  since?: WindowBoundary;
  /** Newest message time, exclusive; same forms as `since`. */
  until?: WindowBoundary;
  /** IANA zone for dates without an offset and for calendar-day durations. Default the system zone. */
  timeZone?: string;
  /** Join public channels the bot is not in (Elastic `auto_join_channels`). Default false. */
  autoJoinChannels?: boolean;
  /** Emit user documents (Elastic `sync_users`). Users are always listed. Default true. */
  syncUsers?: boolean;
  /** Read the replies of every thread whose parent is in the window. Default true. */
  threads?: boolean;
  /** Conversation types to read. Default public only. */
  channelTypes?: ChannelType[];
  /** Only these channels (names or ids). */
  channels?: string[];
  /** Never these channels (names or ids); wins over `channels`. */
  excludeChannels?: string[];
  /** Channels read at once. Default 4. */
  concurrency?: number;
  /** Thread reply fetches in flight per channel. Default 4. */
  threadConcurrency?: number;
  tierRates?: TierRates;
  /** The run's "now" (ms since epoch) for the window; default the current time. */
  now?: number;
  /** Use this client instead of building one (shares pacing with other users of it). */
  client?: SlackApiClient;
  logger?: Logger;
  /**
   * Incremental run: re-read each channel's window history, read replies only of threads that changed, are new, or
   * had a reply within `activeThreadDays`, and emit tombstones for stored messages that disappeared.
   */
  state?: StateStore;
  /** Told what the run is reading as it goes (channels selected, started, finished; replies announced), for progress displays. */
  progress?: ProgressListener;
  /** Threads with a reply this recent are always re-read (Slack does not move `latest_reply` on a reply edit). Default 30. */
  activeThreadDays?: number;
  /** Carry each document's Slack object (see slack-raw.ts) for formats that write Slack's own objects. Default false. */
  keepSlackObjects?: boolean;
}

export interface SlackSourceStats extends ComponentStats {
  channelsRead: number;
  channelsSkipped: number;
  channelsJoined: number;
  threadsRead: number;
  /** Incremental runs: threads whose replies were not read because they had not changed. */
  threadsUnchanged: number;
  /** Messages skipped because they cannot become documents (no usable ts, hostile nesting); each one is warned about. */
  messagesSkipped: number;
  tombstones: number;
  api: ReturnType<SlackApiClient['stats']>;
}

export interface SlackSource extends Source<AnyDocument> {
  readonly client: SlackApiClient;
  /** The effective message window (from `since`/`until` or `fetchLastNDays`). */
  readonly window: MessageWindow;
  /** users.info for an id missing from users.list (external or new users); null when Slack does not know it. */
  lookupUser(userId: string): Promise<({ id: string } & Record<string, any>) | null>;
  /** bots.info for a bot message that carries no name, once per bot id; null when Slack does not know it. */
  lookupBot(botId: string): Promise<{ id: string; name?: string; user_id?: string } | null>;
  /**
   * The name of a conversation in a `#channel` mention, whatever the selection: from every conversation listed,
   * else conversations.info (once per id); null when the token cannot see it.
   */
  lookupChannel(channelId: string): Promise<{ id: string; name: string } | null>;
  /** The three lookups, bound, as the enrich stage takes them: `enrich({ ...source.lookups })`. */
  readonly lookups: {
    lookupUser: SlackSource['lookupUser'];
    lookupBot: SlackSource['lookupBot'];
    lookupChannel: SlackSource['lookupChannel'];
  };
  stats(): SlackSourceStats;
  report(): SourceReport;
  /** auth.test, once per source (the run uses the same answer): fails fast on a bad token. */
  team(): Promise<Team>;
  /** Per channel read completely: what the next incremental run needs (newest ts, threads as read). */
  incrementalReport(): Record<string, ChannelCheckpoint>;
}

export interface Team {
  id: string | null;
  url: string | null;
  userId: string | null;
}

export function slackSource(options: SlackSourceOptions): SlackSource {
  const logger = options.logger ?? silentLogger;
  const client = options.client ?? new SlackApiClient({ ...options, logger });
  const types = options.channelTypes ?? ['public'];
  const selection = channelSelection(options);
  const progress = options.progress;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  const window = resolveWindow({ ...options, now: nowSeconds * 1000 });
  const { oldest, latest } = window;
  const keep: <T extends object>(document: T, raw: Record<string, any>) => T = options.keepSlackObjects ? attachSlackObject : (document) => document;

  const counters = { channelsRead: 0, channelsSkipped: 0, channelsJoined: 0, threadsRead: 0, threadsUnchanged: 0, tombstones: 0, messagesSkipped: 0 };
  /** Names of every conversation conversations.list gave (selected or not), then conversations.info answers. */
  const conversationNames = new Map<string, Promise<{ id: string; name: string } | null>>();
  const botAnswers = new Map<string, Promise<{ id: string; name?: string; user_id?: string } | null>>();
  const state = options.state;
  // A run from an empty state emits every document, like a run without one, so absence proves deletion there too.
  const emitsEverything = !state || state.documents.size === 0;
  const activeSince = toSlackBoundary(nowSeconds - (options.activeThreadDays ?? 30) * 86_400);
  const runTimestamp = new Date(nowSeconds * 1000).toISOString();
  const checkpoints: Record<string, ChannelCheckpoint> = {};
  let teamAnswer: Promise<Team> | undefined;
  const completeChannels: string[] = [];
  const skippedChannels: string[] = [];
  let selectedCount = 0;
  let started = false;


  async function authenticate(): Promise<Team> {
    // A rejected token is a ConfigError (exit 2) from the client; Slack unreachable is a failed run (exit 1).
    const auth: Record<string, any> = await client.call('auth.test', {}, 3);
    const granted: unknown = auth.response_metadata?.scopes;
    if (Array.isArray(granted) && granted.length > 0) {
      const needed = new Set<string>(['users:read']);
      for (const type of types) for (const scope of scopesByType[type]) needed.add(scope);
      if (options.autoJoinChannels && types.includes('public')) needed.add('channels:join');
      const missing = [...needed].filter((scope) => !granted.includes(scope));
      if (missing.length > 0) throw missingScopeError(missing);
    }
    return { id: typeof auth.team_id === 'string' ? auth.team_id : null, url: typeof auth.url === 'string' ? auth.url : null, userId: auth.user_id ?? null };
  }

  async function listAll(method: string, params: Record<string, unknown>, key: string): Promise<Record<string, any>[]> {
    const items: Record<string, any>[] = [];
    for await (const page of client.paginate(method, { ...params, limit: pageSizes.list }, key, { where: '' })) items.push(...page);
    return items;
  }

  /** Top-level messages (and thread broadcasts) of the window, newest first as Slack pages them. */
  async function readHistory(channel: Record<string, any>, onPage: (messages: Record<string, any>[]) => void): Promise<void> {
    const params = {
      channel: channel.id,
      limit: pageSizes.history,
      ...(oldest || latest ? { inclusive: true } : {}),
      ...(oldest ? { oldest } : {}),
      ...(latest ? { latest } : {}),
    };
    for await (const page of client.paginate('conversations.history', params, 'messages')) {
      progress?.messagesRead?.(page.length);
      onPage(page);
    }
  }

  async function readReplies(channel: Record<string, any>, threadTs: string): Promise<Record<string, any>[]> {
    const replies: Record<string, any>[] = [];
    try {
      const params = { channel: channel.id, ts: threadTs, limit: pageSizes.replies };
      for await (const page of client.paginate('conversations.replies', params, 'messages', { where: `of thread ${threadTs} in channel ${String(channel.id)}` })) {
        for (const message of page) {
          // The parent comes first and is already in history; so is every broadcast (its ts is after the parent's).
          if (message?.ts === threadTs || message?.subtype === 'thread_broadcast') continue;
          replies.push(message);
        }
      }
    } catch (error) {
      // The parent was deleted between the history read and this call: nothing left to read.
      if (error instanceof SlackApiError && error.slackError === 'thread_not_found') return replies;
      throw error;
    }
    counters.threadsRead++;
    return replies;
  }

  async function joinIfNeeded(channel: Record<string, any>): Promise<boolean> {
    if (isMember(channel)) return true;
    if (!options.autoJoinChannels) return false;
    try {
      await client.call('conversations.join', { channel: channel.id });
      counters.channelsJoined++;
      return true;
    } catch (error) {
      if (skipsChannel(error)) {
        logger.warn(`not syncing channel '${conversationName(channel)}' (${channel.id}): cannot join it (${error.slackError})`);
        return false;
      }
      throw error;
    }
  }

  /** Incremental runs: a thread's replies are read when it is new to the state, moved, or recently active. */
  function threadNeedsReading(channelId: string, parent: Record<string, any>): boolean {
    if (!state) return true;
    const stored = state.threadsOf(channelId)?.[String(parent.ts)];
    if (!stored) return true;
    const latestReply = typeof parent.latest_reply === 'string' ? parent.latest_reply : null;
    if (stored.latestReply !== latestReply || stored.replyCount !== Number(parent.reply_count ?? 0)) return true;
    return latestReply !== null && compareTs(latestReply, activeSince) >= 0;
  }

  /**
   * Stored messages of a channel read completely that Slack no longer has. A stored reply counts only when its thread
   * was re-read or its parent (inside the window) is gone or has no replies left; a thread skipped as unchanged is not
   * looked at, and neither is anything whose message (or parent) is older than the window.
   */
  function tombstonesOf(channelId: string, present: Set<string>, unreadThreads: Set<string>): TombstoneDocument[] {
    if (!state) return [];
    const tombstones: TombstoneDocument[] = [];
    for (const id of state.messageIdsOf(channelId)) {
      if (present.has(id) || !state.documents.has(id)) continue;
      const ts = id.slice(channelId.length + 1);
      const threadTs = state.replies.get(id);
      const anchorTs = threadTs ?? ts;
      if (threadTs !== undefined && unreadThreads.has(threadTs)) continue;
      if (oldest !== null && compareTs(anchorTs, oldest) < 0) continue;
      if (latest !== null && compareTs(anchorTs, latest) > 0) continue;
      tombstones.push({ _id: id, id, type: 'tombstone', deleted_type: 'message', channel_id: channelId, ts, _timestamp: runTimestamp });
    }
    counters.tombstones += tombstones.length;
    return tombstones;
  }

  /** A raw message → its document, or null for one that cannot be a document: skipped, counted and named in a warning. */
  function convert(message: Record<string, any>, channel: Record<string, any>, team: Team, position: string): MessageDocument | null {
    try {
      return toMessageDocument(message, channel, team.url);
    } catch (error) {
      if (!(error instanceof MalformedMessageError)) throw error;
      counters.messagesSkipped++;
      logger.warn(`skipped a message in '${conversationName(channel)}' (${channel.id}) at ${position}: ${error.problem}`);
      return null;
    }
  }

  /** Messages and replies of one channel sorted by ts, then its tombstones. */
  async function readChannel(channel: Record<string, any>, team: Team): Promise<AnyDocument[]> {
    const channelId = String(channel.id);
    const documents: AnyDocument[] = [];
    if (!(await joinIfNeeded(channel))) {
      counters.channelsSkipped++;
      skippedChannels.push(channelId);
      return documents;
    }
    const messages: MessageDocument[] = [];
    const threads: Record<string, ThreadState> = {};
    const unreadThreads = new Set<string>();
    let newestTs: string | null = null;
    const threadLimit = new Semaphore(options.threadConcurrency ?? 4);
    const threadReads: Promise<void>[] = [];
    let historyPages = 0;
    try {
      await readHistory(channel, (page) => {
        historyPages++;
        for (const [index, message] of page.entries()) {
          const document = convert(message, channel, team, `history page ${historyPages}, message ${index + 1}`);
          if (document === null) continue;
          messages.push(keep(document, message));
          const ts = document.ts;
          if (newestTs === null || compareTs(ts, newestTs) > 0) newestTs = ts;
          if (!(Number(message.reply_count ?? 0) > 0 && (!message.thread_ts || message.thread_ts === message.ts))) continue;
          threads[ts] = { latestReply: typeof message.latest_reply === 'string' ? message.latest_reply : null, replyCount: Number(message.reply_count) };
          if (options.threads === false || !threadNeedsReading(channelId, message)) {
            unreadThreads.add(ts);
            if (options.threads !== false) counters.threadsUnchanged++;
            continue;
          }
          progress?.repliesExpected?.(Number(message.reply_count));
          const read = threadLimit.run(async () => {
            const replies = await readReplies(channel, ts);
            progress?.repliesRead?.(replies.length);
            for (const [index, reply] of replies.entries()) {
              const document = convert(reply, channel, team, `reply ${index + 1} of thread ${ts}`);
              if (document !== null) messages.push(keep(document, reply));
            }
          });
          read.catch(() => {}); // awaited below with the others
          threadReads.push(read);
        }
      });
      await Promise.all(threadReads);
    } catch (error) {
      await Promise.allSettled(threadReads);
      if (skipsChannel(error)) {
        const reason = error.slackError === 'pagination_loop' ? error.message : error.slackError;
        logger.warn(`not syncing channel '${conversationName(channel)}' (${channelId}): ${reason}`);
        counters.channelsSkipped++;
        skippedChannels.push(channelId);
        return documents;
      }
      throw error;
    }
    messages.sort((left, right) => compareTs(left.ts, right.ts));
    for (const message of messages) documents.push(message);
    if (state) {
      documents.push(...tombstonesOf(channelId, new Set(messages.map((message) => message._id)), unreadThreads));
      // Without replies read, the stored thread checkpoints stay: a later run with threads must still read them.
      checkpoints[channelId] = { newestTs, threads: options.threads === false ? null : threads };
    }
    counters.channelsRead++;
    completeChannels.push(channelId);
    return documents;
  }

  const authenticateOnce = (): Promise<Team> => (teamAnswer ??= authenticate());

  async function* run(): AsyncGenerator<AnyDocument> {
    if (started) throw new Error('a slackSource can be iterated once; create another for a new run');
    started = true;
    const team = await authenticateOnce();
    if (state && team.id !== null) state.bindTeam({ id: team.id, url: team.url });
    const listed = await listAll('conversations.list', { types: types.map((type) => slackTypeNames[type]).join(','), exclude_archived: false }, 'channels');
    for (const conversation of listed) conversationNames.set(String(conversation.id), Promise.resolve({ id: String(conversation.id), name: conversationTitle(conversation) }));
    const readable = listed.filter(selection.isReadable);
    const listEveryType = () => listAll('conversations.list', { types: channelTypes.map((type) => slackTypeNames[type]).join(','), exclude_archived: false }, 'channels');
    await checkChannelSelection(options, listed, readable.length, listEveryType, logger);
    const users = await listAll('users.list', {}, 'members');
    if (options.syncUsers !== false) for (const user of users) yield keep(toUserDocument(user), user);

    selectedCount = readable.length;
    progress?.channelsSelected?.(readable.length);
    // Every channel document comes before any message, so enrich can name every #channel mention whatever order
    // the channels finish in: the same workspace gives the same documents (an incremental run relies on that).
    for (const channel of readable) yield keep(toChannelDocument(channel, team.url), channel);
    const readTracked = async (channel: Record<string, any>) => {
      progress?.channelStarted?.(String(channel.id), conversationName(channel));
      try {
        return await readChannel(channel, team);
      } finally {
        progress?.channelFinished?.(String(channel.id), conversationName(channel));
      }
    };
    for await (const documents of runPool(readable, options.concurrency ?? 4, readTracked)) {
      yield* documents;
    }
  }

  const source: SlackSource = {
    sourceName: 'slack',
    client,
    window,
    [Symbol.asyncIterator]: () => run(),
    async lookupUser(userId: string) {
      try {
        const answer = await client.call('users.info', { user: userId });
        return (answer.user as ({ id: string } & Record<string, any>) | undefined) ?? null;
      } catch (error) {
        if (error instanceof SlackApiError && (error.slackError === 'user_not_found' || error.slackError === 'users_not_found')) return null;
        throw error;
      }
    },
    lookupBot(botId: string) {
      let answer = botAnswers.get(botId);
      if (answer === undefined) {
        answer = client.call('bots.info', { bot: botId }).then(
          (body) => (body.bot && typeof body.bot === 'object' ? (body.bot as { id: string; name?: string; user_id?: string }) : null),
          (error: unknown) => {
            if (error instanceof SlackApiError && error.slackError === 'bot_not_found') return null;
            botAnswers.delete(botId);
            throw error;
          },
        );
        botAnswers.set(botId, answer);
      }
      return answer;
    },
    lookupChannel(channelId: string) {
      let answer = conversationNames.get(channelId);
      if (answer === undefined) {
        answer = client.call('conversations.info', { channel: channelId }).then(
          (body) => (body.channel && typeof body.channel === 'object' ? { id: channelId, name: conversationTitle(body.channel) } : null),
          (error: unknown) => {
            // Not visible to the token (private, another workspace's, or a scope not granted): the mention stays an id.
            if (error instanceof SlackApiError && ['channel_not_found', 'missing_scope', 'access_denied'].includes(error.slackError)) return null;
            conversationNames.delete(channelId);
            throw error;
          },
        );
        conversationNames.set(channelId, answer);
      }
      return answer;
    },
    stats: () => ({ ...counters, api: client.stats() }),
    team: authenticateOnce,
    incrementalReport: () => ({ ...checkpoints }),
    report: () => ({
      // An incremental run emits only changes, so absence proves nothing: its deletions come as tombstones instead.
      completeChannels: emitsEverything ? [...completeChannels] : [],
      skippedChannels: [...skippedChannels],
      windowOldest: oldest,
      windowLatest: latest,
      complete: completeChannels.length === selectedCount,
      threadsRead: options.threads !== false && emitsEverything,
    }),
    get lookups() {
      return { lookupUser: (id: string) => source.lookupUser(id), lookupBot: (id: string) => source.lookupBot(id), lookupChannel: (id: string) => source.lookupChannel(id) };
    },
  };
  return source;
}
