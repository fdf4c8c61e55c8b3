// The connector service loop: per connector and poll, check in, register, report health, validate draft rules, schedule, run jobs.

import { setTimeout as sleep } from 'node:timers/promises';
import { DateTime } from 'luxon';
import { describeError } from '../errors.js';
import { redact, silentLogger } from '../log.js';
import { slackSource } from '../sources/slack/source.js';
import { formatRuleProblem, validateRules } from '../transforms/sync-rules.js';
import {
  describeSettingsProblem,
  missingFields,
  readSettings,
  slackConfigurationSchema,
  type Configuration,
  type SlackJobSettings,
} from './configuration.js';
import { runConnectorJob, type JobRunnerContext } from './job-runner.js';
import {
  basicSyncRulesEnabled,
  defaultDomainOf,
  incrementalSyncEnabled,
  serviceType,
  slackFeatures,
  type ConnectorDocument,
  type ConnectorStatus,
  type JobType,
  type SyncJobDocument,
} from './protocol.js';
import { dueRun, ScheduleError } from './schedule.js';

export interface ConnectorServiceOptions {
  context: JobRunnerContext;
  connectorIds: string[];
  pollIntervalMs: number;
  /** Aborting stops the service: running jobs are suspended, and the returned promise resolves once they are. */
  signal: AbortSignal;
}

/** Slack is asked again at most this often while a connector stays healthy (and at once after any change). */
const healthRecheckMs = 5 * 60_000;
/** A job of ours that has not checked in for this long lost its service (Elastic's IDLE_JOBS_THRESHOLD). */
const idleJobMs = 5 * 60_000;

interface HealthRecord {
  settingsKey: string;
  checkedAt: number;
}

const loadConnector = async (context: JobRunnerContext, id: string) =>
  (await context.client.connector.get({ connector_id: id })) as unknown as ConnectorDocument;

async function setStatus(context: JobRunnerContext, connector: ConnectorDocument, status: ConnectorStatus): Promise<void> {
  const { client, logger } = context;
  if (connector.status === status) return;
  await client.connector.updateStatus({ connector_id: connector.id, status });
  logger.info(`connector ${connector.id}: ${connector.status} → ${status}`);
  connector.status = status;
}

async function setError(context: JobRunnerContext, connector: ConnectorDocument, error: string | null): Promise<void> {
  const { client, logger } = context;
  if (connector.error === error && connector.status === (error === null ? 'connected' : 'error')) return;
  // `_error` sets the status with it: `error`, or `connected` when cleared.
  await client.connector.updateError({ connector_id: connector.id, error });
  if (error === null) logger.info(`connector ${connector.id}: connected`);
  else logger.error(`connector ${connector.id}: ${error}`);
  connector.error = error;
  connector.status = error === null ? 'connected' : 'error';
}

/** Schema, service type and features, written where missing, as Elastic's service does for its connectors. */
async function register(context: JobRunnerContext, connector: ConnectorDocument): Promise<ConnectorDocument> {
  const { client, logger } = context;
  let changed = false;
  if (!connector.service_type) {
    await client.connector.updateServiceType({ connector_id: connector.id, service_type: serviceType });
    changed = true;
  }
  // Kibana may have written features of its own: ours fill the gaps, a feature a user switched off stays off.
  const features = connector.features ?? {};
  if (features.incremental_sync === undefined || features.sync_rules?.basic === undefined) {
    await client.connector.updateFeatures({
      connector_id: connector.id,
      features: {
        ...slackFeatures,
        // Only the keys the Connector API accepts (older documents also hold `filtering_rules` and the like).
        ...Object.fromEntries(
          Object.entries(features).filter(([key]) =>
            ['document_level_security', 'incremental_sync', 'native_connector_api_keys'].includes(key),
          ),
        ),
        sync_rules: { ...slackFeatures.sync_rules, ...(features.sync_rules ?? {}) },
      },
    });
    changed = true;
  }
  const configuration: Configuration = connector.configuration ?? {};
  const missing = missingFields(configuration);
  if (missing.length > 0) {
    const merged: Configuration = { ...configuration };
    for (const key of missing) merged[key] = slackConfigurationSchema[key]!;
    await client.connector.updateConfiguration({ connector_id: connector.id, configuration: merged as never });
    logger.info(`connector ${connector.id}: registered the configuration schema (${missing.join(', ')})`);
    changed = true;
  }
  return changed ? loadConnector(context, connector.id) : connector;
}

