// Raw Slack API objects → the documents of SPEC §2 (Elastic-compatible fields plus ours), in a fixed key order.

import {
  channelUrl,
  messageId,
  permalink,
  slackTsToIso,
  type ChannelDocument,
  type FileMetadata,
  type MessageDocument,
  type Reaction,
  type UserDocument,
} from '../../documents.js';
import { searchableText } from './message-text.js';
import { malformedMarker } from './nesting-guard.js';

type Raw = Record<string, any>;

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
/** Slack sends 0 for "never" (Slackbot's `updated`, an unset topic's `last_set`): no time, not 1970. */
const timeOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null);
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null;
const booleanOrNull = (value: unknown): boolean | null => (typeof value === 'boolean' ? value : null);

export function toUserDocument(member: Raw): UserDocument {
  const profile: Raw = member.profile ?? {};
  const updated = timeOrNull(member.updated);
  return {
    _id: String(member.id),
    id: String(member.id),
    type: 'user',
    real_name_normalized: stringOrNull(profile.real_name_normalized),
    profile_real_name: stringOrNull(profile.real_name),
    display_name: stringOrNull(profile.display_name),
    display_name_normalized: stringOrNull(profile.display_name_normalized),
    first_name: stringOrNull(profile.first_name),
    last_name: stringOrNull(profile.last_name),
    name: stringOrNull(member.name),
    deleted: booleanOrNull(member.deleted),
    real_name: stringOrNull(member.real_name ?? profile.real_name),
    is_admin: booleanOrNull(member.is_admin),
    is_owner: booleanOrNull(member.is_owner),
    is_bot: booleanOrNull(member.is_bot),
    tz: stringOrNull(member.tz),
    title: stringOrNull(profile.title),
    updated,
    _timestamp: slackTsToIso(updated ?? 0),
  };
}

/** Slack's name of a conversation, as `--channels` matches it: channels have names; a DM is named by the other member's id. */
export const conversationName = (channel: Raw): string => String(channel.name ?? channel.user ?? channel.id);

/**
 * The name documents carry: Slack's, except a group DM (`mpdm-ann--bob--carl-1`) reads as its members' handles
 * (`ann, bob, carl`). A DM keeps the other member's id here; the enrich stage turns it into their name.
 */
export function conversationTitle(channel: Raw): string {
  const name = conversationName(channel);
  const members = channel.is_mpim ? /^mpdm-(.+)-\d+$/.exec(name) : null;
  return members ? members[1]!.split('--').join(', ') : name;
}

export function toChannelDocument(channel: Raw, teamUrl: string | null): ChannelDocument {
  const topic: Raw = channel.topic ?? {};
  const purpose: Raw = channel.purpose ?? {};
  // Slack sends `updated` in milliseconds and `created` in seconds.
  const updatedMs = timeOrNull(channel.updated);
  const created = timeOrNull(channel.created);
  return {
    _id: String(channel.id),
    id: String(channel.id),
    type: 'channel',
    topic: stringOrNull(topic.value),
    topic_author: stringOrNull(topic.creator) || null,
    topic_last_updated: timeOrNull(topic.last_set),
    purpose: stringOrNull(purpose.value),
    purpose_author: stringOrNull(purpose.creator) || null,
    purpose_last_updated: timeOrNull(purpose.last_set),
    last_updated: updatedMs,
    name: channel.is_im || channel.is_mpim ? conversationTitle(channel) : stringOrNull(channel.name),
    name_normalized: stringOrNull(channel.name_normalized),
    created,
    is_private: Boolean(channel.is_private || channel.is_im || channel.is_mpim),
    is_archived: Boolean(channel.is_archived),
    num_members: numberOrNull(channel.num_members),
    url: channelUrl(teamUrl, String(channel.id)),
    _timestamp: updatedMs !== null ? new Date(updatedMs).toISOString() : slackTsToIso(created ?? 0),
  };
}

function toFileMetadata(file: Raw): FileMetadata {
  return {
    id: String(file.id),
    name: stringOrNull(file.name),
    title: stringOrNull(file.title),
    mimetype: stringOrNull(file.mimetype),
    filetype: stringOrNull(file.filetype),
    size: numberOrNull(file.size),
    url_private: stringOrNull(file.url_private),
    permalink: stringOrNull(file.permalink),
  };
}

