// The CLI's options: each component's declarations, which commands take them, and parsing into one CliConfig.

import { basicAuthSecret } from '../log.js';
import { declareOptions, type OptionDeclaration } from '../options.js';
import { connectorServiceOptions } from '../connector/options.js';
import { elasticsearchSinkOptions } from '../sinks/elasticsearch/options.js';
import { archiveSourceOptions } from '../sources/archive/options.js';
import { slackSourceOptions } from '../sources/slack/options.js';
import type { TierRates } from '../sources/slack/pacer.js';
import type { ChannelType } from '../sources/slack/source.js';

export type CommandName = 'export' | 'sync' | 'demo' | 'connector' | 'list';

export const exportFormats = ['ndjson', 'es-bulk', 'singer', 'slack-export'] as const;
export type ExportFormat = (typeof exportFormats)[number];

/** Options of the run itself (where output goes, state, rules, logging) rather than of one component. */
export const runOptions = declareOptions({
  out: {
    flag: 'out',
    type: 'string',
    placeholder: 'FILE|-',
    description:
      'output file (`.gz` = gzip) or - for stdout; written under a temporary name and renamed on success ' +
      '(slack-export: `.zip` or a new folder)',
    details: '; an existing file is replaced only then',
    defaultText: 'export: -, demo: slack-demo.ndjson',
  },
  format: {
    flag: 'format',
    type: 'string',
    choices: exportFormats,
    placeholder: 'ndjson|es-bulk|singer|slack-export',
    description:
      'ndjson: documents; es-bulk: an Elasticsearch/OpenSearch _bulk body; singer: Singer ' +
      "SCHEMA/RECORD/STATE messages; slack-export: Slack's export layout (ZIP or folder)",
    details: '(see Piping into other tools)',
    default: 'ndjson',
  },
  rules: {
    flag: 'rules',
    type: 'string',
    placeholder: 'FILE',
    description: 'Elastic basic sync rules (JSON array, {"rules": […]}, or a connector\'s filtering)',
    details: '(see Sync rules)',
  },
  state: {
    flag: 'state',
    type: 'string',
    placeholder: 'FILE',
    description: 'incremental state: the next run emits only new, changed and deleted documents',
    details: '(see Incremental runs)',
  },
  alsoExport: {
    flag: 'also-export',
    type: 'string',
    placeholder: 'FILE',
    description: 'also write the synced documents as NDJSON (`.gz` = gzip, - = stdout) in the same run; Slack is read once',
    details: '(`teeSink`: the slower of index and file paces the run; if either fails, the file is not kept)',
  },
  dryRun: {
    flag: 'dry-run',
    type: 'boolean',
    default: false,
    description: 'list what would be read with the estimated API calls and time, without reading any history',
    details:
      '(channels on stdout; the window and the calls and time at `--tier-rates` on stderr: history size is ' +
      'unknown until read, so these are minimums; writes nothing)',
  },
  progressIntervalSeconds: {
    flag: 'progress-interval',
    type: 'count',
    minimum: 1,
    placeholder: 'SECONDS',
    description: 'seconds between progress log lines when stderr is not a terminal',
    default: 10,
  },
  quiet: { flag: 'quiet', type: 'boolean', default: false, description: 'no progress display and no summary' },
  logFormat: {
    flag: 'log-format',
    type: 'string',
    choices: ['text', 'json'],
    placeholder: 'text|json',
    description: 'stderr log format; json adds error details',
    details: '(warnings, progress and the summary as JSON objects, errors with codes and stack traces)',
    default: 'text',
  },
  help: { flag: 'help', type: 'boolean', short: 'h', default: false, description: 'show this help' },
});

export interface CliOption extends OptionDeclaration {
  name: keyof CliConfig;
  commands: readonly CommandName[];
}

const slackCommands = ['export', 'sync'] as const;
const allCommands = ['export', 'sync', 'demo', 'connector', 'list'] as const;
/** Commands that talk to Elasticsearch; the connector service also paces Slack like export and sync. */
const elasticsearchCommands = ['sync', 'connector'] as const;
const slackServiceCommands = ['export', 'sync', 'connector'] as const;
/** Commands that read Slack with a token (list only reads the channel and user lists). */
const slackReaders = ['export', 'sync', 'list'] as const;
const slackReaderServices = ['export', 'sync', 'connector', 'list'] as const;

const on = (commands: readonly CommandName[], declaration: OptionDeclaration, override: Partial<OptionDeclaration> = {}): CliOption =>
  ({ ...declaration, ...override, commands }) as CliOption;
const slack = slackSourceOptions;
const elasticsearch = elasticsearchSinkOptions;
const run = runOptions;

/** Every flag, in --help and README order; the declarations (and defaults) are the components'. */
export const optionSpecs: readonly CliOption[] = [
  on(['export', 'demo'], run.out),
  on(['export'], run.format),
  on(slackCommands, archiveSourceOptions.fromArchive),
  on(slackCommands, archiveSourceOptions.workspaceUrl),
  on(slackReaders, slack.token),
  on(slackReaderServices, slack.slackApiUrl),
  on(slackCommands, slack.fetchLastNDays, {
    defaultText: `${slack.fetchLastNDays.default}; ${archiveSourceOptions.fetchLastNDays.default} with --from-archive`,
  }),
  on(slackCommands, slack.since),
  on(slackCommands, slack.until),
  on(slackCommands, slack.timeZone),
  on(slackCommands, slack.autoJoinChannels),
  on(slackCommands, slack.syncUsers),
  on(slackCommands, slack.threads),
  on(slackReaders, slack.channelTypes),
  on(slackCommands, slack.channels),
  on(slackCommands, slack.excludeChannels),
  on(slackCommands, run.rules),
  on(slackCommands, run.state),
  on(slackServiceCommands, slack.concurrency),
  on(slackReaderServices, slack.tierRates),
  on(['sync', 'export'], elasticsearch.index),
  on(elasticsearchCommands, elasticsearch.esUrl),
  on(elasticsearchCommands, elasticsearch.esApiKey),
  on(elasticsearchCommands, elasticsearch.esUsername),
  on(elasticsearchCommands, elasticsearch.esPassword),
  on(elasticsearchCommands, elasticsearch.esCaCert),
  on(['sync'], elasticsearch.deleteStale),
  on(['sync'], elasticsearch.deadLetter),
  on(['sync'], run.alsoExport),
  on(['connector'], connectorServiceOptions.connectorIds),
  on(['connector'], connectorServiceOptions.pollIntervalSeconds),
  on(allCommands, run.quiet),
  on(allCommands, run.logFormat),
  on(['export', 'sync'], run.dryRun),
  on(['export', 'sync', 'demo'], run.progressIntervalSeconds),
  on(allCommands, run.help),
];

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
  /** `sync`: an NDJSON file written from the same documents (teeSink). */
  alsoExport: string | undefined;
  quiet: boolean;
  logFormat: 'text' | 'json';
  dryRun: boolean;
  progressIntervalSeconds: number;
  help: boolean;
  /** `connector`: the connectors this process serves. */
  connectorIds: string[];
  pollIntervalSeconds: number;
}

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
