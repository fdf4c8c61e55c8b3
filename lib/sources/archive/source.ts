// slackArchiveSource(): users, conversations and messages of a Slack export (ZIP or folder) as the same documents the API gives.

import { compareTs, toSlackBoundary, type AnyDocument } from '../../documents.js';
import { silentLogger, type Logger } from '../../log.js';
import { attachSlackObject } from '../../slack-raw.js';
import type { ComponentStats, Source, SourceReport } from '../../stage.js';
import { conversationName, MalformedMessageError, toChannelDocument, toMessageDocument, toUserDocument } from '../slack/to-documents.js';
import type { ChannelType } from '../slack/source.js';
import { conversationFiles, folderOf, usersFiles, type ConversationKind } from './layout.js';
import { openArchive, type ArchiveReader } from './reader.js';
import { archiveSourceOptions } from './options.js';

type Raw = Record<string, any>;

export interface SlackArchiveSourceOptions {
  /** A Slack export: the `.zip` Slack (or `--format slack-export`) wrote, or a folder it was unpacked into. */
  path: string;
  /**
   * The workspace URL (`https://acme.slack.com/`): an export does not name it, and permalinks and channel URLs are
   * built from it. Without it they are null.
   */
  workspaceUrl?: string | null;
  /** Days of history (by message `ts`, replies by their thread's); 0 = everything in the archive. Default 0. */
  fetchLastNDays?: number;
  /** The run's "now" (ms since epoch) for the window; default the current time. */
  now?: number;
  /** Emit user documents. Default true. */
  syncUsers?: boolean;
  /** Thread replies. Default true. */
  threads?: boolean;
  /** Conversation kinds to read. Default: every kind the archive holds. */
  channelTypes?: ChannelType[];
  /** Only these conversations (names or ids). */
  channels?: string[];
  /** Never these conversations (names or ids); wins over `channels`. */
  excludeChannels?: string[];
  /** Carry each document's Slack object (for `--format slack-export`). Default false. */
  keepSlackObjects?: boolean;
  logger?: Logger;
}

export interface SlackArchiveSourceStats extends ComponentStats {
  channelsRead: number;
  channelsSkipped: number;
  dayFilesRead: number;
  messagesRead: number;
  /** Messages left out: no `ts`, outside the window, or replies with threads off. */
  messagesSkipped: number;
}

export interface SlackArchiveSource extends Source<AnyDocument> {
  stats(): SlackArchiveSourceStats;
  report(): SourceReport;
  /** The team named by the archive's users (an export has no team file) and the given workspace URL. */
  team(): Promise<{ id: string | null; url: string | null; userId: string | null }>;
  /**
   * Users of other teams (Slack Connect) listed in the archive: the API finds them with users.info, not users.list,
   * so they are not emitted as documents but resolve names as users.info would. Anyone else is unknown (null).
   */
  lookupUser(userId: string): Promise<({ id: string } & Raw) | null>;
}

const kinds = Object.keys(conversationFiles) as ConversationKind[];

export function slackArchiveSource(options: SlackArchiveSourceOptions): SlackArchiveSource {
  const logger = options.logger ?? silentLogger;
  const teamUrl = options.workspaceUrl ?? null;
  const fetchLastNDays = options.fetchLastNDays ?? archiveSourceOptions.fetchLastNDays.default;
  const nowSeconds = Math.floor((options.now ?? Date.now()) / 1000);
  const oldest = fetchLastNDays > 0 ? toSlackBoundary(nowSeconds - fetchLastNDays * 86_400) : null;
  const wantedKinds = new Set<ConversationKind>(options.channelTypes ?? kinds);
  const include = new Set(options.channels ?? []);
  const exclude = new Set(options.excludeChannels ?? []);
  const keep: <T extends object>(document: T, raw: Raw) => T = options.keepSlackObjects ? attachSlackObject : (document) => document;
  const counters = { channelsRead: 0, channelsSkipped: 0, dayFilesRead: 0, messagesRead: 0, messagesSkipped: 0 };
  const completeChannels: string[] = [];
  let teamId: string | null = null;
  const otherTeamUsers = new Map<string, Raw>();
  let started = false;

  const isSelected = (conversation: Raw): boolean => {
    const id = String(conversation.id);
    const name = conversationName(conversation);
    if (exclude.has(id) || exclude.has(name)) return false;
    return include.size === 0 || include.has(id) || include.has(name);
  };

  const botUserIds = new Set<string>();

  /** A reply counts as inside the window when its thread does, as the API reads replies of parents in the window. */
  function inWindow(message: Raw): boolean {
    const ts = String(message.ts);
    const threadTs = typeof message.thread_ts === 'string' ? message.thread_ts : null;
    const isReply = threadTs !== null && threadTs !== ts && message.subtype !== 'thread_broadcast';
    if (isReply && options.threads === false) return false;
    return oldest === null || compareTs(isReply ? threadTs : ts, oldest) >= 0;
  }

  async function* run(): AsyncGenerator<AnyDocument> {
    if (started) throw new Error('a slackArchiveSource can be iterated once; create another for a new run');
    started = true;
    const reader = await openArchive(options.path);
    try {
      let users: Raw[] = [];
      for (const name of usersFiles) {
        const list = await readList(reader, name, options.path);
        if (list) {
          users = list;
          break;
        }
      }
      teamId = mostCommonTeam(users);
      for (const user of users) {
        if (user.is_bot === true) botUserIds.add(String(user.id));
        if (isOtherTeam(user, teamId)) otherTeamUsers.set(String(user.id), user);
        else if (options.syncUsers !== false) yield keep(toUserDocument(user), user);
      }
      users = [];

      const selected: Array<{ conversation: Raw; raw: Raw; kind: ConversationKind }> = [];
      for (const kind of kinds) {
        if (!wantedKinds.has(kind)) continue;
        for (const raw of (await readList(reader, conversationFiles[kind], options.path)) ?? []) {
          const conversation = asConversation(raw, kind, botUserIds);
          if (isSelected(conversation)) selected.push({ conversation, raw, kind });
        }
      }
      for (const name of include) {
        if (!selected.some(({ conversation }) => conversation.id === name || conversationName(conversation) === name)) {
          logger.warn(`channel '${name}' given in --channels is not in the archive ${options.path}`);
        }
      }
      // Every channel document before any message, as the API source does (enrich names #mentions from them).
      for (const { conversation, raw } of selected) yield keep(toChannelDocument(conversation, teamUrl), raw);

      for (const { conversation, kind } of selected) {
        for await (const dayDocuments of conversationDays({ reader, teamUrl, logger, counters, inWindow, keep }, conversation, kind)) {
          for (const document of dayDocuments) yield document;
        }
        counters.channelsRead++;
        completeChannels.push(String(conversation.id));
      }
    } finally {
      await reader.close();
    }
  }

  return {
    sourceName: 'slack-archive',
    [Symbol.asyncIterator]: () => run(),
    stats: () => ({ ...counters }),
    report: () => ({ completeChannels: [...completeChannels], skippedChannels: [], windowOldest: oldest, complete: true }),
    async team() {
      if (teamId === null && !started) {
        // Before the run: read the user list once for the team id (a state file is bound to it before anything is written).
        const reader = await openArchive(options.path);
        try {
          for (const name of usersFiles) teamId ??= mostCommonTeam((await readList(reader, name, options.path)) ?? []);
        } finally {
          await reader.close();
        }
      }
      return { id: teamId, url: teamUrl, userId: null };
    },
    lookupUser: async (userId: string) => (otherTeamUsers.get(userId) as ({ id: string } & Raw) | undefined) ?? null,
  };
}

