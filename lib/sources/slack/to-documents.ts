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

type Raw = Record<string, any>;

const stringOrNull = (value: unknown): string | null => (typeof value === 'string' ? value : null);
const numberOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) ? value : null);
/** Slack sends 0 for "never" (Slackbot's `updated`, an unset topic's `last_set`): no time, not 1970. */
const timeOrNull = (value: unknown): number | null => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : null);
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

/** Name shown for a conversation: channels have names; a DM is named by the other member's id. */
export const conversationName = (channel: Raw): string => String(channel.name ?? channel.user ?? channel.id);

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
    name: channel.is_im ? conversationName(channel) : stringOrNull(channel.name),
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

function attachmentsText(attachments: unknown): string | null {
  if (!Array.isArray(attachments) || attachments.length === 0) return null;
  const parts = attachments
    .map((attachment: Raw) => stringOrNull(attachment.text) || stringOrNull(attachment.fallback) || stringOrNull(attachment.title) || '')
    .filter((text) => text.length > 0);
  return parts.length > 0 ? parts.join('\n') : null;
}

function reactions(raw: unknown): Reaction[] | null {
  if (!Array.isArray(raw) || raw.length === 0) return null;
  return raw.map((reaction: Raw) => ({ name: String(reaction.name), count: Number(reaction.count ?? 0) }));
}

export function toMessageDocument(message: Raw, channel: Raw, teamUrl: string | null): MessageDocument {
  const channelId = String(channel.id);
  const ts = String(message.ts);
  const isBot = Boolean(message.bot_id) || message.subtype === 'bot_message';
  const authorId = stringOrNull(message.user) ?? stringOrNull(message.bot_id);
  const botName = stringOrNull(message.bot_profile?.name) ?? stringOrNull(message.username);
  const editedTs = stringOrNull(message.edited?.ts);
  const threadTs = stringOrNull(message.thread_ts);
  return {
    _id: messageId(channelId, ts),
    id: messageId(channelId, ts),
    type: 'message',
    channel: conversationName(channel),
    channel_id: channelId,
    author: isBot ? (botName ?? authorId) : authorId,
    author_id: authorId,
    author_type: isBot ? 'bot' : 'user',
    text: typeof message.text === 'string' ? message.text : '',
    edited_ts: editedTs,
    ts,
    subtype: stringOrNull(message.subtype),
    reply_count: numberOrNull(message.reply_count),
    latest_reply: stringOrNull(message.latest_reply),
    thread_ts: threadTs,
    permalink: permalink(teamUrl, channelId, ts, threadTs),
    files: Array.isArray(message.files) && message.files.length > 0 ? message.files.map(toFileMetadata) : null,
    attachments_text: attachmentsText(message.attachments),
    reactions: reactions(message.reactions),
    _timestamp: slackTsToIso(editedTs ?? ts),
  };
}
