// The connector's parts on their own: Quartz schedules, configuration values, the sync_cursor envelope, the fake's protocol rules, and CLI
// usage errors.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { DateTime } from 'luxon';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { readSettings, slackConfigurationSchema } from '../lib/connector/configuration.js';
import { dueRun, nextRun } from '../lib/connector/schedule.js';
import { cursorOf, jobStateDirectory, maxSyncCursorBytes, restoreState } from '../lib/connector/sync-cursor.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const utc = (iso: string) => DateTime.fromISO(iso, { zone: 'utc' });
/** The HTTP status a rejected request answered with (0 when it did not fail). */
const statusOf = (request: Promise<unknown>): Promise<number> =>
  request.then(
    () => 0,
    (error: { meta?: { statusCode?: number } }) => error.meta?.statusCode ?? -1,
  );

t.test('Quartz cron as Kibana writes it gives Quartz fire times, in UTC', async (t) => {
  const from = utc('2026-03-29T00:30:02Z'); // a Sunday, the night Europe moves its clocks: UTC does not care
  const next = (interval: string) => nextRun(interval, from)?.toISO();
  t.equal(next('0 0 0 * * ?'), '2026-03-30T00:00:00.000Z', 'daily at midnight');
  t.equal(next('0/5 * * * * ?'), '2026-03-29T00:30:05.000Z', 'every 5 seconds, the form of the protocol document');
  t.equal(next('0 0/15 * * * ?'), '2026-03-29T00:45:00.000Z', 'every 15 minutes');
  t.equal(next('0 30 9 ? * MON-FRI'), '2026-03-30T09:30:00.000Z', 'weekdays');
  t.equal(next('0 0 0 ? * 1'), '2026-04-05T00:00:00.000Z', 'Quartz weekday 1 is Sunday');
  t.equal(next('0 15 10 ? * 6#3'), '2026-04-17T10:15:00.000Z', 'the third Friday');
  t.equal(next('0 0 0 L * ?'), '2026-03-31T00:00:00.000Z', 'the last day of the month');
  t.throws(
    () => nextRun('every day', from),
    { name: 'ScheduleError', message: /'every day' is not a Quartz cron expression/ },
    'not cron: an error naming it',
  );
});

t.test('a schedule is due once per fire time, whatever wakes up when', async (t) => {
  const schedule = { enabled: true, interval: '0 0 12 * * ?' };
  const wokeUp = utc('2026-05-01T11:59:59Z');
  t.equal(dueRun(schedule, null, wokeUp, utc('2026-05-01T11:59:59.900Z')), null, 'not before its time');
  t.equal(dueRun(schedule, null, wokeUp, utc('2026-05-01T12:00:00.100Z'))?.toISO(), '2026-05-01T12:00:00.000Z', 'due once it passed');
  t.equal(
    dueRun(schedule, '2026-05-01T12:00:00.000Z', wokeUp, utc('2026-05-01T12:00:00.200Z')),
    null,
    'not again once recorded (a restart, another instance)',
  );
  t.equal(dueRun({ ...schedule, enabled: false }, null, wokeUp, utc('2026-05-02T00:00:00Z')), null, 'a disabled schedule never is');
  t.equal(
    dueRun(schedule, null, utc('2026-05-01T12:00:01Z'), utc('2026-05-01T12:00:02Z')),
    null,
    'a fire time before the service woke up is skipped',
  );
});

t.test('configuration values are read as Kibana stores them, and every problem names the field', async (t) => {
  const configuration = structuredClone(slackConfigurationSchema) as Record<string, any>;
  const missing = readSettings(configuration);
  t.match(missing, { ok: false, missing: ['Authentication Token (token)'] });
  configuration.token.value = 'xoxb-1';
  configuration.fetch_last_n_days.value = '30';
  configuration.sync_users.value = 'false';
  configuration.channel_types.value = 'public, private';
  const read = readSettings(configuration);
  t.match(read, {
    ok: true,
    settings: { token: 'xoxb-1', fetchLastNDays: 30, syncUsers: false, channelTypes: ['public', 'private'], channels: undefined },
  });
  configuration.sync_all_channels.value = false;
  t.match(
    readSettings(configuration),
    { ok: false, missing: ['Channels to sync (channels)'] },
    'channels are needed once "sync every channel" is off (depends_on)',
  );
  configuration.channels.value = ['general', 'C123'];
  configuration.fetch_last_n_days.value = 'a week';
  configuration.channel_types.value = 'public,dms';
  const bad = readSettings(configuration);
  t.equal(bad.ok, false);
  t.match(bad, {
    problems: [
      /Days of message history to fetch \(fetch_last_n_days\) must be a whole number/,
      /Conversation types \(channel_types\) has unknown type dms/,
    ],
  });
});

