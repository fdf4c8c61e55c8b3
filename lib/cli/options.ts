// The CLI's options, declared once: parsing, validation, defaults, environment variables and --help all read this table.

import { parseArgs } from 'node:util';
import { ConfigError } from '../errors.js';
import { basicAuthSecret } from '../log.js';
import { channelTypes, type ChannelType } from '../sources/slack/selection.js';
import { defaultTierRates, parseTierRates, type TierRates } from '../sources/slack/pacer.js';

export type CommandName = 'export' | 'sync' | 'demo' | 'connector' | 'list';
type Kind = 'string' | 'boolean' | 'count' | 'list';

interface OptionSpec {
  flag: string;
  kind: Kind;
  commands: readonly CommandName[];
  description: string;
  env?: string;
  /** Elastic connector's name for the same setting. */
  elastic?: string;
  placeholder?: string;
  /** One-letter alias (`-h`). */
  short?: string;
  secret?: boolean;
  defaultText?: string;
  /** May be given more than once; the values add up (as do comma-separated ones). */
  repeatable?: boolean;
}

const slackCommands = ['export', 'sync'] as const;
const allCommands = ['export', 'sync', 'demo', 'connector', 'list'] as const;
/** Commands that talk to Elasticsearch; the connector service also paces Slack like export and sync. */
const elasticsearchCommands = ['sync', 'connector'] as const;
const slackServiceCommands = ['export', 'sync', 'connector'] as const;
/** Commands that read Slack with a token (list only reads the channel and user lists). */
const slackReaders = ['export', 'sync', 'list'] as const;
const slackReaderServices = ['export', 'sync', 'connector', 'list'] as const;

