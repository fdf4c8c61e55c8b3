// slackSource(): users, channels, messages and thread replies of a workspace as one stream, composed from per-entity streams.

import { setMaxListeners } from 'node:events';
import { compareTs, type AnyDocument, type MessageDocument, type UserDocument } from '../../documents.js';
import { silentLogger, type Logger } from '../../log.js';
import type { ComponentStats, Source, SourceReport } from '../../stage.js';
import type { StateStore } from '../../state/store.js';
import { authenticate, type Team } from './auth.js';
import { channelDocuments } from './channel.js';
import { SlackApiClient, type SlackClientOptions } from './client.js';
import { type SourceContext, type SourceCounters } from './context.js';
import { listConversations } from './conversations.js';
import { channelSelection, channelTypes as allChannelTypes, checkChannelSelection, type ChannelType } from './selection.js';
import { resolveWindow, type MessageWindow, type WindowBoundary } from './window.js';
import type { ProgressListener } from '../../progress.js';
import { conversationName, conversationTitle } from './to-documents.js';
import { IncrementalDecisions } from './incremental.js';
import { interleave } from './interleave.js';
import type { TierRates } from './pacer.js';
import { toChannelDocument } from './to-documents.js';
import { listUsers } from './users.js';
import { slackSourceOptions } from './options.js';
import { slackLookups, type ChannelName, type SlackLookups } from './lookups.js';
import { attachSlackObject } from '../../slack-raw.js';

export { channelTypes, type ChannelType } from './selection.js';
export { pageSizes } from './context.js';
export type { Team } from './auth.js';

export interface SlackSourceOptions extends Omit<SlackClientOptions, 'token'> {
  token: string;
  /** Days of history to read (Elastic `fetch_last_n_days`); 0 = all history. Default: `slackSourceOptions.fetchLastNDays`. */
  fetchLastNDays?: number;
  /** Oldest message time, inclusive: ISO date or date-time, a duration back from `now` (`P30D`, `30d`), a Date or epoch ms. */
  since?: WindowBoundary;
  /** Newest message time, exclusive; same forms as `since`. */
  until?: WindowBoundary;
  /** IANA zone for dates without an offset and for calendar-day durations. Default the system zone. */
  timeZone?: string;
  /** Told what the run is reading as it goes, for progress displays. */
  progress?: ProgressListener;
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
  /** Threads of a channel whose replies are in flight (or waiting to be handed on) at once. Default 4. */
  threadConcurrency?: number;
  tierRates?: TierRates;
  /** The run's "now" (ms since epoch) for the window; default the current time. */
  now?: number;
  /** Use this client instead of building one (shares pacing with other users of it). */
  client?: SlackApiClient;
  logger?: Logger;
  /**
   * Incremental run: re-read each channel's window history, read replies only of threads that changed, are new, or
   * had a reply within `activeThreadDays`, and emit tombstones for stored messages that disappeared. Put
   * `state.track()` right before the sink and commit what the sink wrote (see StateStore).
   */
  state?: StateStore;
  /** Threads with a reply this recent are always re-read (Slack does not move `latest_reply` on a reply edit). Default 30. */
  activeThreadDays?: number;
  /** Carry each document's Slack object (see slack-raw.ts) for formats that write Slack's own objects. Default false. */
  keepSlackObjects?: boolean;
  /**
   * Each channel's documents as one block, messages and replies in ts order, then its tombstones (slack-export's day
   * files need it). The source then holds up to `concurrency` whole channels in memory. Default false: streamed.
   */
  channelBlocks?: boolean;
  /** Channels a resumed run already read and committed (StateStore.finishedChannelsOfRun): not read again. */
  skipChannels?: Iterable<string>;
}

export interface SlackSourceStats extends SourceCounters, ComponentStats {
  api: ReturnType<SlackApiClient['stats']>;
}

