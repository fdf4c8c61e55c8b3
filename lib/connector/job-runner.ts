// Runs one claimed sync job through the standard pipeline into the connector's index, watching for cancelation, and reports it.

import type { Client } from '@elastic/elasticsearch';
import { setTimeout as sleep } from 'node:timers/promises';
import { describeError } from '../errors.js';
import { redact, type Logger } from '../log.js';
import { checkElasticsearch, elasticsearchSink } from '../sinks/elasticsearch.js';
import { defineStage, type Stage } from '../stage.js';
import { formatRuleProblem, validateRules, type SyncRule } from '../transforms/sync-rules.js';
import { runSlackJob, type CliIo } from '../cli/job.js';
import type { CliConfig } from '../cli/options.js';
import type { RunStats } from '../pipeline.js';
import { describeSettingsProblem, readSettings } from './configuration.js';
import {
  basicSyncRulesEnabled,
  incrementalSyncEnabled,
  jobRules,
  syncJobsIndex,
  type ConnectorDocument,
  type JobStatus,
  type SyncJobDocument,
} from './protocol.js';
import { cursorOf, jobStateDirectory, restoreState } from './sync-cursor.js';

export interface JobRunnerContext {
  client: Client;
  /** The service's command line: Slack URL, tier rates, concurrency, log format, Elasticsearch connection. */
  config: CliConfig;
  io: CliIo;
  logger: Logger;
  /** Shared with every logger of the service: a connector's token joins it once read. */
  secrets: Array<string | undefined>;
  hostname: string;
  /** How often a running job checks in, reports its counts and looks for a cancelation. */
  checkIntervalMs: number;
}

/** Why a run was stopped from outside. */
type StopReason = { kind: 'suspend' } | { kind: 'cancel' } | { kind: 'lost'; status: string };

export interface JobOutcome {
  status: JobStatus;
  error: string | null;
  indexedDocumentCount: number;
  deletedDocumentCount: number;
}

const mebibyte = 1024 * 1024;

class JobSetupError extends Error {}

/** Counts documents on their way to the sink: the running job's counts before the sink's final ones exist. */
function progressCounter(): Stage<any, any> & { count: () => number } {
  let count = 0;
  const stage = defineStage('connector-progress', async function* countForConnector(documents: AsyncIterable<any>) {
    for await (const document of documents) {
      count++;
      yield document;
    }
  });
  return Object.assign(stage, { count: () => count });
}

/** Claims the job (with its sync cursor for an incremental one) and marks the connector's sync as running; null when not ours. */
async function claimJob(context: JobRunnerContext, connector: ConnectorDocument, job: SyncJobDocument, label: string) {
  const { client, logger } = context;
  try {
    await client.connector.syncJobClaim({
      connector_sync_job_id: job.id,
      worker_hostname: context.hostname,
      ...(job.job_type === 'incremental' && connector.sync_cursor !== undefined && connector.sync_cursor !== null
        ? { sync_cursor: connector.sync_cursor }
        : {}),
    });
  } catch (error) {
    // Another service claimed it first, or Kibana canceled it meanwhile: not ours to run.
    logger.warn(`${label}: could not claim it (${redact(describeError(error), context.secrets)})`);
    return null;
  }
  await client.connector.lastSync({
    connector_id: connector.id,
    last_sync_status: 'in_progress',
    last_sync_error: null as unknown as string,
  });
  logger.info(`${label}: started (${job.trigger_method ?? 'on_demand'})`);
  return (await client.connector.syncJobGet({ connector_sync_job_id: job.id })) as unknown as SyncJobDocument;
}

/** Checks in every `checkIntervalMs` with the running count, and stops the run when Kibana cancels or the job goes. */
function watchJob(
  context: JobRunnerContext,
  job: SyncJobDocument,
  count: () => number,
  stopWith: (reason: StopReason) => void,
  label: string,
) {
  const { client, logger } = context;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      await sleep(context.checkIntervalMs);
      if (!watching) break;
      try {
        await client.connector.syncJobCheckIn({ connector_sync_job_id: job.id });
        await client.connector.syncJobUpdateStats({
          connector_sync_job_id: job.id,
          indexed_document_count: count(),
          deleted_document_count: 0,
          indexed_document_volume: 0,
        });
        const current = (await client.connector.syncJobGet({ connector_sync_job_id: job.id })) as unknown as SyncJobDocument;
        if (current.status === 'canceling') stopWith({ kind: 'cancel' });
        else if (current.status !== 'in_progress') stopWith({ kind: 'lost', status: current.status });
      } catch (error) {
        if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) stopWith({ kind: 'lost', status: 'deleted' });
        else logger.warn(`${label}: could not check in (${redact(describeError(error), context.secrets)}); will retry`);
      }
    }
  })();
  return async () => {
    watching = false;
    await watcher;
  };
}