export const optionSpecs: readonly OptionSpec[] = [
  {
    flag: 'out',
    kind: 'string',
    commands: ['export', 'demo'],
    placeholder: 'FILE|-',
    description:
      'output file (`.gz` = gzip) or - for stdout; written under a temporary name and renamed on success (slack-export: `.zip` or a new folder)',
    defaultText: 'export: -, demo: slack-demo.ndjson',
  },
  {
    flag: 'format',
    kind: 'string',
    commands: ['export'],
    placeholder: 'ndjson|es-bulk|singer|slack-export',
    description:
      "ndjson: documents; es-bulk: an Elasticsearch/OpenSearch _bulk body; singer: Singer SCHEMA/RECORD/STATE messages; slack-export: Slack's export layout (ZIP or folder)",
    defaultText: 'ndjson',
  },
  {
    flag: 'from-archive',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'FILE.zip|DIR',
    description: 'read a Slack export archive (ZIP or unpacked folder) instead of the Slack API; no token needed',
  },
  {
    flag: 'workspace-url',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'URL',
    description: 'with --from-archive: the workspace URL (https://acme.slack.com/) for permalinks and channel URLs, which an export lacks',
  },
  {
    flag: 'token',
    kind: 'string',
    commands: slackReaders,
    env: 'SLACK_TOKEN',
    elastic: 'token',
    placeholder: 'xoxb-…',
    secret: true,
    description: 'Slack bot (xoxb-) or user (xoxp-) token; prefer the environment variable',
  },
  {
    flag: 'slack-api-url',
    kind: 'string',
    commands: slackReaderServices,
    env: 'SLACK_API_URL',
    placeholder: 'URL',
    description: 'Slack Web API base URL (GovSlack, proxies, the fake)',
    defaultText: 'https://slack.com/api/',
  },
  {
    flag: 'fetch-last-n-days',
    kind: 'count',
    commands: slackCommands,
    elastic: 'fetch_last_n_days',
    placeholder: 'N',
    description: 'days of message history to read; 0 = all history',
    defaultText: '180; 0 with --from-archive',
  },
  {
    flag: 'since',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'WHEN',
    description:
      'oldest message time, inclusive: ISO date (2026-03-01), date-time (2026-03-01T09:00, …Z) or duration back from now (P30D, 30d, 12h); not with --fetch-last-n-days',
  },
  {
    flag: 'until',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'WHEN',
    description: 'newest message time, exclusive; same forms as --since (a date means its 00:00)',
    defaultText: 'now',
  },
  {
    flag: 'time-zone',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'ZONE',
    description: 'IANA time zone for --since/--until dates without an offset and for day durations',
    defaultText: 'the system zone, e.g. from TZ',
  },
  {
    flag: 'auto-join-channels',
    kind: 'boolean',
    commands: slackCommands,
    elastic: 'auto_join_channels',
    description: 'join public channels the bot is not in (needs channels:join)',
  },
  {
    flag: 'no-sync-users',
    kind: 'boolean',
    commands: slackCommands,
    elastic: 'sync_users: false',
    description: 'do not emit user documents (users are still read to resolve names)',
  },
  { flag: 'no-threads', kind: 'boolean', commands: slackCommands, description: 'do not read thread replies' },
  {
    flag: 'channel-types',
    kind: 'list',
    commands: slackReaders,
    placeholder: 'public,private,im,mpim',
    description: 'conversation types to read',
    defaultText: 'public',
  },
  { flag: 'channels', kind: 'list', commands: slackCommands, placeholder: 'a,b', description: 'only these channels (names or ids)' },
  {
    flag: 'exclude-channels',
    kind: 'list',
    commands: slackCommands,
    placeholder: 'a,b',
    description: 'never these channels (names or ids); wins over --channels',
  },
  {
    flag: 'rules',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'FILE',
    description: 'Elastic basic sync rules (JSON array, {"rules": […]}, or a connector\'s filtering)',
  },
  {
    flag: 'state',
    kind: 'string',
    commands: slackCommands,
    placeholder: 'FILE',
    description: 'incremental state: the next run emits only new, changed and deleted documents',
  },
  {
    flag: 'concurrency',
    kind: 'count',
    commands: slackServiceCommands,
    placeholder: 'N',
    description: 'channels read at once',
    defaultText: '4',
  },
  {
    flag: 'tier-rates',
    kind: 'string',
    commands: slackReaderServices,
    placeholder: 'T2,T3,T4',
    description: 'requests per minute per Slack method of tiers 2, 3, 4',
    defaultText: '20,50,100',
  },
  {
    flag: 'index',
    kind: 'string',
    commands: ['sync', 'export'],
    placeholder: 'NAME',
    description: 'sync: Elasticsearch index (created with mappings if missing); export --format es-bulk: the _index of every action line',
  },
  {
    flag: 'es-url',
    kind: 'string',
    commands: elasticsearchCommands,
    env: 'ELASTICSEARCH_URL',
    placeholder: 'URL',
    description: 'Elasticsearch URL',
  },
  {
    flag: 'es-api-key',
    kind: 'string',
    commands: elasticsearchCommands,
    env: 'ELASTICSEARCH_API_KEY',
    placeholder: 'KEY',
    secret: true,
    description: 'Elasticsearch API key (encoded form)',
  },
  {
    flag: 'es-username',
    kind: 'string',
    commands: elasticsearchCommands,
    env: 'ELASTICSEARCH_USERNAME',
    placeholder: 'USER',
    description: 'Elasticsearch basic-auth user',
  },
  {
    flag: 'es-password',
    kind: 'string',
    commands: elasticsearchCommands,
    env: 'ELASTICSEARCH_PASSWORD',
    placeholder: 'PASSWORD',
    secret: true,
    description: 'Elasticsearch basic-auth password; prefer the environment variable',
  },
  {
    flag: 'es-ca-cert',
    kind: 'string',
    commands: elasticsearchCommands,
    placeholder: 'FILE',
    description: 'CA certificate (PEM) to trust for Elasticsearch',
  },
  {
    flag: 'delete-stale',
    kind: 'boolean',
    commands: ['sync'],
    description: 'delete indexed messages no longer in Slack (complete channels only, inside the window)',
  },
  {
    flag: 'dead-letter',
    kind: 'string',
    commands: ['sync'],
    placeholder: 'FILE',
    description: 'NDJSON file for documents Elasticsearch rejected after retries',
    defaultText: 'slack-etl-dead-letter.ndjson',
  },
  {
    flag: 'connector-id',
    kind: 'list',
    commands: ['connector'],
    placeholder: 'ID',
    repeatable: true,
    description: 'Elastic connector to serve (its document id in .elastic-connectors); repeat for several workspaces',
  },
  {
    flag: 'poll-interval',
    kind: 'string',
    commands: ['connector'],
    placeholder: 'SECONDS',
    description: 'how often to check in, read configuration, sync rules, schedules and pending jobs',
    defaultText: '30',
  },
  { flag: 'quiet', kind: 'boolean', commands: allCommands, description: 'no progress display and no summary' },
  {
    flag: 'log-format',
    kind: 'string',
    commands: allCommands,
    placeholder: 'text|json',
    description: 'stderr log format; json adds error details',
    defaultText: 'text',
  },
  {
    flag: 'dry-run',
    kind: 'boolean',
    commands: ['export', 'sync'],
    description: 'list what would be read with the estimated API calls and time, without reading any history',
  },
  {
    flag: 'progress-interval',
    kind: 'count',
    commands: ['export', 'sync', 'demo'],
    placeholder: 'SECONDS',
    description: 'seconds between progress log lines when stderr is not a terminal',
    defaultText: '10',
  },
  { flag: 'help', kind: 'boolean', short: 'h', commands: allCommands, description: 'show this help' },
];

