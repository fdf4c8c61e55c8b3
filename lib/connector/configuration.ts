// The Slack connector's configuration schema as Kibana renders it, and its values read back into slackSource options.

import type { OptionDeclaration } from '../options.js';
import { channelTypes, slackSourceOptions, type ChannelType } from '../sources/slack/options.js';

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

const connectorTypes = { string: 'str', count: 'int', seconds: 'int', list: 'list', boolean: 'bool' } as const;
const slack = slackSourceOptions;

/** A field of the schema from the Slack source's declaration of the same setting: label, type, default, tooltip. */
function declaredField(declaration: OptionDeclaration, extra: Partial<ConfigurationField> = {}): ConfigurationField {
  const connector = declaration.connector!;
  const fallback = Array.isArray(declaration.default) ? declaration.default.join(',') : (declaration.default ?? null);
  return field({
    label: connector.label,
    order: connector.order,
    display: connector.display,
    tooltip: connector.tooltip ?? declaration.description,
    type: connectorTypes[declaration.type],
    required: connector.required ?? false,
    sensitive: connector.sensitive ?? false,
    // Toggles carry their default as the value (as Elastic's service writes them); other fields as default_value.
    ...(declaration.type === 'boolean' ? { value: fallback } : { default_value: fallback }),
    ...(declaration.type === 'count' ? { validations: [{ type: 'greater_than', constraint: (declaration.minimum ?? 0) - 1 }] } : {}),
    ...extra,
  });
}

/**
 * The first four fields are Elastic's Slack connector's (same keys, types, labels, order), so a connector created for
 * Elastic's service works unchanged; the rest are slack-etl's own. `depends_on` hides and skips `channels` until the
 * user turns "Sync every channel" off. Everything but that switch is the Slack source's declaration (lib/sources/slack/options.ts).
 */
export const slackConfigurationSchema: Record<string, ConfigurationField> = {
  token: declaredField(slack.token),
  fetch_last_n_days: declaredField(slack.fetchLastNDays),
  auto_join_channels: declaredField(slack.autoJoinChannels),
  sync_users: declaredField(slack.syncUsers),
  channel_types: declaredField(slack.channelTypes, {
    value: slack.channelTypes.default.join(','),
    validations: [{ type: 'included_in', constraint: [...channelTypes] }],
  }),
  threads: declaredField(slack.threads),
  sync_all_channels: field({
    display: 'toggle',
    label: 'Sync every channel',
    order: 7,
    tooltip: 'Turn off to choose the channels to sync.',
    type: 'bool',
    required: false,
    value: true,
  }),
  channels: declaredField(slack.channels, { required: true, depends_on: [{ field: 'sync_all_channels', value: false }] }),
  exclude_channels: declaredField(slack.excludeChannels),
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

  let fetchLastNDays: number = slack.fetchLastNDays.default;
  const days = raw('fetch_last_n_days');
  if (!isEmpty(days)) {
    const text = String(days).trim();
    if (/^\d+$/.test(text)) fetchLastNDays = Number(text);
    else problems.push(`${name('fetch_last_n_days')} must be a whole number of days (0 = all history), got ${JSON.stringify(days)}`);
  }
  const requestedTypes = list('channel_types') ?? slack.channelTypes.default;
  const unknownTypes = requestedTypes.filter((type) => !channelTypes.includes(type as ChannelType));
  if (unknownTypes.length > 0) {
    const plural = unknownTypes.length > 1 ? 's' : '';
    problems.push(`${name('channel_types')} has unknown type${plural} ${unknownTypes.join(', ')} (use ${channelTypes.join(', ')})`);
  }

  const syncAllChannels = boolean('sync_all_channels', true);
  const channels = syncAllChannels ? undefined : list('channels');
  if (!syncAllChannels && channels === undefined) missing.push(name('channels'));

  const settings: SlackJobSettings = {
    token,
    fetchLastNDays,
    autoJoinChannels: boolean('auto_join_channels', slack.autoJoinChannels.default),
    syncUsers: boolean('sync_users', slack.syncUsers.default),
    threads: boolean('threads', slack.threads.default),
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
