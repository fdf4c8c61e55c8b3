// Enrich stage: user and channel names for authors, mentions, channel references and links in message text.

import type { AnyDocument, ChannelDocument, MessageDocument, UserDocument } from '../documents.js';
import { stepStage } from '../document-step.js';
import type { Stage } from '../stage.js';
import { NameResolver } from './name-resolver.js';

/** A user as Slack's `users.info` returns it (only the fields naming them are read). */
export interface UserLookupResult {
  id: string;
  name?: string;
  real_name?: string;
  deleted?: boolean;
  is_bot?: boolean;
  profile?: {
    display_name_normalized?: string;
    real_name_normalized?: string;
    display_name?: string;
    real_name?: string;
  };
}

/** A bot as Slack's `bots.info` returns it (only the fields naming it are read). */
export interface BotLookupResult {
  id: string;
  name?: string;
  user_id?: string;
}

/** A conversation's name as a `#channel` mention shows it (a DM: the other member's user id, resolved here). */
export interface ChannelLookupResult {
  id: string;
  name: string;
}

export interface EnrichOptions {
  /** Default true. False: user documents are used to learn names, then dropped. */
  syncUsers?: boolean;
  /**
   * Resolves a user id missing from the map (e.g. Slack `users.info`); null means unknown.
   * Called at most once per id; a failure counts as unknown and never fails the run.
   */
  lookupUser?: (userId: string) => Promise<UserLookupResult | null>;
  /** Resolves the bot id of a bot message that carries no name (e.g. Slack `bots.info`); once per id, like lookupUser. */
  lookupBot?: (botId: string) => Promise<BotLookupResult | null>;
  /**
   * Resolves a channel id in a `<#C…>` mention that has no label (e.g. the source's full conversation list, then
   * `conversations.info`); once per id. Without it, only channels whose documents passed through are known.
   */
  lookupChannel?: (channelId: string) => Promise<ChannelLookupResult | null>;
}

export interface EnrichStats {
  [key: string]: number;
  /** User documents whose names were learned. */
  usersLearned: number;
  /** Calls made to `lookupUser`. */
  lookups: number;
  /** `lookupUser` calls that threw or rejected. */
  lookupFailures: number;
  /** Distinct user ids that could not be resolved (they stay ids). */
  unknownUsers: number;
  /** User documents dropped because `syncUsers` is false. */
  usersDropped: number;
  /** Calls made to `lookupBot` / `lookupChannel`. */
  botLookups: number;
  channelLookups: number;
  /** Distinct bot / channel ids that could not be resolved (they stay ids). */
  unknownBots: number;
  unknownChannels: number;
  /** Messages whose author (not in users.list: Slack Connect) was named from the `user_profile` they carry. */
  usersFromProfiles: number;
}

/** Anything that names a user: a Slack user object (with `profile`) or a UserDocument (flattened). */
export interface NamedUser {
  id: string;
  name?: string | null;
  real_name?: string | null;
  display_name_normalized?: string | null;
  real_name_normalized?: string | null;
  profile?: { display_name_normalized?: string | null; real_name_normalized?: string | null } | null;
}

const nonEmpty = (value: string | null | undefined): value is string => typeof value === 'string' && value !== '';

/** Display name in Elastic's order: display name → real name (normalized) → real_name → name → id; empty strings skipped. */
export function displayName(user: NamedUser): string {
  const profile = user.profile;
  const candidates = [
    profile?.display_name_normalized ?? user.display_name_normalized,
    profile?.real_name_normalized ?? user.real_name_normalized,
    user.real_name,
    user.name,
  ];
  for (const candidate of candidates) if (nonEmpty(candidate)) return candidate;
  return user.id;
}

const entities: Record<string, string> = { '&lt;': '<', '&gt;': '>', '&amp;': '&' };

/** Unescapes Slack's three entities inside a token part (labels, URLs, fallbacks). */
function unescapeEntities(text: string): string {
  return text.indexOf('&') === -1 ? text : text.replace(/&(?:lt|gt|amp);/g, (entity) => entities[entity]!);
}

/** The three broadcast mentions, with or without a `|label`. */
const broadcasts: Record<string, string> = { here: '@here', channel: '@channel', everyone: '@everyone', group: '@channel' };