export const exportFormats = ['ndjson', 'es-bulk', 'singer', 'slack-export'] as const;
export type ExportFormat = (typeof exportFormats)[number];

export interface CliConfig {
  command: CommandName;
  out: string | undefined;
  format: ExportFormat;
  fromArchive: string | undefined;
  workspaceUrl: string | undefined;
  token: string | undefined;
  slackApiUrl: string | undefined;
  fetchLastNDays: number;
  since: string | undefined;
  until: string | undefined;
  timeZone: string | undefined;
  autoJoinChannels: boolean;
  syncUsers: boolean;
  threads: boolean;
  channelTypes: ChannelType[];
  channels: string[] | undefined;
  excludeChannels: string[] | undefined;
  rules: string | undefined;
  state: string | undefined;
  concurrency: number;
  tierRates: TierRates;
  index: string | undefined;
  esUrl: string | undefined;
  esApiKey: string | undefined;
  esUsername: string | undefined;
  esPassword: string | undefined;
  esCaCert: string | undefined;
  deleteStale: boolean;
  deadLetter: string;
  quiet: boolean;
  logFormat: 'text' | 'json';
  dryRun: boolean;
  progressIntervalSeconds: number;
  help: boolean;
  /** `connector`: the connectors this process serves. */
  connectorIds: string[];
  pollIntervalSeconds: number;
}

const usageError = (message: string, command: string) => new ConfigError('usage', message, { hint: `see 'slack-etl ${command} --help'` });

function parseCount(flag: string, text: string, command: string, minimum: number): number {
  if (!/^\d+$/.test(text.trim())) throw usageError(`--${flag} must be a whole number, got '${text}'`, command);
  const value = Number(text);
  if (value < minimum) throw usageError(`--${flag} must be at least ${minimum}, got ${value}`, command);
  return value;
}