export interface SlackSource extends Source<AnyDocument>, SlackLookups {
  readonly client: SlackApiClient;
  /** The effective message window (from `since`/`until` or `fetchLastNDays`). */
  readonly window: MessageWindow;
  /** The three lookups, bound, as the enrich stage takes them: `enrich({ ...source.lookups })`. */
  readonly lookups: SlackLookups;
  stats(): SlackSourceStats;
  report(): SourceReport;
  /** auth.test, once per source (the run uses the same answer): fails fast on a bad token. */
  team(): Promise<Team>;
}

/** Why the source's own streams were ended: the consumer stopped pulling. */
class SourceClosed extends Error {
  constructor() {
    super('the consumer of the Slack source stopped reading');
  }
}

export function slackSource(options: SlackSourceOptions): SlackSource {
  const logger = options.logger ?? silentLogger;
  // Ends every call in flight or waiting for its turn when the consumer leaves (`| head`), or when the caller aborts.
  const closed = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, closed.signal]) : closed.signal;
  // Every paced call waiting for its turn listens on it (and removes its listener after).
  setMaxListeners(0, signal);
  const client = options.client ?? new SlackApiClient({ ...options, logger, signal });
  const types = options.channelTypes ?? slackSourceOptions.channelTypes.default;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  const window = resolveWindow({ ...options, now: nowSeconds * 1000 });
  const { oldest, latest } = window;
  const skipChannels = new Set(options.skipChannels ?? []);
  const counters: SourceCounters = {
    channelsRead: 0,
    channelsSkipped: 0,
    channelsJoined: 0,
    threadsRead: 0,
    threadsUnchanged: 0,
    tombstones: 0,
    messagesSkipped: 0,
  };
  const conversationNames = new Map<string, Promise<ChannelName>>();
  const lookups = slackLookups(client, conversationNames);
  const completeChannels: string[] = [];
  const skippedChannels: string[] = [];
  let selectedCount = 0;
  // A run from an empty state emits every document, like a run without one, so absence proves deletion there too.
  let emitsEverything = !options.state;
  let started = false;
  let teamAnswer: Promise<Team> | undefined;
  const authenticateOnce = (): Promise<Team> =>
    (teamAnswer ??= authenticate(client, { types, autoJoinChannels: options.autoJoinChannels ?? false }));

  async function* run(): AsyncGenerator<AnyDocument> {
    if (started) throw new Error('a slackSource can be iterated once; create another for a new run');
    started = true;
    try {
      const team = await authenticateOnce();
      if (options.state) await options.state.bindTeam({ id: team.id, url: team.url });
      emitsEverything = !options.state || options.state.isEmpty();
      const context: SourceContext = {
        client,
        logger,
        oldest,
        latest,
        threads: options.threads !== false,
        threadConcurrency: Math.max(1, options.threadConcurrency ?? 4),
        autoJoinChannels: options.autoJoinChannels ?? false,
        state: options.state,
        counters,
        signal,
        teamUrl: team.url,
        progress: options.progress,
        keep: options.keepSlackObjects ? attachSlackObject : (document) => document,
      };
      const decisions = options.state
        ? new IncrementalDecisions({ ...context, state: options.state }, { nowSeconds, activeThreadDays: options.activeThreadDays ?? 30 })
        : undefined;
      const selecting = () => selectChannels(context, options, types, conversationNames);
      const channels = yield* usersWhileSelecting(listUsers(context), options.syncUsers !== false, selecting);

      selectedCount = channels.length;
      // Every channel document comes before any message, so enrich can name every #channel mention whatever order
      // the channels finish in: the same workspace gives the same documents (an incremental run relies on that).
      for (const channel of channels) yield context.keep(toChannelDocument(channel, team.url), channel);
      const toRead = channels.filter((channel) => !skipChannels.has(String(channel.id)));
      if (toRead.length < channels.length) {
        options.progress?.channelsAlreadyDone?.(channels.length - toRead.length);
        logger.info(`resuming: ${channels.length - toRead.length} channels already done`);
        for (const channel of channels) if (skipChannels.has(String(channel.id))) completeChannels.push(String(channel.id));
      }
      options.progress?.channelsSelected?.(toRead.length);
      const streams = interleave(toRead, options.concurrency ?? slackSourceOptions.concurrency.default, (channel) => {
        options.progress?.channelStarted?.(String(channel.id), conversationName(channel));
        const stream = channelDocuments(context, channel, decisions, (outcome) => {
          (outcome === 'read' ? completeChannels : skippedChannels).push(String(channel.id));
          options.progress?.channelFinished?.(String(channel.id), conversationName(channel));
        });
        return options.channelBlocks ? asOneBlock(stream) : stream;
      });
      for await (const documents of streams) yield* documents;
    } finally {
      // Whatever ended the run (done, failed, or the consumer left), nothing more is fetched.
      closed.abort(new SourceClosed());
    }
  }

  const source: SlackSource = {
    sourceName: 'slack',
    client,
    window,
    [Symbol.asyncIterator]: () => run(),
    ...lookups,
    get lookups() {
      return {
        lookupUser: (id: string) => source.lookupUser(id),
        lookupBot: (id: string) => source.lookupBot(id),
        lookupChannel: (id: string) => source.lookupChannel(id),
      };
    },
    stats: () => ({ ...counters, api: client.stats() }),
    team: authenticateOnce,
    report: () => ({
      // An incremental run emits only changes, so absence proves nothing: its deletions come as tombstones instead.
      completeChannels: emitsEverything ? [...completeChannels] : [],
      skippedChannels: [...skippedChannels],
      windowOldest: oldest,
      windowLatest: latest,
      complete: completeChannels.length === selectedCount,
      threadsRead: options.threads !== false && emitsEverything,
    }),
  };
  return source;
}

