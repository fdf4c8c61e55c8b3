// Which conversations a run reads: channel types, --channels / --exclude-channels, membership; and why an entry matched nothing.

import { ConfigError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { conversationName } from './to-documents.js';
import { slackSourceOptions, type ChannelType } from './options.js';

export { channelTypes, type ChannelType } from './options.js';
/** conversations.list `types` names. */
export const slackTypeNames: Record<ChannelType, string> = { public: 'public_channel', private: 'private_channel', im: 'im', mpim: 'mpim' };

type Raw = Record<string, any>;

export interface SelectionOptions {
  channelTypes?: ChannelType[];
  channels?: string[];
  excludeChannels?: string[];
  autoJoinChannels?: boolean;
}

export const typeOf = (channel: Raw): ChannelType =>
  channel.is_im ? 'im' : channel.is_mpim ? 'mpim' : channel.is_private ? 'private' : 'public';
// conversations.list sends no `is_member` for DMs: a DM it lists is always the caller's own.
export const isMember = (channel: Raw): boolean => channel.is_member === true || channel.is_im === true;

const matches = (channel: Raw, entry: string): boolean => channel.id === entry || conversationName(channel) === entry;

export function channelSelection(options: SelectionOptions) {
  const types = options.channelTypes ?? slackSourceOptions.channelTypes.default;
  const include = options.channels ?? [];
  const exclude = new Set(options.excludeChannels ?? []);
  const isSelected = (channel: Raw): boolean => {
    if (!types.includes(typeOf(channel))) return false;
    const id = String(channel.id);
    const name = conversationName(channel);
    if (exclude.has(id) || exclude.has(name)) return false;
    return include.length === 0 || include.includes(id) || include.includes(name);
  };
  /** Selected and readable: without auto-join, channels the bot is not in are left out, as Elastic's connector does. */
  const isReadable = (channel: Raw): boolean => isSelected(channel) && (isMember(channel) || options.autoJoinChannels === true);
  return { types, include, isSelected, isReadable };
}

/**
 * One warning per --channels entry that selects nothing readable, each naming the fix; a ConfigError (exit 2) when
 * --channels was given and nothing at all would be read. `listAllTypes` lists every conversation type the token may
 * list; it is called only when an entry matched none of the requested types, to tell "excluded by --channel-types".
 */
export async function checkChannelSelection(
  options: SelectionOptions,
  listed: readonly Raw[],
  readableCount: number,
  listAllTypes: () => Promise<Raw[]>,
  logger: Logger,
): Promise<void> {
  const { types, include, isSelected } = channelSelection(options);
  if (include.length === 0) return;
  let everyType: Raw[] | undefined;
  const problems: Array<{ problem: string; fix: string }> = [];
  for (const entry of include) {
    const found = listed.find((channel) => matches(channel, entry) && types.includes(typeOf(channel)));
    if (found) {
      if (!isSelected(found))
        problems.push({
          problem: `channel '${entry}' given in --channels is also in --exclude-channels`,
          fix: 'remove it from one of them (--exclude-channels wins)',
        });
      else if (!isMember(found) && !options.autoJoinChannels) {
        problems.push({
          problem: `channel '${entry}' (${found.id}) is not read: the bot is not a member`,
          fix:
            typeOf(found) === 'public'
              ? `invite the bot (/invite @app in #${conversationName(found)}) or pass --auto-join-channels`
              : 'invite the bot (/invite @app in the channel)',
        });
      }
      continue;
    }
    everyType ??= await listAllTypes().catch(() => []);
    const elsewhere = everyType.find((channel) => matches(channel, entry));
    if (elsewhere) {
      const type = typeOf(elsewhere);
      const kind = type === 'public' ? 'a public channel' : type === 'private' ? 'a private channel' : `a conversation of type ${type}`;
      problems.push({
        problem: `channel '${entry}' (${elsewhere.id}) is ${kind}, excluded by --channel-types ${types.join(',')}`,
        fix: `add its type: --channel-types ${[...types, type].join(',')}`,
      });
    } else {
      problems.push({
        problem: `channel '${entry}' given in --channels was not found`,
        fix:
          "check the name or id with 'slack-etl list channels --channel-types public,private' " +
          '(a private channel is visible only once the bot is invited)',
      });
    }
  }
  if (readableCount > 0) {
    for (const { problem, fix } of problems) logger.warn(`${problem} — ${fix}`);
    return;
  }
  if (problems.length === 1)
    throw new ConfigError('channels_nothing_to_read', `nothing to read: ${problems[0]!.problem}`, { hint: problems[0]!.fix });
  for (const { problem, fix } of problems) logger.warn(`${problem} — ${fix}`);
  throw new ConfigError(
    'channels_nothing_to_read',
    `nothing to read: none of the channels given in --channels (${include.join(', ')}) can be read`,
    {
      hint: 'fix the entries named above',
    },
  );
}