const parseList = (text: string | undefined): string[] | undefined =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0);
/** Channel lists take names as Slack shows them (`#general`) as well as bare names and ids. */
const parseChannelList = (text: string | undefined): string[] | undefined => parseList(text)?.map((item) => item.replace(/^#/, ''));

/** Parse `argv` (after the command name) for `command`. Throws ConfigError (exit 2) naming the flag at fault. */
export function parseCommandLine(command: CommandName, argv: string[], env: NodeJS.ProcessEnv = process.env): CliConfig {
  const specs = optionSpecs.filter((spec) => spec.commands.includes(command));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: Object.fromEntries(
        specs.map((spec) => [
          spec.flag,
          {
            type: spec.kind === 'boolean' ? 'boolean' : 'string',
            ...(spec.repeatable ? { multiple: true } : {}),
            ...(spec.short ? { short: spec.short } : {}),
          },
        ]),
      ) as Record<string, { type: 'boolean' | 'string'; multiple?: boolean; short?: string }>,
    });
  } catch (error) {
    const message = (error as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    if (unknown) throw usageError(`unknown option ${unknown[1]} for 'slack-etl ${command}'`, command);
    const missingValue = /Option '([^']+?)(?: <value>)?' argument missing/.exec(message);
    if (missingValue) throw usageError(`option ${missingValue[1]!.split(',').pop()!.trim()} needs a value`, command);
    // parseArgs will not take a value starting with '-' after a space (`--concurrency -1`): say what it saw.
    const ambiguous = /Option '([^']+)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const flag = ambiguous[1]!.split(',').pop()!.trim();
      const next = argv[argv.indexOf(flag) + 1] ?? '';
      throw new ConfigError('usage', `option ${flag} needs a value, but is followed by '${next}'`, {
        hint: `write ${flag}=${next} if that is the value; see 'slack-etl ${command} --help'`,
      });
    }
    const positional = /Unexpected argument '([^']+)'/.exec(message);
    if (positional) throw usageError(`unexpected argument '${positional[1]}' for 'slack-etl ${command}'`, command);
    throw usageError(message.split('\n')[0]!, command);
  }
  const values = parsed.values as Record<string, string | string[] | boolean | undefined>;
  const text = (flag: string): string | undefined => {
    const spec = specs.find((candidate) => candidate.flag === flag);
    const given = values[flag];
    const value = Array.isArray(given) ? given.join(',') : given;
    if (typeof value === 'string') {
      if (value.trim() === '' && flag !== 'out') throw usageError(`--${flag} needs a non-empty value`, command);
      return value;
    }
    const fromEnv = spec?.env ? env[spec.env] : undefined;
    return fromEnv === undefined || fromEnv === '' ? undefined : fromEnv;
  };
  const flagSet = (flag: string): boolean => values[flag] === true;

  const requestedTypes = parseList(text('channel-types')) ?? ['public'];
  for (const type of requestedTypes) {
    if (!channelTypes.includes(type as ChannelType))
      throw usageError(`--channel-types: unknown type '${type}' (use ${channelTypes.join(', ')})`, command);
  }
  const logFormat = text('log-format') ?? 'text';
  if (logFormat !== 'text' && logFormat !== 'json') throw usageError(`--log-format must be text or json, got '${logFormat}'`, command);
  let tierRates = defaultTierRates;
  const tierText = text('tier-rates');
  if (tierText !== undefined) {
    try {
      tierRates = parseTierRates(tierText);
    } catch (error) {
      throw usageError(`--tier-rates: ${(error as Error).message}`, command);
    }
  }
  const pollText = text('poll-interval');
  let pollIntervalSeconds = 30;
  if (pollText !== undefined) {
    // Fractions are allowed (tests poll fast); Elastic's service polls every 30 s by default.
    pollIntervalSeconds = Number(pollText);
    if (!/^\d+(\.\d+)?$/.test(pollText.trim()) || !(pollIntervalSeconds > 0) || pollIntervalSeconds > 86_400) {
      throw usageError(`--poll-interval must be a number of seconds between 0 and 86400, got '${pollText}'`, command);
    }
  }
  const fetchText = text('fetch-last-n-days');
  const since = text('since');
  const until = text('until');
  if (fetchText !== undefined && (since !== undefined || until !== undefined)) {
    throw usageError(
      `--fetch-last-n-days cannot be combined with --${since !== undefined ? 'since' : 'until'}: drop --fetch-last-n-days (--since 30d reads the last 30 days)`,
      command,
    );
  }
  const concurrencyText = text('concurrency');
  const format = (text('format') ?? 'ndjson') as ExportFormat;
  if (!exportFormats.includes(format)) throw usageError(`--format must be one of ${exportFormats.join(', ')}, got '${format}'`, command);
  const fromArchive = text('from-archive');
  if (fromArchive !== undefined && (since !== undefined || until !== undefined)) {
    throw usageError(
      `--${since !== undefined ? 'since' : 'until'} is not supported with --from-archive yet: use --fetch-last-n-days`,
      command,
    );
  }
  const workspaceUrl = text('workspace-url');
  if (workspaceUrl !== undefined && fromArchive === undefined)
    throw usageError('--workspace-url only applies with --from-archive (the API names the workspace itself)', command);
  if (workspaceUrl !== undefined && !/^https?:\/\/[^/]+/.test(workspaceUrl))
    throw usageError(`--workspace-url must be a URL like https://acme.slack.com/, got '${workspaceUrl}'`, command);
  if (command === 'export' && text('index') !== undefined && format !== 'es-bulk')
    throw usageError('--index applies to export only with --format es-bulk', command);
  if (format === 'slack-export' && text('state') !== undefined) {
    throw new ConfigError('usage', '--format slack-export cannot be combined with --state', {
      hint: 'an export archive is a whole snapshot: drop --state (or use --format ndjson, es-bulk or singer for incremental runs)',
    });
  }
  const progressText = text('progress-interval');
  return {
    command,
    out: text('out'),
    format,
    fromArchive,
    workspaceUrl,
    token: text('token'),
    slackApiUrl: text('slack-api-url'),
    // An archive is read whole unless a window is asked for; the API's default window is Elastic's 180 days.
    fetchLastNDays:
      fetchText === undefined ? (fromArchive !== undefined ? 0 : 180) : parseCount('fetch-last-n-days', fetchText, command, 0),
    since,
    until,
    timeZone: text('time-zone'),
    autoJoinChannels: flagSet('auto-join-channels'),
    syncUsers: !flagSet('no-sync-users'),
    threads: !flagSet('no-threads'),
    channelTypes: [...new Set(requestedTypes)] as ChannelType[],
    channels: parseChannelList(text('channels')),
    excludeChannels: parseChannelList(text('exclude-channels')),
    rules: text('rules'),
    state: text('state'),
    concurrency: concurrencyText === undefined ? 4 : parseCount('concurrency', concurrencyText, command, 1),
    tierRates,
    index: text('index'),
    esUrl: text('es-url'),
    esApiKey: text('es-api-key'),
    esUsername: text('es-username'),
    esPassword: text('es-password'),
    esCaCert: text('es-ca-cert'),
    deleteStale: flagSet('delete-stale'),
    deadLetter: text('dead-letter') ?? 'slack-etl-dead-letter.ndjson',
    quiet: flagSet('quiet'),
    logFormat,
    dryRun: flagSet('dry-run'),
    progressIntervalSeconds: progressText === undefined ? 10 : parseCount('progress-interval', progressText, command, 1),
    help: flagSet('help'),
    connectorIds: [...new Set(parseList(text('connector-id')) ?? [])],
    pollIntervalSeconds,
  };
}