t.test('the state travels through sync_cursor unchanged, privately, and within its size limit', async (t) => {
  const first = await jobStateDirectory();
  t.teardown(first.remove);
  const state = JSON.stringify({ format: 'slack-etl-state', version: 1, documents: { 'C1-1.000001': 'abc' } });
  await writeFile(first.statePath, state);
  const cursor = await cursorOf(first.statePath, '2026-01-01T00:00:00.000Z');
  t.match(cursor, { format: 'slack-etl-sync-cursor', version: 1, state_bytes: state.length, state_gzip_base64: String });
  const second = await jobStateDirectory();
  t.teardown(second.remove);
  t.equal(await restoreState(cursor, second.statePath), 'restored');
  t.equal(await readFile(second.statePath, 'utf8'), state, 'byte for byte');
  t.equal((await stat(second.statePath)).mode & 0o777, 0o600, 'readable by the service only');
  t.equal(await restoreState(null, join(second.statePath, '..', 'none.json')), 'empty');
  t.equal(
    await restoreState({ cursor: 'elastic' }, join(second.statePath, '..', 'none.json')),
    'foreign',
    "another service's cursor is not read",
  );

  const huge = await jobStateDirectory();
  t.teardown(huge.remove);
  await writeFile(huge.statePath, randomBytes(Math.ceil(maxSyncCursorBytes * 0.8)));
  const omitted = await cursorOf(huge.statePath, '2026-01-01T00:00:00.000Z');
  t.match(omitted, { omitted: /over the 8388608-byte limit/ }, 'a state too large for the connector document is left out');
  t.notOk(omitted && 'state_gzip_base64' in omitted);
  t.equal(await restoreState(omitted, join(huge.statePath, '..', 'restored.json')), 'omitted');
});

t.test('the fake Elasticsearch keeps the protocol: state machines, known configuration fields, validated drafts', async (t) => {
  const elasticsearch = await startFakeElasticsearch();
  t.teardown(() => elasticsearch.close());
  const client = new Client({ node: elasticsearch.url });
  t.teardown(() => client.close());
  await client.connector.put({ connector_id: 'c', index_name: 'search-c', name: 'c' });
  const created = (await client.connector.get({ connector_id: 'c' })) as any;
  t.match(created, {
    status: 'created',
    configuration: {},
    filtering: [{ domain: 'DEFAULT', active: { rules: [{ id: 'DEFAULT' }], validation: { state: 'valid' } } }],
  });
  t.match(created.scheduling.full, { enabled: false, interval: '0 0 0 * * ?' });

  t.equal(
    await statusOf(client.connector.updateStatus({ connector_id: 'c', status: 'connected' })),
    400,
    'created → connected is not a protocol transition',
  );
  await t.rejects(
    client.connector.updateConfiguration({ connector_id: 'c', values: { token: 'x' } }),
    { message: /Unknown \[configuration\] fields/ },
    'values need their schema',
  );
  await client.connector.updateFiltering({
    connector_id: 'c',
    rules: [{ id: 'r', field: 'text', policy: 'exclude', rule: 'contains', value: 'x', order: 0 }],
  });
  await t.rejects(
    client.connector.updateActiveFiltering({ connector_id: 'c' }),
    { message: /validated by the connector service/ },
    'an edited draft cannot be activated',
  );
  t.equal(await statusOf(client.connector.get({ connector_id: 'nope' })), 404);

  const { id } = await client.connector.syncJobPost({ id: 'c' });
  await client.connector.syncJobClaim({ connector_sync_job_id: id, worker_hostname: 'here' });
  t.equal(
    await statusOf(client.connector.syncJobClaim({ connector_sync_job_id: id, worker_hostname: 'there' })),
    400,
    'a running job cannot be claimed twice',
  );
  await client.connector.syncJobCancel({ connector_sync_job_id: id });
  t.equal(
    ((await client.connector.syncJobGet({ connector_sync_job_id: id })) as any).status,
    'canceling',
    'a running job is asked to stop',
  );
  const pending = await client.connector.syncJobPost({ id: 'c', job_type: 'incremental' });
  await client.connector.syncJobCancel({ connector_sync_job_id: pending.id });
  t.equal(
    ((await client.connector.syncJobGet({ connector_sync_job_id: pending.id })) as any).status,
    'canceled',
    'a pending job ends at once',
  );
  t.equal(await statusOf(client.connector.syncJobPost({ id: 'nope' })), 404);
  const listed = await client.connector.syncJobList({ connector_id: 'c', status: 'canceled' });
  t.equal(listed.count, 1);
});

t.test('slack-etl connector refuses bad usage with one line and exit 2', async (t) => {
  const run = async (args: string[]) => {
    const { code, stderr } = await runCliInProcess(['connector', ...args]);
    return { code, text: stderr };
  };
  t.match(await run(['--es-url', 'http://127.0.0.1:9']), { code: 2, text: /connector needs --connector-id ID/ });
  t.match(await run(['--connector-id', 'c']), { code: 2, text: /connector needs an Elasticsearch URL/ });
  t.match(await run(['--connector-id', 'c', '--es-url', 'http://127.0.0.1:9', '--poll-interval', '0']), {
    code: 2,
    text: /--poll-interval must be a number of seconds/,
  });
  t.match(
    await run(['--connector-id', 'c', '--token', 'xoxb-1']),
    { code: 2, text: /unknown option --token/ },
    'the token comes from Kibana, not the command line',
  );
});
