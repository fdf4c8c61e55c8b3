// The Slack connector's configuration schema as Kibana renders it, and its values read back into slackSource options.

import { channelTypes, type ChannelType } from '../sources/slack/source.js';

/** One configurable field as the connector protocol defines it (`configuration` in `.elastic-connectors`). */
export interface ConfigurationField {
  default_value: unknown;
  depends_on: Array<{ field: string; value: string | number | boolean }>;
  display: 'textbox' | 'textarea' | 'numeric' | 'toggle' | 'dropdown';
  label: string;
  options: Array<{ label: string; value: string | number }>;
  order: number;
  required: boolean;
  sensitive: boolean;
  tooltip: string | null;
  type: 'str' | 'int' | 'list' | 'bool';
  ui_restrictions: string[];
  validations: Array<{ type: string; constraint: unknown }>;
  value: unknown;
}

export type Configuration = Record<string, Partial<ConfigurationField>>;

const field = (properties: Partial<ConfigurationField> & Pick<ConfigurationField, 'label' | 'order' | 'type'>): ConfigurationField => ({
  default_value: null,
  depends_on: [],
  display: 'textbox',
  options: [],
  required: true,
  sensitive: false,
  tooltip: null,
  ui_restrictions: [],
  validations: [],
  value: null,
  ...properties,
});

/**
 * The first four fields are Elastic's Slack connector's (same keys, types, labels, order), so a connector created for
 * Elastic's service works unchanged; the rest are slack-etl's own. `depends_on` hides and skips `channels` until the
 * user turns "Sync every channel" off.
 */
export const slackConfigurationSchema: Record<string, ConfigurationField> = {
  token: field({
    label: 'Authentication Token',
    tooltip: 'The Slack Authentication Token for the slack application you created. See the docs for details.',
    order: 1,
    sensitive: true,
    type: 'str',
  }),
  fetch_last_n_days: field({
    display: 'numeric',
    label: 'Days of message history to fetch',
    order: 2,
    tooltip:
      'How far back in time to request message history from slack. Messages older than this will not be indexed. 0 reads all history.',
    type: 'int',
    required: false,
    default_value: 180,
    validations: [{ type: 'greater_than', constraint: -1 }],
  }),
  auto_join_channels: field({
    display: 'toggle',
    label: 'Automatically join channels',
    order: 3,
    tooltip:
      'The Slack application bot will only be able to read conversation history from channels it has joined. Enabling this lets it join every public channel itself (needs channels:join).',
    type: 'bool',
    required: false,
    value: false,
  }),
  sync_users: field({
    display: 'toggle',
    label: 'Sync users',
    order: 4,
    tooltip: 'Whether or not Slack Users should be indexed as documents in Elasticsearch.',
    type: 'bool',
    required: false,
    value: true,
  }),
  channel_types: field({
    display: 'textarea',
    label: 'Conversation types',
    order: 5,
    tooltip: 'Comma-separated: public, private (needs groups:history), im and mpim (need im:history, mpim:history).',
    type: 'list',
    required: false,
    default_value: 'public',
    value: 'public',
    validations: [{ type: 'included_in', constraint: [...channelTypes] }],
  }),
  threads: field({
    display: 'toggle',
    label: 'Sync thread replies',
    order: 6,
    tooltip: 'Read the replies of every thread whose parent is inside the window, including late replies.',
    type: 'bool',
    required: false,
    value: true,
  }),
  sync_all_channels: field({
    display: 'toggle',
    label: 'Sync every channel',
    order: 7,
    tooltip: 'Turn off to choose the channels to sync.',
    type: 'bool',
    required: false,
    value: true,
  }),
  channels: field({
    display: 'textarea',
    label: 'Channels to sync',
    order: 8,
    tooltip: 'Comma-separated channel names or ids.',
    type: 'list',
    depends_on: [{ field: 'sync_all_channels', value: false }],
  }),
  exclude_channels: field({
    display: 'textarea',
    label: 'Channels never to sync',
    order: 9,
    tooltip: 'Comma-separated channel names or ids; wins over the channels to sync.',
    type: 'list',
    required: false,
  }),
};