function rewriteToken(
  body: string,
  resolveUser: (id: string) => string | undefined,
  resolveChannel: (id: string) => string | undefined,
): string {
  const bar = body.indexOf('|');
  const target = bar === -1 ? body : body.slice(0, bar);
  const label = bar === -1 ? '' : unescapeEntities(body.slice(bar + 1));
  switch (body.charCodeAt(0)) {
    case 64 /* @ user */: {
      const id = target.slice(1);
      return `@${resolveUser(id) ?? id}`;
    }
    case 35 /* # channel */: {
      const id = target.slice(1);
      // Slack now often sends `<#C123|>`: an empty label means "look the name up".
      return `#${label !== '' ? label : (resolveChannel(id) ?? id)}`;
    }
    case 33 /* ! special */: {
      const command = target.slice(1);
      const broadcast = broadcasts[command];
      if (broadcast !== undefined) return broadcast;
      if (label !== '') return label; // subteam^S1|@team, date^…|fallback, anything else with a label
      const caret = command.indexOf('^');
      return `@${caret === -1 ? command : command.slice(caret + 1)}`;
    }
    default: {
      const url = unescapeEntities(target);
      if (url.startsWith('mailto:')) {
        const address = url.slice(7);
        return label === '' || label === address ? address : `${label} (${address})`;
      }
      return label === '' || label === url ? url : `${label} (${url})`;
    }
  }
}

/** One pass over tokens and entities, so text produced by a rewrite (a name with `&amp;`) is never rewritten again. */
const tokenOrEntity = /<([^<>]*)>|&(?:lt|gt|amp);/g;

/**
 * Slack mrkdwn → plain text: `<@U1>` → `@Name`, `<#C1|general>` → `#general`, `<https://x|label>` →
 * `label (https://x)`, `<!here>` → `@here`, `<!date^…|fallback>` → fallback, then `&lt; &gt; &amp;`.
 * Unknown users and channels stay ids.
 */
export function rewriteSlackText(
  text: string,
  resolveUser: (id: string) => string | undefined,
  resolveChannel: (id: string) => string | undefined,
): string {
  if (text.indexOf('<') === -1 && text.indexOf('&') === -1) return text;
  return text.replace(tokenOrEntity, (match: string, body: string | undefined) =>
    body === undefined ? entities[match]! : body === '' ? match : rewriteToken(body, resolveUser, resolveChannel),
  );
}

/** Ids worth a `users.info` call: Slack user ids (U…, W… for Enterprise Grid). */
const userIdPattern = /^[UW][A-Z0-9]+$/;
const botIdPattern = /^B[A-Z0-9]+$/;
const channelIdPattern = /^[CGD][A-Z0-9]+$/;
/** Direct-message conversation ids start with D; their name is the other member's user id until resolved. */
const directMessageIdPattern = /^D[A-Z0-9]+$/;

/** How enrich names things in a document: the resolvers behind these are enrich()'s. */
interface Naming {
  conversationName: (id: string, name: string) => string;
  authorOf: (message: MessageDocument) => string | null;
  authorName: (id: string | null) => string | null;
  rewrite: (text: string) => string;
  rewriteOrNull: (text: string | null | undefined) => string | null;
}

function enrichedMessage(message: MessageDocument, naming: Naming): MessageDocument {
  // A full literal in a fixed key order keeps every enriched message one hidden class (spreading is far slower).
  return {
    _id: message._id,
    id: message.id,
    _timestamp: message._timestamp,
    content_hash: message.content_hash,
    type: 'message',
    channel: naming.conversationName(message.channel_id, message.channel),
    channel_id: message.channel_id,
    author: naming.authorOf(message),
    author_id: message.author_id,
    author_type: message.author_type,
    text: naming.rewrite(message.text),
    blocks_text: naming.rewriteOrNull(message.blocks_text),
    edited_ts: message.edited_ts,
    ts: message.ts,
    created_at: message.created_at,
    subtype: message.subtype,
    reply_count: message.reply_count,
    latest_reply: message.latest_reply,
    thread_ts: message.thread_ts,
    permalink: message.permalink,
    files: message.files,
    attachments_text: naming.rewriteOrNull(message.attachments_text),
    reactions: message.reactions,
  };
}

function enrichedChannel(channel: ChannelDocument, naming: Naming): ChannelDocument {
  return {
    _id: channel._id,
    id: channel.id,
    _timestamp: channel._timestamp,
    content_hash: channel.content_hash,
    type: 'channel',
    topic: channel.topic,
    topic_author: naming.authorName(channel.topic_author),
    topic_last_updated: channel.topic_last_updated,
    purpose: channel.purpose,
    purpose_author: naming.authorName(channel.purpose_author),
    purpose_last_updated: channel.purpose_last_updated,
    last_updated: channel.last_updated,
    name: channel.name === null ? null : naming.conversationName(channel._id, channel.name),
    name_normalized: channel.name_normalized,
    created: channel.created,
    is_private: channel.is_private,
    is_archived: channel.is_archived,
    num_members: channel.num_members,
    url: channel.url,
  };
}

