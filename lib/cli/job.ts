// Runs one Slack job for the CLI: checks everything that can fail early, builds the standard pipeline, reports.

import { setMaxListeners } from 'node:events';
import { resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { ConfigError, RunError } from '../errors.js';
import { createLogger, type Logger } from '../log.js';
import { pipeline, type RunStats } from '../pipeline.js';
import { defineStage, type Sink, type Stage } from '../stage.js';
import { runSourceFor } from '../sources/registry.js';
import type { RunSource, SourceIdentity } from '../sources/run-source.js';
import { keepingSlackObjects } from '../slack-raw.js';
import { enrich } from '../transforms/enrich.js';
import { loadRules, syncRules, type SyncRule } from '../transforms/sync-rules.js';
import { dedupe } from '../transforms/dedupe.js';
import { ndjsonSink } from '../sinks/ndjson.js';
import { StateStore } from '../state/store.js';
import { formatSummary, progressDisplay, summaryObject } from './report.js';
import { RunProgress } from '../progress.js';
import {
  checkStateTarget,
  isFileOutput,
  lockRunFiles,
  partialPathFor,
  refuseToReplacePreviousExport,
  resumePoint,
  stateSaveError,
} from './run-files.js';
import { removeTemporariesOfDeadProcesses } from '../files.js';
import { secretsOf, type CliConfig } from './options.js';

export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Whether stderr is a terminal (progress display). */
  stderrIsTTY: boolean;
  /** Whether stdout is a terminal (`list` prints a table there, NDJSON otherwise). */
  stdoutIsTTY?: boolean;
}

export interface JobPlan {
  config: CliConfig;
  io: CliIo;
  /** Checks that must pass before any Slack call (output path, Elasticsearch reachability and auth). */
  preflight: () => Promise<void>;
  sink: Sink<any>;
  /** Builds the sink once the source has named its team and the state is open (formats that need either). */
  sinkFor?: (run: JobRun) => Sink<any>;
  /** The sink writes Slack's own objects: the source carries them (slack-export). */
  keepSlackObjects?: boolean;
  /** Each channel's messages as one block in ts order (the source then holds a channel at a time: see README). */
  channelBlocks?: boolean;
  /** The sink reports the run's state (Singer STATE): keep one in memory when --state is not given. */
  needsState?: boolean;
  verb: string;
  destination: string;
  /** Sync rules already loaded (sync hands them to its sink too); otherwise loaded from --rules. */
  rules?: SyncRule[];
  /** Extra options for the source (the demo points it at its fake). */
  now?: number;
  /**
   * Stops the run from outside (the connector service: a canceled job, a shutdown). With it the run leaves SIGINT and
   * SIGTERM to the caller, and an abort rejects with the signal's reason.
   */
  signal?: AbortSignal;
  /** Stages to run right before the sink (after dedupe), e.g. a progress counter. */
  stages?: Stage<any, any>[];
  /** Receives the run's statistics when the pipeline finished. */
  onStats?: (stats: RunStats) => void;
}

export interface JobRun {
  team: SourceIdentity;
  state: StateStore | undefined;
  /** Marks everything tracked as written and records the channels' checkpoints: call once every document is out. */
  settleState: () => void;
  /** Users the run found by lookup (users.info: Slack Connect and new users), beyond the user documents. */
  lookedUpUsers: () => Array<Record<string, any>>;
}

/** The run's logger on stderr; `write` lets a live progress line put log lines above itself. */
export function loggerFor(
  config: Pick<CliConfig, 'logFormat' | 'token' | 'esApiKey' | 'esPassword'>,
  io: CliIo,
  write: (line: string) => void = (line) => io.stderr.write(line + '\n'),
): Logger {
  return createLogger({ format: config.logFormat, secrets: secretsOf(config), write });
}

