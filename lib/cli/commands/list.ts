// `slack-etl list channels|users`: what the token can see, as a table on a terminal and NDJSON when piped.

import { ConfigError } from '../../errors.js';
import { slackSource } from '../../sources/slack/source.js';
import { SlackApiError } from '../../sources/slack/client.js';
import { listPaged } from '../../sources/slack/listing.js';
import { channelTypes, isMember, slackTypeNames, typeOf } from '../../sources/slack/selection.js';
import { conversationName } from '../../sources/slack/to-documents.js';
import { loggerFor, type CliIo } from '../job.js';
import type { CliConfig } from '../options.js';

type Row = Record<string, string | number | boolean | null>;

const subjects = {
  channels: {
    method: 'conversations.list',
    key: 'channels',
    columns: ['id', 'name', 'type', 'member', 'archived', 'members'],
    row: (channel: Record<string, any>): Row => ({
      id: String(channel.id),
      name: conversationName(channel),
      type: typeOf(channel),
      member: isMember(channel),
      archived: Boolean(channel.is_archived),
      members: typeof channel.num_members === 'number' ? channel.num_members : null,
    }),
  },
  users: {
    method: 'users.list',
    key: 'members',
    columns: ['id', 'name', 'display_name', 'bot', 'deleted'],
    row: (user: Record<string, any>): Row => ({
      id: String(user.id),
      name: String(user.name ?? ''),
      display_name: String(user.profile?.display_name || user.profile?.real_name || user.real_name || ''),
      bot: Boolean(user.is_bot) || user.id === 'USLACKBOT',
      deleted: Boolean(user.deleted),
    }),
  },
} as const;

const cell = (value: Row[string]): string => (value === null ? '-' : typeof value === 'boolean' ? (value ? 'yes' : 'no') : String(value));

export async function runList(config: CliConfig, io: CliIo, subject: string | undefined): Promise<number> {
  if (subject !== 'channels' && subject !== 'users') {
    throw new ConfigError(
      'usage',
      subject === undefined ? 'list needs what to list: channels or users' : `cannot list '${subject}': use channels or users`,
      {
        hint: "see 'slack-etl list --help'",
      },
    );
  }
  if (!config.token)
    throw new ConfigError('token_missing', 'no Slack token', { hint: 'set SLACK_TOKEN (preferred) or pass --token xoxb-…' });
  const logger = loggerFor(config, io);
  // auth.test through the source: the same token and scope checks (and messages) as an export.
  const source = slackSource({
    token: config.token,
    slackApiUrl: config.slackApiUrl,
    tierRates: config.tierRates,
    channelTypes: config.channelTypes,
    logger,
  });
  await source.team();
  const { method, key, columns, row } = subjects[subject];
  const params =
    subject === 'channels' ? { types: config.channelTypes.map((type) => slackTypeNames[type]).join(','), exclude_archived: false } : {};
  const rows: Row[] = [];
  // `slack-etl list users | head`: a reader that goes away ends the listing quietly, as it would for an export.
  let readerGone = false;
  io.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') readerGone = true;
    else throw error;
  });
  try {
    for await (const item of listPaged(source.client, method, params, key)) {
      if (readerGone) return 0;
      const line = row(item);
      if (io.stdoutIsTTY) rows.push(line);
      else io.stdout.write(JSON.stringify(line) + '\n');
    }
  } catch (error) {
    if (error instanceof SlackApiError && error.slackError === 'missing_scope') {
      throw new ConfigError('slack_missing_scope', `the Slack token lacks the scope ${error.needed ?? `${method} needs`}`, {
        hint:
          'add it under OAuth & Permissions of the Slack app and reinstall it' +
          (subject === 'channels' ? `, or list fewer --channel-types (${channelTypes.join(',')})` : ''),
      });
    }
    throw error;
  }
  if (io.stdoutIsTTY) {
    const table = [
      Object.fromEntries(columns.map((column) => [column, column.replace('_', ' ')])),
      ...rows.map((line) => Object.fromEntries(columns.map((column) => [column, cell(line[column]!)]))),
    ];
    const widths = columns.map((column) => Math.max(...table.map((line) => String(line[column]).length)));
    for (const line of table)
      io.stdout.write(
        columns
          .map((column, index) => String(line[column]).padEnd(widths[index]!))
          .join('  ')
          .trimEnd() + '\n',
      );
    if (!config.quiet) io.stderr.write(`${rows.length} ${subject}\n`);
  }
  return 0;
}