/** What a job reads from the configuration values. */
export interface SlackJobSettings {
  token: string;
  fetchLastNDays: number;
  autoJoinChannels: boolean;
  syncUsers: boolean;
  threads: boolean;
  channelTypes: ChannelType[];
  channels: string[] | undefined;
  excludeChannels: string[] | undefined;
}

export type SettingsResult = { ok: true; settings: SlackJobSettings } | { ok: false; missing: string[]; problems: string[] };

const isEmpty = (value: unknown) =>
  value === null ||
  value === undefined ||
  (typeof value === 'string' && value.trim() === '') ||
  (Array.isArray(value) && value.length === 0);

/** Fields of the schema the configuration lacks (an older schema, or one Elastic's service wrote). */
export function missingFields(configuration: Configuration): string[] {
  return Object.keys(slackConfigurationSchema).filter((key) => !(key in configuration));
}

/**
 * Reads the values as Kibana stores them (numbers and booleans may arrive as strings, lists as comma-separated text).
 * Every problem names the field by its label and key, because that is what the user sees in Kibana.
 */
export function readSettings(configuration: Configuration): SettingsResult {
  const missing: string[] = [];
  const problems: string[] = [];
  const name = (key: string) => `${slackConfigurationSchema[key]?.label ?? key} (${key})`;
  const raw = (key: string): unknown => {
    const entry = configuration[key];
    if (!entry) return slackConfigurationSchema[key]?.value ?? slackConfigurationSchema[key]?.default_value ?? null;
    return isEmpty(entry.value) ? (entry.default_value ?? slackConfigurationSchema[key]?.default_value ?? null) : entry.value;
  };
  const boolean = (key: string, fallback: boolean): boolean => {
    const value = raw(key);
    if (isEmpty(value)) return fallback;
    if (value === true || value === 'true') return true;
    if (value === false || value === 'false') return false;
    problems.push(`${name(key)} must be true or false, got ${JSON.stringify(value)}`);
    return fallback;
  };
  const list = (key: string): string[] | undefined => {
    const value = raw(key);
    if (isEmpty(value)) return undefined;
    const items = Array.isArray(value) ? value.map(String) : String(value).split(',');
    const cleaned = items.map((item) => item.trim()).filter((item) => item.length > 0);
    return cleaned.length > 0 ? cleaned : undefined;
  };

  const tokenValue = raw('token');
  const token = typeof tokenValue === 'string' ? tokenValue.trim() : '';
  if (token === '') missing.push(name('token'));

  let fetchLastNDays = 180;
  const days = raw('fetch_last_n_days');
  if (!isEmpty(days)) {
    const text = String(days).trim();
    if (/^\d+$/.test(text)) fetchLastNDays = Number(text);
    else problems.push(`${name('fetch_last_n_days')} must be a whole number of days (0 = all history), got ${JSON.stringify(days)}`);
  }
  const requestedTypes = list('channel_types') ?? ['public'];
  const unknownTypes = requestedTypes.filter((type) => !channelTypes.includes(type as ChannelType));
  if (unknownTypes.length > 0)
    problems.push(
      `${name('channel_types')} has unknown type${unknownTypes.length > 1 ? 's' : ''} ${unknownTypes.join(', ')} (use ${channelTypes.join(', ')})`,
    );

  const syncAllChannels = boolean('sync_all_channels', true);
  const channels = syncAllChannels ? undefined : list('channels');
  if (!syncAllChannels && channels === undefined) missing.push(name('channels'));

  const settings: SlackJobSettings = {
    token,
    fetchLastNDays,
    autoJoinChannels: boolean('auto_join_channels', false),
    syncUsers: boolean('sync_users', true),
    threads: boolean('threads', true),
    channelTypes: [...new Set(requestedTypes)] as ChannelType[],
    channels,
    excludeChannels: list('exclude_channels'),
  };
  if (missing.length > 0 || problems.length > 0) return { ok: false, missing, problems };
  return { ok: true, settings };
}

/** One line for the connector's `error` field and the job's. */
export function describeSettingsProblem(result: Extract<SettingsResult, { ok: false }>): string {
  const parts = [...(result.missing.length > 0 ? [`missing ${result.missing.join(', ')}`] : []), ...result.problems];
  return `configuration: ${parts.join('; ')} — set it in Kibana (the connector's Configuration tab)`;
}