export function enrich(options: EnrichOptions = {}): Stage<AnyDocument, AnyDocument> {
  const syncUsers = options.syncUsers ?? true;
  let usersLearned = 0;
  let usersDropped = 0;
  let usersFromProfiles = 0;
  const users = new NameResolver<UserLookupResult>(options.lookupUser, userIdPattern, (user, id) =>
    displayName(user.id ? user : { ...user, id }),
  );
  const bots = new NameResolver<BotLookupResult>(options.lookupBot, botIdPattern, (bot) => (nonEmpty(bot.name) ? bot.name : null));
  const channels = new NameResolver<ChannelLookupResult>(options.lookupChannel, channelIdPattern, (channel) => channel.name);
  const resolvers = [users, bots, channels];
  /** Users whose names came from user documents (users.list), not from lookups. */
  const listedUsers = new Set<string>();

  const resolveUser = (id: string): string | undefined => users.resolve(id);
  /** A conversation's name as documents show it: a DM's (the other member's id) becomes that member's name. */
  const conversationName = (id: string, name: string): string =>
    directMessageIdPattern.test(id) && userIdPattern.test(name) ? (resolveUser(name) ?? name) : name;
  const resolveChannel = (id: string): string | undefined => {
    const name = channels.resolve(id);
    return name === undefined ? undefined : conversationName(id, name);
  };

  /**
   * Rewrites a document; when that met ids missing from the maps, looks them up and rewrites it again.
   * Lookups are rare, so the common path returns the document itself and never awaits.
   */
  function withLookups<Document>(rewriteDocument: (document: Document) => Document, document: Document): Document | Promise<Document> {
    const enriched = rewriteDocument(document);
    if (users.missing.length === 0 && bots.missing.length === 0 && channels.missing.length === 0) return enriched;
    return Promise.all(resolvers.map((resolver) => resolver.resolveMissing())).then(() => rewriteDocument(document));
  }

  const rewrite = (text: string) => rewriteSlackText(text, resolveUser, resolveChannel);
  const rewriteOrNull = (text: string | null | undefined): string | null => (text === null || text === undefined ? null : rewrite(text));

  /**
   * The author's name: users through the user map (then users.info), else the name their message carries (Slack
   * Connect `user_profile`); bots by the name their message carries, else their bot user (user map) or bots.info.
   */
  function authorOf(message: MessageDocument): string | null {
    const authorId = message.author_id;
    const carried = message.author !== null && message.author !== authorId ? message.author : null;
    if (authorId === null || authorId === '') return message.author;
    if (message.author_type === 'bot') {
      if (carried !== null) return carried;
      return (botIdPattern.test(authorId) ? bots.resolve(authorId) : resolveUser(authorId)) ?? authorId;
    }
    // Only users.list outranks the name a message carries: whether users.info already answered for this id depends on
    // the order channels finish in, and a document must not.
    if (listedUsers.has(authorId)) return users.names.get(authorId)!;
    if (carried !== null) {
      usersFromProfiles++;
      return carried;
    }
    return resolveUser(authorId) ?? authorId;
  }

  const authorName = (id: string | null): string | null => (id === null || id === '' ? id : (resolveUser(id) ?? id));

  const naming: Naming = { conversationName, authorOf, authorName, rewrite, rewriteOrNull };
  const rewriteMessage = (message: MessageDocument): MessageDocument => enrichedMessage(message, naming);
  const rewriteChannel = (channel: ChannelDocument): ChannelDocument => enrichedChannel(channel, naming);

  function learnUser(user: UserDocument): void {
    users.names.set(user._id, displayName(user));
    listedUsers.add(user._id);
    usersLearned++;
  }

  function enrichStep(document: AnyDocument): AnyDocument | Promise<AnyDocument> | undefined {
    switch (document.type) {
      case 'message':
        if (!channels.names.has(document.channel_id) && document.channel) channels.names.set(document.channel_id, document.channel);
        return withLookups(rewriteMessage, document);
      case 'channel':
        if (document.name) channels.names.set(document._id, document.name);
        return withLookups(rewriteChannel, document);
      case 'user':
        learnUser(document);
        if (syncUsers) return document;
        usersDropped++;
        return undefined;
      default:
        return document;
    }
  }

  return stepStage('enrich', enrichStep, (): EnrichStats => ({
    usersLearned,
    lookups: users.lookups,
    lookupFailures: users.failures + bots.failures + channels.failures,
    unknownUsers: users.unknownCount,
    usersDropped,
    botLookups: bots.lookups,
    channelLookups: channels.lookups,
    unknownBots: bots.unknownCount,
    unknownChannels: channels.unknownCount,
    usersFromProfiles,
  }));
}
