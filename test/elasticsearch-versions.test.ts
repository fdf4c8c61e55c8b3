// Elasticsearch 8.x and 9.x: the fake negotiates REST compatibility like Elasticsearch, `sync` works against both, older or foreign servers
// exit 2.

import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { expectedIds } from '../fixtures/slack-api/ground-truth.js';
import { scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const vendorJson = (version: number) => `application/vnd.elasticsearch+json; compatible-with=${version}`;

t.test('the fake answers as the configured version and checks compatible-with as Elasticsearch does', async (t) => {
  const eight = await startFakeElasticsearch({ version: '8.15.3' });
  const nine = await startFakeElasticsearch({ version: '9.1.0' });
  t.teardown(() => Promise.all([eight.close(), nine.close()]));
  const get = (url: string, accept?: string) => fetch(url, { headers: accept ? { accept } : {} });

  const info = await get(eight.url);
  t.equal(info.status, 200);
  t.equal(info.headers.get('x-elastic-product'), 'Elasticsearch');
  t.equal(((await info.json()) as { version: { number: string } }).version.number, '8.15.3');

  const rejected = await get(eight.url, vendorJson(9));
  t.equal(rejected.status, 400, '8.x rejects compatible-with=9');
  const body = (await rejected.json()) as { error: { type: string; caused_by: { reason: string } } };
  t.equal(body.error.type, 'media_type_header_exception');
  t.match(body.error.caused_by.reason, /Accept version must be either version 8 or 7, but found 9/);
  t.equal((await get(eight.url, vendorJson(8))).status, 200, '8.x accepts compatible-with=8');
  t.equal((await get(nine.url, vendorJson(9))).status, 200, '9.x accepts 9');
  t.equal((await get(nine.url, vendorJson(8))).status, 200, '9.x accepts 8');
  t.equal((await get(nine.url, vendorJson(7))).status, 400, '9.x rejects 7');

  const mismatched = await fetch(`${nine.url}/x/_search`, {
    method: 'POST',
    headers: { accept: vendorJson(9), 'content-type': vendorJson(8) },
    body: '{}',
  });
  t.equal(mismatched.status, 400, 'Accept and Content-Type must name the same version');
  const halfVersioned = await fetch(`${nine.url}/x/_search`, {
    method: 'POST',
    headers: { accept: vendorJson(9), 'content-type': 'application/json' },
    body: '{}',
  });
  t.equal(halfVersioned.status, 400, 'or both none');
});

t.test('the fake parses date fields by their mapping format and rejects what Elasticsearch rejects', async (t) => {
  const elasticsearch = await startFakeElasticsearch();
  t.teardown(() => elasticsearch.close());
  const request = (method: string, path: string, body: string, contentType = 'application/json') =>
    fetch(`${elasticsearch.url}${path}`, { method, headers: { 'content-type': contentType }, body });
  const mappings = {
    properties: {
      seconds: { type: 'date', format: 'epoch_second' },
      millis: { type: 'date', format: 'epoch_millis' },
      iso: { type: 'date', format: 'strict_date_optional_time' },
      plain: { type: 'date' },
    },
  };
  t.equal((await request('PUT', '/dates', JSON.stringify({ mappings }))).status, 200);
  const documents: Array<[Record<string, unknown>, boolean]> = [
    [{ seconds: 1_700_000_000, millis: 1_700_000_000_123, iso: '2023-11-14T22:13:20.123Z', plain: '2023-11-14' }, true],
    [{ seconds: '1700000000.5', millis: '1700000000123', iso: '2023-11-14T22:13:20+01:00', plain: 1_700_000_000_123 }, true],
    [{ iso: 1_700_000_000 }, false],
    [{ iso: '2023-11-14 22:13:20' }, false],
    [{ iso: '2023-02-30' }, false],
    [{ millis: '2023-11-14T22:13:20Z' }, false],
    [{ seconds: 'yesterday' }, false],
    [{ plain: 'not a date' }, false],
  ];
  const body = documents
    .map(([source], position) => `${JSON.stringify({ index: { _id: String(position) } })}\n${JSON.stringify(source)}\n`)
    .join('');
  const response = (await (await request('POST', '/dates/_bulk', body, 'application/x-ndjson')).json()) as {
    errors: boolean;
    items: Array<{ index: { status: number; error?: { type: string } } }>;
  };
  t.equal(response.errors, true);
  documents.forEach(([source, accepted], position) => {
    const item = response.items[position]!.index;
    if (accepted) t.equal(item.status, 201, `${JSON.stringify(source)} is accepted`);
    else t.same([item.status, item.error?.type], [400, 'document_parsing_exception'], `${JSON.stringify(source)} is rejected`);
  });
  const inRange = (await (
    await request(
      'POST',
      '/dates/_count',
      JSON.stringify({
        query: { range: { seconds: { gte: '2023-11-14T00:00:00Z', lt: '2023-11-15T00:00:00Z', format: 'strict_date_optional_time' } } },
      }),
    )
  ).json()) as { count: number };
  t.equal(inRange.count, 2, 'epoch seconds are read as seconds by range queries');
});

t.test(
  'sync into Elasticsearch 8.15 completes with every document; 8.12 and a server that is not Elasticsearch exit 2 before any Slack call',
  async (t) => {
    const { workspace, slack, nowMs } = await startWorkspace(t, { messageCount: 500 });
    const eight = await startFakeElasticsearch({ version: '8.15.0' });
    const old = await startFakeElasticsearch({ version: '8.12.2' });
    const foreign = createServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          name: 'node',
          cluster_name: 'search',
          version: { distribution: 'opensearch', number: '2.11.0' },
          tagline: 'The OpenSearch Project: https://opensearch.org/',
        }),
      );
    });
    await new Promise<void>((resolve) => foreign.listen(0, '127.0.0.1', resolve));
    t.teardown(async () => {
      foreign.closeAllConnections();
      await Promise.all([eight.close(), old.close(), new Promise((resolve) => foreign.close(resolve))]);
    });
    const directory = await temporaryDirectory(t);
    const sync = (url: string) =>
      runCliInProcess(
        [
          'sync',
          '--index',
          'slack',
          '--dead-letter',
          join(directory, 'dead.ndjson'),
          '--slack-api-url',
          slack.url,
          '--tier-rates',
          scaledTierRatesFlag,
        ],
        {
          env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs), ELASTICSEARCH_URL: url },
        },
      );

    const synced = await sync(eight.url);
    t.equal(synced.code, 0, synced.stderr);
    const truth = expectedIds(workspace, {
      now: workspace.now,
      fetchLastNDays: 180,
      threads: true,
      syncUsers: true,
      autoJoinChannels: false,
      channelTypes: ['public'],
    });
    t.strictSame([...eight.indices.get('slack')!.documents.keys()].sort(), [...truth.all].sort(), 'every document is in the 8.15 index');
    t.ok(
      eight.requests.every((request) => request.status !== 400),
      'no request was refused',
    );

    const callsAfterSync = JSON.stringify(slack.stats().callsByMethod);
    const tooOld = await sync(old.url);
    t.equal(tooOld.code, 2, tooOld.stderr);
    t.match(tooOld.stderr, /Elasticsearch 8\.12\.2 at http:\/\/127\.0\.0\.1:\d+\/? is not supported: slack-etl needs 8\.13 or later/);
    const notElasticsearch = await sync(`http://127.0.0.1:${(foreign.address() as AddressInfo).port}`);
    t.equal(notElasticsearch.code, 2, notElasticsearch.stderr);
    t.match(notElasticsearch.stderr, /is not Elasticsearch/);
    t.equal(JSON.stringify(slack.stats().callsByMethod), callsAfterSync, 'neither made a Slack call');
  },
);
