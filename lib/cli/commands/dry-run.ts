// `export|sync --dry-run`: the channels a run would read, with the estimated API calls and time; reads no history.

import { ConfigError } from '../../errors.js';
import { slackSource } from '../../sources/slack/source.js';
import { listPaged } from '../../sources/slack/listing.js';
import { channelSelection, channelTypes, checkChannelSelection, isMember, slackTypeNames, typeOf } from '../../sources/slack/selection.js';
import { conversationName } from '../../sources/slack/to-documents.js';
import { loggerFor, type CliIo } from '../job.js';
import type { CliConfig } from '../options.js';
import { formatDuration } from '../report.js';

export async function runDryRun(config: CliConfig, io: CliIo): Promise<number> {
  if (!config.token)
    throw new ConfigError('token_missing', 'no Slack token', { hint: 'set SLACK_TOKEN (preferred) or pass --token xoxb-…' });
  const logger = loggerFor(config, io);
  const source = slackSource({ ...config, state: undefined, token: config.token, logger });
  await source.team();
  const listParams = (types: readonly string[]) => ({
    types: types.map((type) => slackTypeNames[type as keyof typeof slackTypeNames]).join(','),
    exclude_archived: false,
  });
  const listed: Array<Record<string, any>> = [];
  for await (const channel of listPaged(source.client, 'conversations.list', listParams(config.channelTypes), 'channels'))
    listed.push(channel);
  const selection = channelSelection(config);
  const readable = listed.filter(selection.isReadable);
  const listEveryType = async () => {
    const all: Array<Record<string, any>> = [];
    for await (const channel of listPaged(source.client, 'conversations.list', listParams(channelTypes), 'channels')) all.push(channel);
    return all;
  };
  await checkChannelSelection(config, listed, readable.length, listEveryType, logger);
  let users = 0;
  for await (const _user of listPaged(source.client, 'users.list', {}, 'members')) users++;
  const joins = readable.filter((channel) => !isMember(channel)).length;
  for (const channel of readable) {
    io.stdout.write(
      `${channel.id}  ${typeOf(channel).padEnd(7)}  ${isMember(channel) ? 'member  ' : 'to join '}  ${conversationName(channel)}\n`,
    );
  }
  // At least one history page per channel; each thread and each further 999 messages add one call Slack cannot tell us in advance.
  const historyCalls = readable.length;
  const listCalls = Math.max(1, Math.ceil(users / 999)) + Math.max(1, Math.ceil(listed.length / 999));
  const minutes = listCalls / config.tierRates.tier2 + Math.max(historyCalls / config.tierRates.tier3, joins / config.tierRates.tier3);
  io.stderr.write(
    `dry run: would read ${readable.length} channels (${joins} to join) and ${users} users, window ` +
      `${source.window.sinceMs === null ? 'all history' : new Date(source.window.sinceMs).toISOString()} → ` +
      `${source.window.untilMs === null ? 'now' : new Date(source.window.untilMs).toISOString()}\n` +
      `  at least ${listCalls + historyCalls + joins + 1} API calls (auth.test 1, lists ${listCalls}, conversations.history ≥ ` +
      `${historyCalls}, conversations.join ${joins}), at least ${formatDuration(minutes * 60_000)} at --tier-rates ` +
      `${config.tierRates.tier2},${config.tierRates.tier3},${config.tierRates.tier4};\n` +
      `  each thread adds one conversations.replies call and each further 999 messages one conversations.history call (Tier ` +
      `3, ${config.tierRates.tier3}/min); no history was read\n`,
  );
  return 0;
}