/** auth.test with the configured token, plus the scopes the configured conversation types need. */
async function checkSlack(context: JobRunnerContext, settings: SlackJobSettings, signal: AbortSignal): Promise<void> {
  const source = slackSource({
    token: settings.token,
    slackApiUrl: context.config.slackApiUrl,
    tierRates: context.config.tierRates,
    channelTypes: settings.channelTypes,
    autoJoinChannels: settings.autoJoinChannels,
    logger: silentLogger,
    signal,
  });
  await source.team();
}

/** A draft Kibana marked `edited` is checked with the `rules check` validator; a valid one is activated. */
async function validateDraft(context: JobRunnerContext, connector: ConnectorDocument): Promise<void> {
  const { client, logger } = context;
  if (!basicSyncRulesEnabled(connector.features)) return;
  const draft = defaultDomainOf(connector)?.draft;
  if (draft?.validation?.state !== 'edited') return;
  const result = validateRules(draft.rules ?? []);
  const errors = result.problems.map((problem) => ({ ids: problem.ids, messages: [problem.message] }));
  await client.connector.updateFilteringValidation({
    connector_id: connector.id,
    validation: { state: result.valid ? 'valid' : 'invalid', errors },
  });
  if (result.valid) {
    await client.connector.updateActiveFiltering({ connector_id: connector.id });
    logger.info(`connector ${connector.id}: draft sync rules are valid and now active (${result.rules.length} rules)`);
  } else {
    logger.warn(`connector ${connector.id}: draft sync rules are invalid: ${result.problems.map(formatRuleProblem).join('; ')}`);
  }
}

async function schedule(
  context: JobRunnerContext,
  connector: ConnectorDocument,
  previousWakeUp: DateTime,
  wakeUp: DateTime,
): Promise<void> {
  const { client, logger } = context;
  const types: Array<{ type: JobType; field: 'last_sync_scheduled_at' | 'last_incremental_sync_scheduled_at' }> = [];
  if (incrementalSyncEnabled(connector.features)) types.push({ type: 'incremental', field: 'last_incremental_sync_scheduled_at' });
  types.push({ type: 'full', field: 'last_sync_scheduled_at' });
  for (const { type, field } of types) {
    let due: DateTime | null;
    try {
      due = dueRun(connector.scheduling?.[type], connector[field], previousWakeUp, wakeUp);
    } catch (error) {
      if (!(error instanceof ScheduleError)) throw error;
      await setError(context, connector, `scheduling.${type}.interval: ${error.message}; fix the schedule in Kibana`);
      continue;
    }
    if (due === null) continue;
    // Recorded first, as Elastic's service does: a restart or a second instance will not schedule this time again.
    await client.connector.lastSync({ connector_id: connector.id, [field]: due.toISO() });
    const created = await client.connector.syncJobPost({ id: connector.id, job_type: type, trigger_method: 'scheduled' });
    logger.info(`connector ${connector.id}: scheduled a ${type} job ${created.id} for ${due.toISO()}`);
  }
}

/** Jobs of ours a dead service left running never end otherwise: fail them (or finish their cancelation). */
async function endIdleJobs(context: JobRunnerContext, connector: ConnectorDocument): Promise<void> {
  const { client, logger } = context;
  for (const status of ['in_progress', 'canceling'] as const) {
    const { results } = await client.connector.syncJobList({ connector_id: connector.id, status });
    for (const job of results as unknown as Array<SyncJobDocument & { last_seen?: string }>) {
      const lastSeen = job.last_seen ? Date.parse(job.last_seen) : 0;
      if (Date.now() - lastSeen < idleJobMs) continue;
      if (status === 'canceling') {
        const at = new Date().toISOString();
        await client.update({
          index: '.elastic-connectors-sync-jobs',
          id: job.id,
          doc: { status: 'canceled', canceled_at: at, completed_at: at },
        });
      } else {
        await client.connector.syncJobError({
          connector_sync_job_id: job.id,
          error: 'the job stopped checking in: the service running it was stopped abruptly; start a new sync',
        });
      }
      logger.warn(`connector ${connector.id}: ${job.job_type} job ${job.id} had not checked in since ${job.last_seen ?? 'ever'}: ended it`);
    }
  }
}

