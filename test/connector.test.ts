// `slack-etl connector` end to end: a connector as Kibana creates it, configured, synced, filtered, canceled, scheduled and stopped over
// the connector protocol.

import t from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from '@elastic/elasticsearch';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { expectedIds } from '../fixtures/slack-api/ground-truth.js';
import { childEnvironment, nodeCommand, scaledTierRatesFlag, startWorkspace, type TestContext, testToken } from './helpers/slack.js';
import { binPath } from './helpers/paths.js';

const apiKey = 'test-connector-api-key';
// Three service processes start here; on a loaded machine their start-up alone can take tens of seconds.
t.setTimeout(240_000);

interface Service {
  child: ChildProcess;
  stderr: () => string;
  /** Sends the signal and resolves with the exit code. */
  stop: (signal: NodeJS.Signals) => Promise<number | null>;
}

function startService(args: string[], env: Record<string, string>): Service {
  const child = spawn(...nodeCommand([binPath, 'connector', ...args]), { env: childEnvironment(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const killer = setTimeout(() => child.kill('SIGKILL'), 90_000);
  return {
    child,
    stderr: () => stderr,
    stop: async (signal) => {
      child.kill(signal);
      const code = await exited;
      clearTimeout(killer);
      return code;
    },
  };
}

/** Polls until `check` returns a value (not undefined/false), or fails naming what it waited for. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 60_000): Promise<T> {
  const started = Date.now();
  try {
    return await waitForInner(what, check, timeoutMs);
  } finally {
    if (process.env.CONNECTOR_TEST_TIMING) console.error(`${what}: ${Date.now() - started} ms`);
  }
}
async function waitForInner<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
}

async function setup(t: TestContext) {
  const { workspace, slack, nowMs } = await startWorkspace(t, {}, { slowMs: 2_500 });
  const elasticsearch = await startFakeElasticsearch({ auth: { apiKey } });
  t.teardown(() => elasticsearch.close());
  // The test plays Kibana: the same Connector APIs, over HTTP, with the official client.
  const kibana = new Client({ node: elasticsearch.url, auth: { apiKey } });
  t.teardown(() => kibana.close());
  const env = { ELASTICSEARCH_URL: elasticsearch.url, ELASTICSEARCH_API_KEY: apiKey, SLACK_ETL_NOW: String(nowMs) };
  const args = (...ids: string[]) => [
    ...ids.flatMap((id) => ['--connector-id', id]),
    '--slack-api-url',
    slack.url,
    '--tier-rates',
    scaledTierRatesFlag,
    '--poll-interval',
    '0.1',
  ];
  const connector = async (id: string) => (await kibana.connector.get({ connector_id: id })) as any;
  const job = async (id: string) => (await kibana.connector.syncJobGet({ connector_sync_job_id: id })) as any;
  const jobEnds = (id: string, status: string) =>
    waitFor(`job ${id} to be ${status}`, async () => ((await job(id)).status === status ? job(id) : undefined));
  return { workspace, slack, nowMs, elasticsearch, kibana, env, args, connector, job, jobEnds };
}

t.test(
  'a connector from Kibana is registered, configured, synced, filtered, canceled, scheduled once across a restart, and stopped',
  async (t) => {
    const { workspace, slack, elasticsearch, kibana, env, args, connector, job, jobEnds } = await setup(t);
    // As Kibana's "new Slack connector" creates it, plus a second one created without a service type.
    await kibana.connector.put({
      connector_id: 'slack-acme',
      index_name: 'search-slack-acme',
      name: 'Slack (acme)',
      service_type: 'slack',
      is_native: false,
      language: 'en',
    });
    await kibana.connector.put({ connector_id: 'slack-other', index_name: 'search-slack-other', name: 'Slack (other)' });
    t.equal((await connector('slack-acme')).status, 'created');

    let service = startService(args('slack-acme', 'slack-other'), env);
    const registered = await waitFor('the schema to be registered', async () => {
      const document = await connector('slack-acme');
      return document.status === 'needs_configuration' && document.last_seen ? document : undefined;
    });
    const schema = registered.configuration;
    t.match(schema.token, { label: 'Authentication Token', type: 'str', sensitive: true, order: 1 }, "Elastic's token field");
    t.match(schema.fetch_last_n_days, { label: 'Days of message history to fetch', type: 'int', display: 'numeric', order: 2 });
    t.match(schema.auto_join_channels, { label: 'Automatically join channels', type: 'bool', display: 'toggle', value: false, order: 3 });
    t.match(schema.sync_users, { label: 'Sync users', type: 'bool', display: 'toggle', value: true, order: 4 });
    t.match(schema.channels, { type: 'list', depends_on: [{ field: 'sync_all_channels', value: false }] }, 'our fields, with depends_on');
    t.ok(
      Object.values(schema).every((field: any) => typeof field.order === 'number' && typeof field.display === 'string' && 'value' in field),
      'every field has what Kibana renders',
    );
    t.match(registered.features, { incremental_sync: { enabled: true }, sync_rules: { basic: { enabled: true } } });
    const other = await waitFor('the second connector to be registered', async () => {
      const document = await connector('slack-other');
      return document.service_type === 'slack' && document.status === 'needs_configuration' ? document : undefined;
    });
    t.ok(other.configuration.token, 'one process serves both connectors');

    // A revoked or wrong token is an error naming the problem; the right one connects.
    await kibana.connector.updateConfiguration({ connector_id: 'slack-acme', values: { token: 'xoxb-revoked-token' } });
    const failing = await waitFor('the wrong token to be reported', async () => {
      const document = await connector('slack-acme');
      return document.status === 'error' ? document : undefined;
    });
    t.match(failing.error, /Slack rejected the token \(invalid_auth\)/, 'the error names the problem');
    await kibana.connector.updateConfiguration({ connector_id: 'slack-acme', values: { token: testToken } });
    await waitFor('the connector to connect', async () => {
      const document = await connector('slack-acme');
      return document.status === 'connected' && document.error === null;
    });

    // The second connector gets a schedule: once a day, at a second shortly ahead (Quartz, UTC, as Kibana writes it).
    await kibana.connector.updateConfiguration({ connector_id: 'slack-other', values: { token: testToken, fetch_last_n_days: 1 } });
    await waitFor('the second connector to connect', async () => (await connector('slack-other')).status === 'connected');
    const fireAt = new Date(Math.ceil((Date.now() + 1_500) / 1000) * 1000);
    const interval = `${fireAt.getUTCSeconds()} ${fireAt.getUTCMinutes()} ${fireAt.getUTCHours()} * * ?`;
    await kibana.connector.updateScheduling({ connector_id: 'slack-other', scheduling: { full: { enabled: true, interval } } as never });
    const scheduledJobs = async () =>
      ((await kibana.connector.syncJobList({ connector_id: 'slack-other' })).results as any[]).filter(
        (job) => job.trigger_method === 'scheduled',
      );

    // An on-demand full job: every document, true counts.
    const truth = expectedIds(workspace, {
      now: workspace.now,
      fetchLastNDays: 180,
      threads: true,
      syncUsers: true,
      autoJoinChannels: false,
      channelTypes: ['public'],
    });
    const full = await kibana.connector.syncJobPost({ id: 'slack-acme', job_type: 'full', trigger_method: 'on_demand' });
    const fullDone = await jobEnds(full.id, 'completed');
    const index = elasticsearch.indices.get('search-slack-acme')!;
    t.strictSame([...index.documents.keys()].sort(), [...truth.all].sort(), 'the index holds exactly the workspace');
    t.equal(fullDone.indexed_document_count, truth.all.size, 'indexed_document_count');
    t.equal(fullDone.deleted_document_count, 0, 'deleted_document_count');
    t.equal(fullDone.total_document_count, truth.all.size, 'total_document_count');
    t.equal(
      fullDone.indexed_document_volume,
      Math.round(JSON.stringify([...index.documents.values()]).length / 1024 / 1024),
      'indexed_document_volume in MiB',
    );
    t.equal(fullDone.worker_hostname, hostname());
    t.ok(fullDone.started_at && fullDone.completed_at, 'started and completed times');
    // The job ends first, then the connector is told (as Elastic's service does it).
    const afterFull = await waitFor('the connector to record the sync', async () => {
      const document = await connector('slack-acme');
      return document.last_sync_status === 'completed' ? document : undefined;
    });
    t.match(afterFull, {
      last_sync_status: 'completed',
      last_indexed_document_count: truth.all.size,
      last_deleted_document_count: 0,
      status: 'connected',
    });
    t.ok(afterFull.last_synced, 'last_synced');
    t.match(
      afterFull.sync_cursor,
      { format: 'slack-etl-sync-cursor', state_gzip_base64: String },
      'the incremental state is in sync_cursor',
    );

    // Draft rules edited in Kibana: an invalid regex is named; a valid draft is activated.
    await kibana.connector.updateFiltering({
      connector_id: 'slack-acme',
      rules: [
        { id: 'broken-regex', field: 'text', policy: 'exclude', rule: 'regex', value: '(unclosed', order: 1 },
        { id: 'DEFAULT', field: '_', policy: 'include', rule: 'regex', value: '.*', order: 2 },
      ],
    });
    const invalid = await waitFor('the draft to be validated', async () => {
      const draft = (await connector('slack-acme')).filtering[0].draft;
      return draft.validation.state !== 'edited' ? draft : undefined;
    });
    t.equal(invalid.validation.state, 'invalid');
    t.strictSame(
      invalid.validation.errors.map((error: any) => error.ids),
      [['broken-regex']],
      'the error names the rule',
    );
    t.match(invalid.validation.errors[0].messages[0], /regex/i);
    t.equal((await connector('slack-acme')).filtering[0].active.rules[0].id, 'DEFAULT', 'an invalid draft is not activated');
    await kibana.connector.updateFiltering({
      connector_id: 'slack-acme',
      rules: [{ id: 'no-such-channel', field: 'channel', policy: 'exclude', rule: 'equals', value: 'no-such-channel', order: 1 }],
    });
    await waitFor(
      'the valid draft to be activated',
      async () => (await connector('slack-acme')).filtering[0].active.rules[0]?.id === 'no-such-channel',
    );

    // One new Slack message: an incremental job indexes just that.
    const channel = workspace.channels.find(
      (candidate) =>
        candidate.botIsMember &&
        !candidate.info.is_private &&
        !candidate.info.is_archived &&
        !candidate.info.is_im &&
        !candidate.info.is_mpim,
    )!;
    const posted = workspace.postMessage(channel.info.id, { text: 'posted after the full sync' });
    const incremental = await kibana.connector.syncJobPost({ id: 'slack-acme', job_type: 'incremental' });
    const incrementalDone = await jobEnds(incremental.id, 'completed');
    t.equal(incrementalDone.indexed_document_count, 1, 'only the change is indexed');
    t.equal(incrementalDone.total_document_count, truth.all.size + 1);
    t.equal(index.documents.get(`${channel.info.id}-${posted.ts}`)?.text, 'posted after the full sync');

    const [scheduled] = await waitFor('the scheduled job', async () => {
      const jobs = await scheduledJobs();
      return jobs.length > 0 ? jobs : undefined;
    });
    t.equal(scheduled.job_type, 'full', 'a scheduled full job');
    t.ok(Date.parse(scheduled.created_at) >= fireAt.getTime(), 'created once its time had come');
    t.equal((await connector('slack-other')).last_sync_scheduled_at, fireAt.toISOString(), 'last_sync_scheduled_at records the fire time');
    await jobEnds(scheduled.id, 'completed');

    // A running job canceled in Kibana ends `canceled` within seconds.
    slack.injectFault('conversations.history', 'slow', 1);
    const toCancel = await kibana.connector.syncJobPost({ id: 'slack-acme', job_type: 'full' });
    await waitFor('the job to run', async () => (await job(toCancel.id)).status === 'in_progress');
    await kibana.connector.syncJobCancel({ connector_sync_job_id: toCancel.id });
    const canceled = await jobEnds(toCancel.id, 'canceled');
    t.ok(canceled.canceled_at && canceled.cancelation_requested_at, 'cancelation times');
    await waitFor('the connector to record the cancelation', async () => (await connector('slack-acme')).last_sync_status === 'canceled');

    // SIGTERM during a job: exit 0, the job is suspended, and the next start resumes and finishes it.
    slack.injectFault('conversations.history', 'slow', 1);
    const interrupted = await kibana.connector.syncJobPost({ id: 'slack-acme', job_type: 'full' });
    await waitFor('the job to run', async () => (await job(interrupted.id)).status === 'in_progress');
    t.equal(await service.stop('SIGTERM'), 0, 'SIGTERM exits 0');
    t.equal((await job(interrupted.id)).status, 'suspended', 'the running job is suspended');
    const firstLog = service.stderr();
    service = startService(args('slack-acme', 'slack-other'), env);
    const resumed = await jobEnds(interrupted.id, 'completed');
    t.equal(resumed.total_document_count, truth.all.size + 1, 'the resumed job completed');
    const restartedAt = Date.now();
    await waitFor(
      'the restarted service to poll the scheduled connector',
      async () => Date.parse((await connector('slack-other')).last_seen) > restartedAt,
    );
    t.equal((await scheduledJobs()).length, 1, 'the schedule did not fire again after the restart');
    t.equal(await service.stop('SIGINT'), 0, 'SIGINT exits 0');

    const logs = firstLog + service.stderr();
    t.match(logs, /connector slack-acme/, 'the service logged its work');
    for (const secret of [testToken, 'xoxb-revoked-token', apiKey])
      t.notOk(logs.includes(secret), `no secret in the logs (${secret.slice(0, 6)}…)`);
  },
);