/** The run's configuration from the connector's: settings, index, job type and sync rules; JobSetupError when unusable. */
async function jobConfiguration(
  context: JobRunnerContext,
  connector: ConnectorDocument,
  job: SyncJobDocument,
  claimed: SyncJobDocument,
  statePath: string,
  label: string,
): Promise<{ config: CliConfig; index: string; rules: SyncRule[] }> {
  const settingsResult = readSettings(claimed.connector.configuration ?? {});
  if (!settingsResult.ok) throw new JobSetupError(describeSettingsProblem(settingsResult));
  const settings = settingsResult.settings;
  if (!context.secrets.includes(settings.token)) context.secrets.push(settings.token);
  const index = claimed.connector.index_name;
  if (!index) throw new JobSetupError('the connector has no index_name: attach an index to it in Kibana');
  if (job.job_type === 'access_control')
    throw new JobSetupError('access control syncs are not supported: the Slack connector has no document-level security');
  if (job.job_type === 'incremental' && !incrementalSyncEnabled(connector.features)) {
    throw new JobSetupError(`connector ${connector.id} does not support incremental sync (features.incremental_sync is off)`);
  }
  let rules: SyncRule[] = [];
  if (basicSyncRulesEnabled(connector.features)) {
    const validation = validateRules(jobRules(claimed.connector.filtering));
    if (!validation.valid)
      throw new JobSetupError(`the active sync rules are invalid: ${validation.problems.map(formatRuleProblem).join('; ')}`);
    rules = validation.rules;
  }
  if (job.job_type === 'incremental') {
    const restored = await restoreState(claimed.connector.sync_cursor, statePath);
    if (restored !== 'restored') {
      const why =
        restored === 'omitted'
          ? 'the last state was too large for sync_cursor'
          : restored === 'foreign'
            ? 'the sync_cursor is not slack-etl’s'
            : 'no sync_cursor yet';
      context.logger.info(`${label}: ${why}; reading the whole window (unchanged documents are still skipped)`);
    }
  }
  const config: CliConfig = {
    ...context.config,
    command: 'connector',
    ...settings,
    rules: undefined,
    state: statePath,
    index,
    // A full job starts from an empty state, so the source vouches for whole channels and stale messages can go.
    deleteStale: job.job_type === 'full',
  };
  return { config, index, rules };
}

/**
 * Claims `job` and runs it until it completes, fails, is canceled from Kibana, or `shutdown` aborts (the job is then
 * left `suspended` for the next start). Never throws for a job's own failure: that is written to the job.
 */
export async function runConnectorJob(
  context: JobRunnerContext,
  connector: ConnectorDocument,
  job: SyncJobDocument,
  shutdown: AbortSignal,
): Promise<JobOutcome | null> {
  const { client } = context;
  const label = `connector ${connector.id}, ${job.job_type} job ${job.id}`;
  const claimed = await claimJob(context, connector, job, label);
  if (claimed === null) return null;

  const abort = new AbortController();
  const stopWith = (reason: StopReason) => {
    if (!abort.signal.aborted) abort.abort(reason);
  };
  const onShutdown = () => stopWith({ kind: 'suspend' });
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener('abort', onShutdown, { once: true });

  const counter = progressCounter();
  let runStats: RunStats | undefined;
  const stateDirectory = await jobStateDirectory();
  const stopWatching = watchJob(context, job, counter.count, stopWith, label);

  let status: JobStatus;
  let errorText: string | null = null;
  let cursor: unknown = undefined;
  try {
    const { config, index, rules } = await jobConfiguration(context, connector, job, claimed, stateDirectory.statePath, label);
    const code = await runSlackJob({
      config,
      io: context.io,
      preflight: () => checkElasticsearch(client, context.config.esUrl!, index),
      sink: elasticsearchSink({ client, index, deleteStale: config.deleteStale, rules }),
      verb: `${job.job_type} job ${job.id} synced`,
      destination: `index ${index}`,
      signal: abort.signal,
      rules,
      stages: [counter],
      onStats: (stats) => {
        runStats = stats;
      },
    });
    if (code === 0) {
      status = 'completed';
      cursor = await cursorOf(stateDirectory.statePath, new Date().toISOString());
    } else {
      status = 'error';
      errorText = `Elasticsearch rejected ${String(runStats?.sink.dropped ?? 'some')} documents for good; the rest was indexed`;
    }
  } catch (error) {
    const reason = abort.signal.reason as StopReason | undefined;
    if (reason?.kind === 'cancel') status = 'canceled';
    else if (reason?.kind === 'suspend') status = 'suspended';
    else if (reason?.kind === 'lost') {
      context.logger.warn(`${label}: stopped: the job is ${reason.status} now`);
      await stopWatching();
      await stateDirectory.remove();
      shutdown.removeEventListener('abort', onShutdown);
      return null;
    } else {
      status = 'error';
      errorText = error instanceof JobSetupError ? error.message : redact(describeError(error), context.secrets);
    }
  }
  await stopWatching();
  shutdown.removeEventListener('abort', onShutdown);
  await stateDirectory.remove();
  return reportOutcome(context, connector, job, claimed, { status, errorText, cursor, runStats, counted: counter.count() }, label);
}