export async function runConnectorService(options: ConnectorServiceOptions): Promise<void> {
  const { context, signal } = options;
  const { client, logger } = context;
  const say = (error: unknown) => redact(describeError(error), context.secrets);
  const running = new Map<string, Promise<void>>();
  const health = new Map<string, HealthRecord>();
  const warnedOnce = new Set<string>();
  const warnOnce = (key: string, message: string) => {
    if (warnedOnce.has(key)) return;
    warnedOnce.add(key);
    logger.warn(message);
  };

  const load = async (id: string) => (await client.connector.get({ connector_id: id })) as unknown as ConnectorDocument;

  async function reportHealth(connector: ConnectorDocument, settings: SlackJobSettings): Promise<void> {
    const settingsKey = JSON.stringify(settings);
    const last = health.get(connector.id);
    const healthy = connector.status === 'connected' && !connector.error;
    if (healthy && last && last.settingsKey === settingsKey && Date.now() - last.checkedAt < healthRecheckMs) return;
    try {
      await checkSlack(context, settings, signal);
      await setError(context, connector, null);
    } catch (error) {
      if (signal.aborted) return;
      await setError(context, connector, `${redact((error as Error).message, context.secrets)}; fix the configuration in Kibana`);
    }
    health.set(connector.id, { settingsKey, checkedAt: Date.now() });
  }

  async function startPendingJob(connector: ConnectorDocument): Promise<void> {
    if (running.has(connector.id)) return;
    const waiting: SyncJobDocument[] = [];
    for (const status of ['pending', 'suspended'] as const) {
      const { results } = await client.connector.syncJobList({ connector_id: connector.id, status });
      waiting.push(...(results as unknown as SyncJobDocument[]));
    }
    waiting.sort((left, right) => String(left.created_at).localeCompare(String(right.created_at)));
    const job = waiting[0];
    if (!job || signal.aborted) return;
    const run = runConnectorJob(context, connector, job, signal)
      .then(() => undefined)
      .catch((error: unknown) => logger.error(`connector ${connector.id}: job ${job.id} could not be reported: ${say(error)}`))
      .finally(() => {
        running.delete(connector.id);
        health.delete(connector.id);
      });
    running.set(connector.id, run);
  }

  async function poll(id: string, previousWakeUp: DateTime, wakeUp: DateTime): Promise<void> {
    let connector: ConnectorDocument;
    try {
      connector = await load(id);
    } catch (error) {
      if ((error as { meta?: { statusCode?: number } }).meta?.statusCode === 404) {
        warnOnce(
          `missing:${id}`,
          `connector ${id} does not exist: create it in Kibana (Search → Connectors) or with PUT _connector/${id}; waiting for it`,
        );
        return;
      }
      throw error;
    }
    warnedOnce.delete(`missing:${id}`);
    if (connector.service_type && connector.service_type !== serviceType) {
      warnOnce(`type:${id}`, `connector ${id} is a '${connector.service_type}' connector, not '${serviceType}': not serving it`);
      return;
    }
    await client.connector.checkIn({ connector_id: id });
    connector = await register(context, connector);
    if (connector.status === 'created') await setStatus(context, connector, 'needs_configuration');

    const settings = readSettings(connector.configuration ?? {});
    if (!settings.ok) {
      if (settings.problems.length === 0 && connector.status === 'configured') await setStatus(context, connector, 'needs_configuration');
      else if (settings.problems.length > 0 || connector.status === 'connected' || connector.status === 'error')
        await setError(context, connector, describeSettingsProblem(settings));
    } else {
      if (settings.settings.token && !context.secrets.includes(settings.settings.token)) context.secrets.push(settings.settings.token);
      if (connector.status === 'needs_configuration') await setStatus(context, connector, 'configured');
      // A running job proves (or disproves) the token itself; asking Slack meanwhile only spends its rate limit.
      if (!running.has(id)) await reportHealth(connector, settings.settings);
    }
    await validateDraft(context, connector);
    if (connector.status === 'connected') await schedule(context, await load(id), previousWakeUp, wakeUp);
    if (!running.has(id)) await endIdleJobs(context, connector);
    await startPendingJob(await load(id));
  }

  logger.info(`connector service: serving ${options.connectorIds.join(', ')}; polling every ${options.pollIntervalMs / 1000} s`);
  let previousWakeUp = DateTime.utc();
  while (!signal.aborted) {
    const wakeUp = DateTime.utc();
    for (const id of options.connectorIds) {
      if (signal.aborted) break;
      try {
        await poll(id, previousWakeUp, wakeUp);
      } catch (error) {
        if (!signal.aborted) logger.error(`connector ${id}: ${say(error)}`);
      }
    }
    previousWakeUp = wakeUp;
    await sleep(options.pollIntervalMs, undefined, { signal }).catch(() => undefined);
  }
  if (running.size > 0) logger.info(`connector service: suspending ${running.size} running job${running.size > 1 ? 's' : ''}`);
  await Promise.allSettled(running.values());
  logger.info('connector service: stopped');
}
