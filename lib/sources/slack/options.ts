// The Slack source's options, declared once: slackSource's defaults, the CLI flags, --help, the README table and the connector's fields.

import { declareOptions } from '../../options.js';
import { defaultTierRates } from './pacer.js';

export type ChannelType = 'public' | 'private' | 'im' | 'mpim';
export const channelTypes: readonly ChannelType[] = ['public', 'private', 'im', 'mpim'];

export const slackSourceOptions = declareOptions({
  token: {
    flag: 'token',
    type: 'string',
    env: 'SLACK_TOKEN',
    placeholder: 'xoxb-…',
    secret: true,
    description: 'Slack bot (xoxb-) or user (xoxp-) token; prefer the environment variable',
    connector: {
      key: 'token',
      label: 'Authentication Token',
      order: 1,
      display: 'textbox',
      sensitive: true,
      required: true,
      tooltip: 'The Slack Authentication Token for the slack application you created. See the docs for details.',
    },
  },
  slackApiUrl: {
    flag: 'slack-api-url',
    type: 'string',
    env: 'SLACK_API_URL',
    placeholder: 'URL',
    description: 'Slack Web API base URL (GovSlack, proxies, the fake)',
    default: 'https://slack.com/api/',
  },
  fetchLastNDays: {
    flag: 'fetch-last-n-days',
    type: 'count',
    minimum: 0,
    placeholder: 'N',
    description: 'days of message history to read; 0 = all history',
    details: "; Elastic's connector fetched nothing with 0",
    default: 180,
    connector: {
      key: 'fetch_last_n_days',
      label: 'Days of message history to fetch',
      order: 2,
      display: 'numeric',
      tooltip:
        'How far back in time to request message history from slack. Messages older than this will not be indexed. 0 reads all history.',
    },
  },
  since: {
    flag: 'since',
    type: 'string',
    placeholder: 'WHEN',
    description:
      'oldest message time, inclusive: ISO date (2026-03-01), date-time (2026-03-01T09:00, …Z) or duration ' +
      'back from now (P30D, 30d, 12h); not with --fetch-last-n-days',
    details:
      '; `2w` and offsets like `…+01:00` work too. `--until` alone reads all history before it. Threads ' +
      'started in the window come with all their replies. `--until` before `--since` → exit 2',
  },
  until: {
    flag: 'until',
    type: 'string',
    placeholder: 'WHEN',
    description: 'newest message time, exclusive; same forms as --since (a date means its 00:00)',
    defaultText: 'now',
  },
  timeZone: {
    flag: 'time-zone',
    type: 'string',
    placeholder: 'ZONE',
    description: 'IANA time zone for --since/--until dates without an offset and for day durations',
    details: '(`P1D` back across a DST change is 23 or 25 hours)',
    defaultText: 'the system zone, e.g. from TZ',
  },
  autoJoinChannels: {
    flag: 'auto-join-channels',
    type: 'boolean',
    default: false,
    description: 'join public channels the bot is not in (needs channels:join)',
    connector: {
      key: 'auto_join_channels',
      label: 'Automatically join channels',
      order: 3,
      display: 'toggle',
      tooltip:
        'The Slack application bot will only be able to read conversation history from channels it has ' +
        'joined. Enabling this lets it join every public channel itself (needs channels:join).',
    },
  },
  syncUsers: {
    flag: 'no-sync-users',
    type: 'boolean',
    default: true,
    description: 'do not emit user documents (users are still read to resolve names)',
    connector: {
      key: 'sync_users',
      label: 'Sync users',
      order: 4,
      display: 'toggle',
      tooltip: 'Whether or not Slack Users should be indexed as documents in Elasticsearch.',
    },
  },
  threads: {
    flag: 'no-threads',
    type: 'boolean',
    default: true,
    description: 'do not read thread replies',
    connector: {
      key: 'threads',
      label: 'Sync thread replies',
      order: 6,
      display: 'toggle',
      tooltip: 'Read the replies of every thread whose parent is inside the window, including late replies.',
    },
  },
  channelTypes: {
    flag: 'channel-types',
    type: 'list',
    placeholder: 'public,private,im,mpim',
    choices: channelTypes,
    description: 'conversation types to read',
    default: ['public'] as ChannelType[],
    connector: {
      key: 'channel_types',
      label: 'Conversation types',
      order: 5,
      display: 'textarea',
      tooltip: 'Comma-separated: public, private (needs groups:history), im and mpim (need im:history, mpim:history).',
    },
  },
  channels: {
    flag: 'channels',
    type: 'list',
    placeholder: 'a,b',
    description: 'only these channels (names or ids)',
    details:
      '(`general` or `#general`). An entry that matches nothing, a channel the bot is not in, or a private ' +
      'channel left out by `--channel-types` is named with its fix; when nothing at all would be read → ' +
      'exit 2',
    defaultText: 'all',
    connector: {
      key: 'channels',
      label: 'Channels to sync',
      order: 8,
      display: 'textarea',
      tooltip: 'Comma-separated channel names or ids.',
    },
  },
  excludeChannels: {
    flag: 'exclude-channels',
    type: 'list',
    placeholder: 'a,b',
    description: 'never these channels (names or ids); wins over --channels',
    connector: {
      key: 'exclude_channels',
      label: 'Channels never to sync',
      order: 9,
      display: 'textarea',
      tooltip: 'Comma-separated channel names or ids; wins over the channels to sync.',
    },
  },
  concurrency: {
    flag: 'concurrency',
    type: 'count',
    minimum: 1,
    placeholder: 'N',
    description: 'channels read at once',
    default: 4,
  },
  tierRates: {
    flag: 'tier-rates',
    type: 'string',
    placeholder: 'T2,T3,T4',
    description: 'requests per minute per Slack method of tiers 2, 3, 4',
    default: defaultTierRates,
    defaultText: `${defaultTierRates.tier2},${defaultTierRates.tier3},${defaultTierRates.tier4}`,
  },
});
