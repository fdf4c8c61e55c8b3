// The conversations stream: conversations.list, the selection (types, include/exclude) and joining.

import { pageSizes, skipsChannel, type SourceContext } from './context.js';
import { conversationName } from './to-documents.js';

export type ChannelType = 'public' | 'private' | 'im' | 'mpim';
export const channelTypes: readonly ChannelType[] = ['public', 'private', 'im', 'mpim'];
const slackTypeNames: Record<ChannelType, string> = { public: 'public_channel', private: 'private_channel', im: 'im', mpim: 'mpim' };

export interface ConversationSelection {
  types: readonly ChannelType[];
  /** Only these channels (names or ids); empty = all. */
  include: ReadonlySet<string>;
  /** Never these (names or ids); wins over `include`. */
  exclude: ReadonlySet<string>;
}

export const typeOf = (channel: Record<string, any>): ChannelType =>
  channel.is_im ? 'im' : channel.is_mpim ? 'mpim' : channel.is_private ? 'private' : 'public';
// conversations.list sends no `is_member` for DMs: a DM it lists is always the caller's own.
export const isMember = (channel: Record<string, any>): boolean => channel.is_member === true || channel.is_im === true;

function isSelected(channel: Record<string, any>, selection: ConversationSelection): boolean {
  const id = String(channel.id);
  const name = conversationName(channel);
  if (!selection.types.includes(typeOf(channel)) || selection.exclude.has(id) || selection.exclude.has(name)) return false;
  return selection.include.size === 0 || selection.include.has(id) || selection.include.has(name);
}

/** Every conversation of the selected types, page by page. */
export async function* listConversations(context: SourceContext, types: readonly ChannelType[]): AsyncGenerator<Record<string, any>[]> {
  const params = { types: types.map((type) => slackTypeNames[type]).join(','), exclude_archived: false, limit: pageSizes.list };
  yield* context.client.paginate('conversations.list', params, 'channels', { where: '' });
}

/**
 * The channels this run reads (kept in memory: one small object per channel). Without auto-join, channels the bot is
 * not in are left out entirely, as Elastic's connector does.
 */
export async function selectConversations(context: SourceContext, selection: ConversationSelection): Promise<Record<string, any>[]> {
  const selected: Record<string, any>[] = [];
  const found = new Set<string>();
  for await (const page of listConversations(context, selection.types)) {
    for (const channel of page) {
      for (const key of [String(channel.id), conversationName(channel)]) if (selection.include.has(key)) found.add(key);
      if (isSelected(channel, selection) && (isMember(channel) || context.autoJoinChannels)) selected.push(channel);
    }
  }
  for (const name of selection.include) {
    if (!found.has(name)) context.logger.warn(`channel '${name}' given in --channels was not found (or the bot cannot see it)`);
  }
  return selected;
}

/** Joins a channel the bot is not in (with auto-join); false when it cannot be read. */
export async function joinIfNeeded(context: SourceContext, channel: Record<string, any>): Promise<boolean> {
  if (isMember(channel)) return true;
  if (!context.autoJoinChannels) return false;
  try {
    await context.client.call('conversations.join', { channel: channel.id });
    context.counters.channelsJoined++;
    return true;
  } catch (error) {
    if (skipsChannel(error)) {
      context.logger.warn(`not syncing channel '${conversationName(channel)}' (${channel.id}): cannot join it (${error.slackError})`);
      return false;
    }
    throw error;
  }
}
