// Runs one Slack job for the CLI: checks everything that can fail early, builds the standard pipeline, reports.

import type { Writable } from 'node:stream';
import { ConfigError, RunError, describeError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { pipeline, type RunStats } from '../pipeline.js';
import type { Sink, Stage } from '../stage.js';
import { slackSource } from '../sources/slack/source.js';
import { enrich } from '../transforms/enrich.js';
import { loadRules, syncRules } from '../transforms/sync-rules.js';
import { dedupe } from '../transforms/dedupe.js';
import { formatSummary, progressLine } from './report.js';
import { secretsOf, type CliConfig } from './options.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress display). */
  stderrIsTTY: boolean;
}

export interface JobPlan {
  config: CliConfig;
  io: CliIo;
  /** Checks that must pass before any Slack call (output path, Elasticsearch reachability and auth). */
  preflight: () => Promise<void>;
  sink: Sink<any>;
  verb: string;
  destination: string;
  /** Extra options for the source (the demo points it at its fake). */
  now?: number;
}

export function loggerFor(config: Pick<CliConfig, 'logFormat' | 'token' | 'esApiKey' | 'esPassword'>, io: CliIo): Logger {
  return createLogger({ format: config.logFormat, secrets: secretsOf(config), write: (line) => io.stderr.write(line + '\n') });
}

/** SLACK_ETL_NOW (ISO time or epoch ms) pins the window's "now", for reproducible runs and tests. */
function nowFromEnvironment(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SLACK_ETL_NOW;
  if (!text) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value)) throw new ConfigError('usage', `SLACK_ETL_NOW must be an ISO time or epoch milliseconds, got '${text}'`, { hint: 'unset it to use the current time' });
  return value;
}

/** Exit code of a finished run: 1 when the sink had to drop documents (a partial run). */
function exitCodeOf(stats: RunStats): 0 | 1 {
  return typeof stats.sink.dropped === 'number' && stats.sink.dropped > 0 ? 1 : 0;
}

export async function runSlackJob(plan: JobPlan): Promise<number> {
  const { config, io } = plan;
  const logger = loggerFor(config, io);
  if (!config.token) {
    throw new ConfigError('token_missing', 'no Slack token', { hint: 'set SLACK_TOKEN (preferred) or pass --token xoxb-…' });
  }
  const rules = config.rules ? await loadRules(config.rules) : [];
  await plan.preflight();

  const abort = new AbortController();
  const stopSignals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (signal: string) => {
    logger.warn(`received ${signal}: stopping; nothing is written under the final name (run again to start over)`);
    abort.abort(new RunError('interrupted', `interrupted by ${signal}`));
  };
  for (const signal of stopSignals) process.on(signal, onSignal);

  const source = slackSource({
    token: config.token,
    slackApiUrl: config.slackApiUrl,
    fetchLastNDays: config.fetchLastNDays,
    autoJoinChannels: config.autoJoinChannels,
    syncUsers: true, // enrich learns names from user documents and drops them when --no-sync-users
    threads: config.threads,
    channelTypes: config.channelTypes,
    channels: config.channels,
    excludeChannels: config.excludeChannels,
    concurrency: config.concurrency,
    tierRates: config.tierRates,
    now: plan.now ?? nowFromEnvironment(io.env),
    logger,
    signal: abort.signal,
  });
  const stages: Stage<any, any>[] = [
    Object.assign(enrich({ syncUsers: config.syncUsers, lookupUser: (id) => source.lookupUser(id) }), { stageName: 'enrich' }),
  ];
  if (rules.length > 0) stages.push(Object.assign(syncRules(rules), { stageName: 'syncRules' }));
  stages.push(Object.assign(dedupe(), { stageName: 'dedupe' }));
  const progress = !config.quiet && io.stderrIsTTY ? progressLine(io.stderr, () => source.client.stats().calls) : null;
  if (progress) stages.push(progress);

  try {
    const stats = await pipeline(source, ...stages, plan.sink, { logger, signal: abort.signal });
    progress?.stop();
    if (stats.sink.closedEarly) return 0;
    if (!config.quiet) io.stderr.write(formatSummary(plan.verb, plan.destination, stats) + '\n');
    const code = exitCodeOf(stats);
    if (code !== 0) {
      logger.error(`the run was partial: ${stats.sink.dropped} documents were rejected by the sink; they are in ${String(stats.sink.deadLetterFile ?? 'the dead-letter file')}`);
    }
    return code;
  } catch (error) {
    progress?.stop();
    if (abort.signal.aborted) throw abort.signal.reason;
    throw error;
  } finally {
    for (const signal of stopSignals) process.off(signal, onSignal);
  }
}

export { describeError };