/** The workspace's own team: the one most users belong to (an export has no team file). */
function mostCommonTeam(users: Raw[]): string | null {
  const counts = new Map<string, number>();
  for (const user of users) if (typeof user.team_id === 'string') counts.set(user.team_id, (counts.get(user.team_id) ?? 0) + 1);
  let best: string | null = null;
  for (const [team, count] of counts) if (best === null || count > counts.get(best)!) best = team;
  return best;
}

const isOtherTeam = (user: Raw, teamId: string | null): boolean =>
  user.is_stranger === true || (teamId !== null && typeof user.team_id === 'string' && user.team_id !== teamId);

async function readList(reader: ArchiveReader, name: string, path: string): Promise<Raw[] | null> {
  const file = reader.topFiles.get(name);
  if (!file) return null;
  const value = await reader.readJson(file, name);
  if (!Array.isArray(value)) throw new TypeError(`${path}: ${name} is not a JSON array`);
  return value.filter((item): item is Raw => typeof item === 'object' && item !== null && item.id !== undefined);
}

/**
 * The API's flags, from the file a conversation is listed in (Slack's channels.json entries carry none). A DM in
 * dms.json lists both members where the API names the other person (`user`): that is the member who is not a bot.
 */
const asConversation = (entry: Raw, kind: ConversationKind, botUserIds: ReadonlySet<string>): Raw => ({
  ...entry,
  ...(kind === 'im' && entry.user === undefined && Array.isArray(entry.members)
    ? { user: entry.members.find((member: unknown) => typeof member === 'string' && !botUserIds.has(member)) ?? entry.members[0] }
    : {}),
  is_private: entry.is_private ?? kind !== 'public',
  is_im: entry.is_im ?? kind === 'im',
  is_mpim: entry.is_mpim ?? kind === 'mpim',
});

interface ConversationReading {
  reader: ArchiveReader;
  teamUrl: string | null;
  logger: Logger;
  counters: { dayFilesRead: number; messagesRead: number; messagesSkipped: number };
  inWindow: (message: Raw) => boolean;
  keep: <T extends object>(document: T, raw: Raw) => T;
}

/** One conversation's message documents, one array per day file (already whole in memory), each in ts order. */
async function* conversationDays(context: ConversationReading, conversation: Raw, kind: ConversationKind): AsyncGenerator<AnyDocument[]> {
  const { reader, counters, logger } = context;
  const channelId = String(conversation.id);
  const days = reader.folders.get(folderOf(conversation, kind)) ?? reader.folders.get(channelId);
  // Slack leaves out the folder of a conversation without messages.
  if (!days) return;
  for (const day of days) {
    const value = await reader.readJson(day.file, `${folderOf(conversation, kind)}/${day.date}.json`);
    counters.dayFilesRead++;
    const messages = (Array.isArray(value) ? value : []).filter((message: Raw) => {
      const usable = typeof message === 'object' && message !== null && typeof message.ts === 'string' && context.inWindow(message);
      if (!usable) counters.messagesSkipped++;
      return usable;
    }) as Raw[];
    messages.sort((left, right) => compareTs(String(left.ts), String(right.ts)));
    const documents: AnyDocument[] = [];
    for (const [index, message] of messages.entries()) {
      let document;
      try {
        document = toMessageDocument(message, conversation, context.teamUrl);
      } catch (error) {
        if (!(error instanceof MalformedMessageError)) throw error;
        counters.messagesSkipped++;
        logger.warn(
          `skipped a message in '${conversationName(conversation)}' (${channelId}) ` +
            `at ${day.date}.json, message ${index + 1}: ${error.problem}`,
        );
        continue;
      }
      counters.messagesRead++;
      documents.push(context.keep(document, message));
    }
    yield documents;
  }
}