/** Writes the job's end (status, counts) and the connector's last sync, and logs it. */
async function reportOutcome(
  context: JobRunnerContext,
  connector: ConnectorDocument,
  job: SyncJobDocument,
  claimed: SyncJobDocument,
  outcome: { status: JobStatus; errorText: string | null; cursor: unknown; runStats: RunStats | undefined; counted: number },
  label: string,
): Promise<JobOutcome> {
  const { client } = context;
  const { status, errorText, cursor } = outcome;
  const sink = outcome.runStats?.sink as { indexed?: number; updated?: number; deleted?: number; bytes?: number } | undefined;
  const indexedDocumentCount = sink ? (sink.indexed ?? 0) + (sink.updated ?? 0) : outcome.counted;
  const deletedDocumentCount = sink?.deleted ?? 0;
  const indexedDocumentVolume = Math.round((sink?.bytes ?? 0) / mebibyte);
  const totalDocumentCount = await documentCount(client, claimed.connector.index_name);
  await finishJob(client, job.id, status, errorText, {
    indexedDocumentCount,
    deletedDocumentCount,
    indexedDocumentVolume,
    totalDocumentCount,
  });

  const finishedAt = new Date().toISOString();
  await client.connector.lastSync({
    connector_id: connector.id,
    last_sync_status: status,
    last_sync_error: errorText as string,
    last_synced: finishedAt,
    last_indexed_document_count: indexedDocumentCount,
    last_deleted_document_count: deletedDocumentCount,
    ...(status === 'completed' ? { sync_cursor: cursor ?? null } : {}),
  });
  if (status === 'error') await client.connector.updateError({ connector_id: connector.id, error: errorText });
  else if (status === 'completed' && (connector.status !== 'connected' || connector.error))
    await client.connector.updateError({ connector_id: connector.id, error: null });

  const summary = `indexed ${indexedDocumentCount}, deleted ${deletedDocumentCount}, ${totalDocumentCount ?? '?'} in the index`;
  if (status === 'error') context.logger.error(`${label}: failed: ${errorText} (${summary})`);
  else context.logger.info(`${label}: ${status} (${summary})`);
  return { status, error: errorText, indexedDocumentCount, deletedDocumentCount };
}

async function documentCount(client: Client, index: string | null | undefined): Promise<number | undefined> {
  if (!index) return undefined;
  try {
    await client.indices.refresh({ index });
    return (await client.count({ index })).count;
  } catch {
    return undefined;
  }
}

/**
 * There is no API to complete, cancel or suspend a job: Elastic's service updates the job document itself, and so do
 * we; a failure goes through the `_error` API, which also checks the job may still fail.
 */
async function finishJob(
  client: Client,
  jobId: string,
  status: JobStatus,
  error: string | null,
  counts: {
    indexedDocumentCount: number;
    deletedDocumentCount: number;
    indexedDocumentVolume: number;
    totalDocumentCount: number | undefined;
  },
): Promise<void> {
  await client.connector.syncJobUpdateStats({
    connector_sync_job_id: jobId,
    indexed_document_count: counts.indexedDocumentCount,
    deleted_document_count: counts.deletedDocumentCount,
    indexed_document_volume: counts.indexedDocumentVolume,
    ...(counts.totalDocumentCount !== undefined ? { total_document_count: counts.totalDocumentCount } : {}),
  });
  const at = new Date().toISOString();
  if (status === 'error') {
    await client.connector.syncJobError({ connector_sync_job_id: jobId, error: error ?? 'unknown error' });
    await client.update({ index: syncJobsIndex, id: jobId, doc: { completed_at: at, last_seen: at }, refresh: true });
    return;
  }
  const doc: Record<string, unknown> = { status, last_seen: at, error: null };
  if (status === 'completed' || status === 'canceled') doc.completed_at = at;
  if (status === 'canceled') doc.canceled_at = at;
  await client.update({ index: syncJobsIndex, id: jobId, doc, refresh: true });
}