const commandSummaries: Record<CommandName, string> = {
  export: 'slack-etl export [--out FILE|-] [options]            Slack → NDJSON (default stdout)',
  sync: 'slack-etl sync --index NAME [es options] [options]     Slack → Elasticsearch',
  demo: 'slack-etl demo [--out FILE|-]                         bundled sample workspace, served on loopback, → NDJSON',
  connector:
    'slack-etl connector --connector-id ID [es options]    self-managed Elastic connector service (Kibana configures and schedules it)',
  list: 'slack-etl list channels|users [options]               what the token can see (table on a terminal, NDJSON when piped)',
};

export function commandHelp(command: CommandName): string {
  const specs = optionSpecs.filter((spec) => spec.commands.includes(command));
  const label = (spec: OptionSpec) =>
    `${spec.short ? `-${spec.short}, ` : ''}--${spec.flag}${spec.placeholder ? ` ${spec.placeholder}` : ''}`;
  const width = Math.max(...specs.map((spec) => label(spec).length)) + 2;
  const lines = specs.map((spec) => {
    const extras = [
      spec.defaultText ? `default ${spec.defaultText}` : '',
      spec.env ? `env ${spec.env}` : '',
      spec.elastic ? `Elastic: ${spec.elastic}` : '',
    ]
      .filter(Boolean)
      .join('; ');
    return `  ${label(spec).padEnd(width)}${spec.description}${extras ? ` (${extras})` : ''}`;
  });
  return [`usage: ${commandSummaries[command]}`, '', 'options:', ...lines, '', exitCodesHelp].join('\n');
}

const exitCodesHelp = 'exit codes: 0 success; 1 the run failed or was partial; 2 usage, configuration, token or rules error';

const rulesSummary = 'slack-etl rules check FILE                            validate a sync-rules file';

export const rulesHelp = [
  `usage: ${rulesSummary}`,
  '',
  'Reads FILE (a JSON array of Elastic basic sync rules, {"rules": […]}, or a connector\'s filtering object) and',
  'prints "valid: N rules" with the rules in evaluation order, or every problem in it.',
  '',
  'exit codes: 0 the file is valid; 2 it is missing, unreadable, not JSON, or has invalid rules',
].join('\n');

export const generalHelp = [
  'slack-etl — move a Slack workspace into Elasticsearch or NDJSON',
  '',
  'commands:',
  ...Object.values(commandSummaries).map((line) => `  ${line}`),
  `  ${rulesSummary}`,
  "  slack-etl help [COMMAND]                              this help, or a command's options",
  '',
  'options: -h, --help (on every command), -V, --version',
  "run 'slack-etl <command> --help' for a command's options",
  exitCodesHelp,
].join('\n');

/** Every secret the configuration holds, for redaction. */
export const secretsOf = (config: Partial<CliConfig>): Array<string | undefined> => [
  config.token,
  config.esApiKey,
  config.esPassword,
  basicAuthSecret(config.esUsername, config.esPassword),
  urlPassword(config.slackApiUrl),
];

function urlPassword(url: string | undefined): string | undefined {
  try {
    return url ? decodeURIComponent(new URL(url).password) || undefined : undefined;
  } catch {
    return undefined;
  }
}