/** SLACK_ETL_NOW (ISO time or epoch ms) pins the window's "now", for reproducible runs and tests. */
function nowFromEnvironment(env: NodeJS.ProcessEnv): number | undefined {
  const text = env.SLACK_ETL_NOW;
  if (!text) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(value))
    throw new ConfigError('usage', `SLACK_ETL_NOW must be an ISO time or epoch milliseconds, got '${text}'`, {
      hint: 'unset it to use the current time',
    });
  return value;
}

/** Exit code of a finished run: 1 when the sink had to drop documents (a partial run). */
function exitCodeOf(stats: RunStats): 0 | 1 {
  return typeof stats.sink.dropped === 'number' && stats.sink.dropped > 0 ? 1 : 0;
}

export { partialPathFor } from './run-files.js';

async function saveStateFile(state: StateStore): Promise<void> {
  try {
    await state.save();
  } catch (error) {
    throw stateSaveError(error, state.path);
  }
}

export async function runSlackJob(plan: JobPlan): Promise<number> {
  const { config, io } = plan;
  // Where log lines go: stderr, until a live progress line takes them to write them above itself.
  const logLines = { write: (line: string): void => void io.stderr.write(line + '\n') };
  const logger = loggerFor(config, io, (line) => logLines.write(line));
  if (!config.token && config.fromArchive === undefined) {
    throw new ConfigError('token_missing', 'no Slack token', {
      hint: 'set SLACK_TOKEN (preferred) or pass --token xoxb-… (or read an export with --from-archive FILE.zip)',
    });
  }
  const rules = plan.rules ?? (config.rules ? await loadRules(config.rules) : []);
  await plan.preflight();
  if (config.state) await checkStateTarget(config.state);
  const out = config.command === 'export' ? (config.out ?? '-') : undefined;
  // One run per state and per output file, taken before the state is read (README, "One run at a time").
  const locks = await lockRunFiles(config.state, out);
  try {
    return await runLocked(plan, logger, logLines, rules, out);
  } finally {
    await locks.release();
  }
}

/** How this run's output relates to its state: whether it checkpoints and resumes, and from where. */
interface OutputPlan {
  state: StateStore | undefined;
  persistState: boolean;
  fileOutput: boolean;
  resumable: boolean;
  resumeFrom: Awaited<ReturnType<typeof resumePoint>> | null;
}

async function planOutput(plan: JobPlan, out: string | undefined): Promise<OutputPlan> {
  const { config } = plan;
  const state = config.state ? await StateStore.open(config.state) : plan.needsState ? StateStore.empty() : undefined;
  try {
    return await checkOutput(plan, out, state);
  } catch (error) {
    // A refused run in a long-lived process (the connector service, a library caller) must not keep SQLite's exclusive lock.
    state?.close();
    throw error;
  }
}

async function checkOutput(plan: JobPlan, out: string | undefined, state: StateStore | undefined): Promise<OutputPlan> {
  const { config } = plan;
  const persistState = config.state !== undefined;
  const fileOutput = await isFileOutput(out);
  // gzip streams cannot be cut back to a checkpoint, and a pipe cannot be rewound: those save the state at the end only.
  // Other formats write more (or other) lines than documents, which the checkpoints count: they save at the end too.
  const resumable = persistState && state !== undefined && fileOutput && !out!.endsWith('.gz') && config.format === 'ndjson';
  if (state?.run && !(resumable && resolve(state.run.path) === resolve(out!))) {
    throw new ConfigError('state_run_pending', `the state file ${state.path} records an unfinished export to ${state.run.path}`, {
      hint: `finish it first: run the same export again with --out ${state.run.path}`,
    });
  }
  if (persistState && state && fileOutput) await refuseToReplacePreviousExport(state, out!);
  const resumeFrom = state && resumable ? await resumePoint(state, out!) : null;
  // Temporary files of killed runs to this output (a SIGKILL cannot clean up): ours now that we hold its lock.
  if (fileOutput) await removeTemporariesOfDeadProcesses(out!, 'partial');
  return { state, persistState, fileOutput, resumable, resumeFrom };
}

