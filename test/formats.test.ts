// export --format es-bulk and singer: the bulk body loads in one request into what sync indexes; Singer messages validate and STATE
// round-trips.

import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { indexMappings } from '../lib/sinks/elasticsearch.js';
import { exportArgs, parseNdjson, runCli, startWorkspace, syncArgs, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const small = { messageCount: 300, userCount: 20 };

t.test('export --format es-bulk loaded with one _bulk request gives the documents sync indexes', async (t) => {
  const { slack, nowMs } = await startWorkspace(t, small);
  const elasticsearch = await startFakeElasticsearch();
  t.teardown(() => elasticsearch.close());
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs), ELASTICSEARCH_URL: elasticsearch.url };
  const bulkPath = join(directory, 'bulk.ndjson');
  const exported = await runCliInProcess(exportArgs(slack, '--quiet', '--format', 'es-bulk', '--index', 'from-bulk', '--out', bulkPath), {
    env,
  });
  t.equal(exported.code, 0, exported.stderr);
  const synced = await runCliInProcess(syncArgs(slack, 'from-sync', '--quiet', '--dead-letter', join(directory, 'dead.ndjson')), { env });
  t.equal(synced.code, 0, synced.stderr);

  const body = await readFile(bulkPath);
  const lines = parseNdjson(body.toString('utf8'));
  t.ok(
    lines
      .filter((_, index) => index % 2 === 0)
      .every((action) => action.index?._index === 'from-bulk' && typeof action.index._id === 'string'),
    'action lines name the index and the id',
  );
  t.ok(
    lines.filter((_, index) => index % 2 === 1).every((source) => !('_id' in source)),
    'no _id inside a source',
  );
  const create = await fetch(`${elasticsearch.url}/from-bulk`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mappings: indexMappings }),
  });
  t.equal(create.status, 200, 'index created with the mappings sync uses');
  const bulkRequestsBefore = elasticsearch.stats().bulkRequests;
  const response = await fetch(`${elasticsearch.url}/_bulk`, { method: 'POST', headers: { 'content-type': 'application/x-ndjson' }, body });
  const answer = (await response.json()) as { errors: boolean; items: unknown[] };
  t.equal(response.status, 200);
  t.equal(answer.errors, false, 'no item failed');
  t.equal(elasticsearch.stats().bulkRequests - bulkRequestsBefore, 1, 'one request');
  const fromBulk = elasticsearch.indices.get('from-bulk')!.documents;
  const fromSync = elasticsearch.indices.get('from-sync')!.documents;
  t.ok(fromSync.size > 100, 'sync indexed the workspace');
  t.strictSame(new Map([...fromBulk].sort()), new Map([...fromSync].sort()), 'same ids, same sources');
});

t.test(
  'export --format singer: SCHEMA per stream, every RECORD valid against it, STATE echoed back into --state makes an incremental run',
  async (t) => {
    const { workspace, slack, nowMs } = await startWorkspace(t, small);
    const directory = await temporaryDirectory(t);
    const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
    const singer = (extra: string[] = [], run = runCliInProcess) =>
      run(exportArgs(slack, '--quiet', '--format', 'singer', ...extra), { env });

    // Through bin/slack-etl.js once: a Singer target reads the messages from a real pipe.
    const first = await singer([], runCli);
    t.equal(first.code, 0, first.stderr);
    const messages = parseNdjson(first.stdout);
    const schemas = messages.filter((message) => message.type === 'SCHEMA');
    t.strictSame(schemas.map((schema) => schema.stream).sort(), ['channels', 'messages', 'users'], 'one SCHEMA per stream, first');
    t.ok(
      schemas.every(
        (schema) => Array.isArray(schema.key_properties) && schema.key_properties.length > 0 && Array.isArray(schema.bookmark_properties),
      ),
      'key and bookmark properties',
    );
    t.ok(
      messages.slice(0, 3).every((message) => message.type === 'SCHEMA'),
      'schemas come before any record',
    );
    const ajv = new Ajv({
      allErrors: true,
      formats: {
        'date-time': (text: string) =>
          /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(text) && !Number.isNaN(Date.parse(text)),
      },
    });
    const validators = new Map(schemas.map((schema) => [schema.stream as string, ajv.compile(schema.schema)]));
    const records = messages.filter((message) => message.type === 'RECORD');
    t.ok(records.length > 100, 'records for the workspace');
    const invalid = records.filter((record) => !validators.get(record.stream)!(record.record));
    t.equal(
      invalid.length,
      0,
      `every RECORD is valid against its stream's SCHEMA${invalid.length ? `: ${JSON.stringify(invalid[0]).slice(0, 300)}` : ''}`,
    );
    t.ok(
      records.every((record) =>
        schemas.find((schema) => schema.stream === record.stream)!.key_properties.every((key: string) => record.record[key] !== undefined),
      ),
      'every record has its key',
    );
    const state = messages.at(-1)!;
    t.equal(state.type, 'STATE', 'the last message is STATE');
    t.ok(Object.keys(state.value.bookmarks.messages).length > 0, 'per-channel bookmarks');

    // A target echoes the last STATE value; the orchestrator hands it back as --state.
    const statePath = join(directory, 'state.json');
    await writeFile(statePath, JSON.stringify(state.value));
    const unchanged = await singer(['--state', statePath]);
    t.equal(unchanged.code, 0, unchanged.stderr);
    t.equal(parseNdjson(unchanged.stdout).filter((message) => message.type === 'RECORD').length, 0, 'nothing changed: no RECORD');

    const channel = workspace.channels.find((candidate) => candidate.botIsMember && !candidate.info.is_private && !candidate.info.is_im)!;
    const edited = channel.messages
      .filter((message) => !message.subtype && !message.thread_ts && Number(message.ts) > workspace.now - 100 * 86_400)
      .at(-1)!;
    workspace.editMessage(channel.info.id, edited.ts, 'edited through Slack');
    const echoed = parseNdjson(unchanged.stdout).at(-1)!;
    await writeFile(statePath, JSON.stringify(echoed.value));
    const changed = await singer(['--state', statePath]);
    t.equal(changed.code, 0, changed.stderr);
    const changedRecords = parseNdjson(changed.stdout).filter((message) => message.type === 'RECORD');
    t.strictSame(
      changedRecords.map((record) => record.record._id),
      [`${channel.info.id}-${edited.ts}`],
      'only the edited message',
    );
    t.equal(changedRecords[0]!.record.text, 'edited through Slack');
  },
);

t.test('--format and its options are checked before any Slack call', async (t) => {
  const bad = await runCliInProcess(['export', '--format', 'csv'], { env: { SLACK_TOKEN: testToken } });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--format must be one of ndjson, es-bulk, singer, slack-export/);
  const index = await runCliInProcess(['export', '--index', 'x'], { env: { SLACK_TOKEN: testToken } });
  t.equal(index.code, 2);
  t.match(index.stderr, /--index applies to export only with --format es-bulk/);
});