/** Lists the conversations of `types` (naming each for mentions) and keeps the selected, readable ones; checks the selection. */
async function selectChannels(
  context: SourceContext,
  options: SlackSourceOptions,
  types: ChannelType[],
  conversationNames: Map<string, Promise<ChannelName>>,
): Promise<Record<string, any>[]> {
  const selection = channelSelection(options);
  const listed: Record<string, any>[] = [];
  for await (const page of listConversations(context, types)) listed.push(...page);
  for (const conversation of listed) {
    const id = String(conversation.id);
    conversationNames.set(id, Promise.resolve({ id, name: conversationTitle(conversation) }));
  }
  const channels = listed.filter(selection.isReadable);
  const listEveryType = async () => {
    const every: Record<string, any>[] = [];
    for await (const page of listConversations(context, allChannelTypes)) every.push(...page);
    return every;
  };
  await checkChannelSelection(options, listed, channels.length, listEveryType, context.logger);
  return channels;
}

/** A channel's batches gathered into one block: messages and replies by ts, tombstones last. */
/**
 * The user documents, then what `select` found: the first users page is read while `select` runs (both only wait for
 * auth.test), the users come out before anything `select` found. A failure or an early stop closes the users listing,
 * as for-await would (not awaited: the error comes first).
 */
async function* usersWhileSelecting<Selected>(
  users: AsyncGenerator<UserDocument[]>,
  emit: boolean,
  select: () => Promise<Selected>,
): AsyncGenerator<UserDocument, Selected> {
  const firstPage = users.next();
  firstPage.catch(() => {}); // awaited below, unless `select` failed first
  try {
    const selected = await select();
    for (let page = await firstPage; !page.done; page = await users.next()) if (emit) yield* page.value;
    return selected;
  } finally {
    void users.return(undefined).catch(() => {});
  }
}

async function* asOneBlock(stream: AsyncGenerator<AnyDocument[]>): AsyncGenerator<AnyDocument[]> {
  const messages: MessageDocument[] = [];
  const tombstones: AnyDocument[] = [];
  for await (const batch of stream) for (const document of batch) (document.type === 'message' ? messages : tombstones).push(document);
  messages.sort((left, right) => compareTs(left.ts, right.ts));
  yield [...messages, ...tombstones];
}