function files(raw: unknown): FileMetadata[] | null {
  const objects = Array.isArray(raw) ? raw.filter(isObject) : [];
  return objects.length > 0 ? objects.map(toFileMetadata) : null;
}

function reactions(raw: unknown): Reaction[] | null {
  const objects = Array.isArray(raw) ? raw.filter(isObject) : [];
  if (objects.length === 0) return null;
  return objects.map((reaction: Raw) => ({ name: String(reaction.name), count: Number(reaction.count ?? 0) }));
}

/** A message that cannot become a document (no usable `ts`, hostile nesting): the source skips it and counts it. */
export class MalformedMessageError extends Error {
  readonly code = 'malformed_message';
  constructor(readonly problem: string) {
    super(`malformed Slack message: ${problem}`);
    this.name = 'MalformedMessageError';
  }
}

const slackTsPattern = /^\d{1,12}(?:\.\d{1,9})?$/;

const tsOrNull = (value: unknown): string | null => (typeof value === 'string' && slackTsPattern.test(value) ? value : null);

/** Name a Slack Connect message carries for its author (`user_profile`), in the display-name order of users. */
function profileName(profile: unknown): string | null {
  if (typeof profile !== 'object' || profile === null) return null;
  const fields = profile as Raw;
  for (const candidate of [
    fields.display_name_normalized,
    fields.display_name,
    fields.real_name_normalized,
    fields.real_name,
    fields.name,
  ]) {
    if (typeof candidate === 'string' && candidate.trim() !== '') return candidate;
  }
  return null;
}

/**
 * A raw message → its document. `author` is the best name the message itself carries (bot profile or username,
 * Slack Connect `user_profile`), else the raw id; the enrich stage resolves ids. Throws MalformedMessageError for a
 * message without a usable `ts`.
 */
export function toMessageDocument(message: Raw, channel: Raw, teamUrl: string | null): MessageDocument {
  if (!isObject(message) || Array.isArray(message)) throw new MalformedMessageError('it is not a JSON object');
  if (typeof message[malformedMarker] === 'string') throw new MalformedMessageError(message[malformedMarker]);
  if (typeof message.ts !== 'string')
    throw new MalformedMessageError(message.ts === undefined ? 'it has no ts' : `its ts is a ${typeof message.ts}, not a string`);
  if (!slackTsPattern.test(message.ts))
    throw new MalformedMessageError(`its ts ${JSON.stringify(message.ts.slice(0, 40))} is not a Slack timestamp`);
  const channelId = String(channel.id);
  const ts = message.ts;
  const isBot = Boolean(message.bot_id) || message.subtype === 'bot_message';
  const authorId = stringOrNull(message.user) ?? stringOrNull(message.bot_id);
  const messageName = isBot
    ? (stringOrNull(message.bot_profile?.name) ?? stringOrNull(message.username))
    : profileName(message.user_profile);
  const editedTs = tsOrNull(message.edited?.ts);
  const threadTs = stringOrNull(message.thread_ts);
  const { text, blocksText, attachmentsText } = searchableText(message);
  return {
    _id: messageId(channelId, ts),
    id: messageId(channelId, ts),
    type: 'message',
    channel: conversationTitle(channel),
    channel_id: channelId,
    author: messageName ?? authorId,
    author_id: authorId,
    author_type: isBot ? 'bot' : 'user',
    text,
    blocks_text: blocksText,
    edited_ts: editedTs,
    ts,
    created_at: slackTsToIso(ts),
    subtype: stringOrNull(message.subtype),
    reply_count: numberOrNull(message.reply_count),
    latest_reply: stringOrNull(message.latest_reply),
    thread_ts: threadTs,
    permalink: permalink(teamUrl, channelId, ts, threadTs),
    files: files(message.files),
    attachments_text: attachmentsText,
    reactions: reactions(message.reactions),
    _timestamp: slackTsToIso(editedTs ?? ts),
  };
}