/** SIGINT/SIGTERM (or the caller's signal) abort the run; `dispose` stops listening. */
function interruptions(plan: JobPlan, logger: Logger, resumable: boolean) {
  const abort = new AbortController();
  // Every paced call waiting for its turn listens on this one signal (and removes its listener after).
  setMaxListeners(0, abort.signal);
  const stopSignals = ['SIGINT', 'SIGTERM'] as const;
  const onSignal = (signal: string) => {
    if (abort.signal.aborted) {
      // A second Ctrl-C means "now": the shell's convention, 128 + the signal number.
      logger.warn(`received ${signal} again: exiting at once${resumable ? ' (the state keeps the last checkpoint)' : ''}`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    logger.warn(
      resumable
        ? `received ${signal}: stopping; saving what was written so far`
        : `received ${signal}: stopping; nothing is written under the final name (run again to start over)`,
    );
    const message = resumable
      ? `interrupted: run the same command again to resume (state kept in ${plan.config.state})`
      : `interrupted by ${signal}`;
    abort.abort(new RunError('interrupted', message));
  };
  const external = plan.signal;
  const onExternalAbort = () => abort.abort(external!.reason);
  if (external) {
    if (external.aborted) onExternalAbort();
    else external.addEventListener('abort', onExternalAbort, { once: true });
  } else {
    for (const signal of stopSignals) process.on(signal, onSignal);
  }
  const dispose = () => {
    for (const signal of stopSignals) process.off(signal, onSignal);
    external?.removeEventListener('abort', onExternalAbort);
  };
  return { signal: abort.signal, dispose };
}

/** enrich → syncRules → dedupe → the plan's stages → progress → (state tracking), in the order the README draws. */
function standardStages(
  plan: JobPlan,
  source: RunSource,
  rules: SyncRule[],
  state: StateStore | undefined,
  signal: AbortSignal,
  lookedUpUsers: Array<Record<string, any>>,
): Stage<any, any>[] {
  const lookupUser = async (id: string) => {
    const user = await source.lookups.lookupUser?.(id);
    if (user && plan.keepSlackObjects) lookedUpUsers.push(user);
    return user ?? null;
  };
  const enrichStage = enrich({ ...source.lookups, syncUsers: plan.config.syncUsers, lookupUser });
  // enrich writes new documents: the Slack objects a format needs are put back on them.
  const stages: Stage<any, any>[] = [plan.keepSlackObjects ? keepingSlackObjects(enrichStage) : enrichStage];
  if (rules.length > 0) stages.push(syncRules(rules));
  stages.push(dedupe({ seen: state }));
  if (plan.stages) stages.push(...plan.stages);
  if (state) {
    const stopOnAbort = defineStage('stop-on-abort', async function* (documents: AsyncIterable<unknown>) {
      for await (const document of documents) {
        if (signal.aborted) throw signal.reason;
        yield document;
      }
    });
    stages.push(stopOnAbort, state.track());
  }
  return stages;
}

/** The NDJSON sink of a resumed export: it continues the partial file and checkpoints the state as it goes. */
function resumingSink(out: string, state: StateStore, resumeFrom: NonNullable<OutputPlan['resumeFrom']>): Sink<any> {
  const partialPath = partialPathFor(out);
  let committedInRun = 0;
  return ndjsonSink({
    path: out,
    resume: {
      partialPath,
      committedBytes: resumeFrom.committedBytes,
      repeats: resumeFrom.repeats,
      // A document the state knows may be in the partial file from before the interruption, in an older version.
      isRepeat: (document) => typeof document._id === 'string' && state.get(document._id) !== undefined,
      onCheckpoint: async (checkpoint) => {
        state.commit(checkpoint.documents - committedInRun);
        committedInRun = checkpoint.documents;
        state.run = { path: out, partialPath, committedBytes: checkpoint.bytes, repeats: checkpoint.repeats };
        await saveStateFile(state);
      },
    },
  });
}

async function runLocked(
  plan: JobPlan,
  logger: Logger,
  logLines: { write: (line: string) => void },
  rules: SyncRule[],
  out: string | undefined,
): Promise<number> {
  const { config, io } = plan;
  const output = await planOutput(plan, out);
  const { state, resumable } = output;
  const stop = interruptions(plan, logger, resumable);
  const runProgress = new RunProgress();
  const source = runSourceFor(config).create({
    config,
    now: plan.now ?? nowFromEnvironment(io.env),
    logger,
    signal: stop.signal,
    state,
    progress: runProgress,
    keepSourceObjects: plan.keepSlackObjects,
    channelBlocks: plan.channelBlocks,
    // A resumed export does not read again the channels the interrupted run finished and committed.
    skipChannels: state?.run && resumable ? state.finishedChannelsOfRun() : undefined,
  });
  const lookedUpUsers: Array<Record<string, any>> = [];
  const stages = standardStages(plan, source, rules, state, stop.signal, lookedUpUsers);
  const progress = config.quiet
    ? null
    : progressDisplay({
        stream: io.stderr,
        tty: io.stderrIsTTY,
        format: config.logFormat,
        intervalMs: config.progressIntervalSeconds * 1000,
        progress: runProgress,
        apiCalls: () => source.apiCalls?.() ?? 0,
        waits: () => source.waits?.() ?? [],
        indexing: config.command === 'sync',
      });
  if (progress) {
    // Before state tracking: the progress counts what reached the sink's side of the pipeline.
    stages.splice(state ? stages.length - 2 : stages.length, 0, progress.stage);
    logLines.write = (line) => progress.writeAbove(line);
  }
  try {
    // auth.test before anything is written: a state file of another team must fail here, untouched.
    const team = await source.team();
    if (state) await state.bindTeam({ id: team.id, url: team.url });
    let sink = plan.sink;
    if (plan.sinkFor) {
      // Channel checkpoints travel with the documents through state.track(): committing them records both.
      sink = plan.sinkFor({ team, state, settleState: () => state?.commit(), lookedUpUsers: () => lookedUpUsers });
    }
    if (state && output.resumeFrom) sink = resumingSink(out!, state, output.resumeFrom);
    const stats = await pipeline(source, stages, sink, { logger, signal: stop.signal });
    progress?.stop();
    plan.onStats?.(stats);
    if (stats.sink.closedEarly) return 0;
    return await finishRun(plan, logger, output, out, stats, source.window);
  } catch (error) {
    progress?.stop();
    if (stop.signal.aborted) throw stop.signal.reason;
    throw error;
  } finally {
    stop.dispose();
    // Releases SQLite's exclusive lock before the lock file goes.
    state?.close();
  }
}

/** After the pipeline: the state saved when everything reached the sink, the summary, the exit code. */
async function finishRun(
  plan: JobPlan,
  logger: Logger,
  output: OutputPlan,
  out: string | undefined,
  stats: RunStats,
  window: RunSource['window'],
): Promise<number> {
  const { config, io } = plan;
  const { state } = output;
  if (state && output.persistState && exitCodeOf(stats) === 0) {
    // Everything reached the sink: the documents, then the thread checkpoints they vouch for.
    state.commit();
    state.run = null;
    if (output.fileOutput) state.lastOutput = { path: resolve(out!), finishedAt: new Date().toISOString() };
    await saveStateFile(state);
  }
  if (!config.quiet) {
    const summary =
      config.logFormat === 'json'
        ? JSON.stringify(summaryObject(plan.verb, plan.destination, stats, window))
        : formatSummary(plan.verb, plan.destination, stats, window);
    io.stderr.write(summary + '\n');
  }
  const code = exitCodeOf(stats);
  if (code !== 0) {
    const deadLetter = String(stats.sink.deadLetterFile ?? 'the dead-letter file');
    logger.error(`the run was partial: ${stats.sink.dropped} documents were rejected by the sink; they are in ${deadLetter}`);
  }
  return code;
}
