// The Elasticsearch sink over real HTTP to the fake: exact index contents, skip-unchanged re-syncs, deletes, stale-deletion safeguards,
// faults, dead letters, credential errors.

import t, { type Test } from 'tap';
import { createServer } from 'node:http';
import { readFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { Client } from '@elastic/elasticsearch';
import { startFakeElasticsearch, type FakeElasticsearchOptions } from '../fixtures/elasticsearch/server.js';
import {
  checkElasticsearch,
  createElasticsearchClient,
  elasticsearchSink,
  indexMappings,
  type ElasticsearchSinkOptions,
} from '../lib/sinks/elasticsearch.js';
import {
  messageId,
  slackTsToIso,
  type AnyDocument,
  type ChannelDocument,
  type TombstoneDocument,
  type UserDocument,
} from '../lib/documents.js';
import { contentHash } from '../lib/content-hash.js';
import { pipeline } from '../lib/pipeline.js';
import { ConfigError } from '../lib/errors.js';
import type { Logger } from '../lib/log.js';
import type { Source, SourceReport } from '../lib/stage.js';
import { hashedMessage, staticSource } from './helpers/documents.js';

const withHash = <T extends AnyDocument>(document: T): T => ({ ...document, content_hash: contentHash(document) });

function user(id: string, name: string): UserDocument {
  return withHash({
    _id: id,
    id,
    type: 'user',
    _timestamp: '2024-01-01T00:00:00.000Z',
    real_name_normalized: name,
    profile_real_name: name,
    display_name: name.toLowerCase(),
    display_name_normalized: name.toLowerCase(),
    first_name: name,
    last_name: null,
    name: name.toLowerCase(),
    deleted: false,
    real_name: name,
    is_admin: false,
    is_owner: false,
    is_bot: false,
    tz: 'Europe/Berlin',
    title: null,
    updated: 1704067200,
  });
}

function channel(id: string, name: string): ChannelDocument {
  return withHash({
    _id: id,
    id,
    type: 'channel',
    _timestamp: '2024-01-01T00:00:00.000Z',
    topic: `about ${name}`,
    topic_author: 'alice',
    topic_last_updated: 1704067200,
    purpose: null,
    purpose_author: null,
    purpose_last_updated: null,
    last_updated: 1704067200,
    name,
    name_normalized: name,
    created: 1704067200,
    is_private: false,
    is_archived: false,
    num_members: 3,
    url: `https://example.slack.com/archives/${id}`,
  });
}

const message = hashedMessage;

function tombstone(channelId: string, ts: string): TombstoneDocument {
  const id = messageId(channelId, ts);
  return { _id: id, id, type: 'tombstone', deleted_type: 'message', channel_id: channelId, ts, _timestamp: slackTsToIso(ts) };
}

/** A source as the pipeline sees it: documents, then (only once exhausted) a report of what was read completely. */
const source = staticSource;

const fullReport = (completeChannels: string[], windowOldest: string | null = null): SourceReport => ({
  completeChannels,
  skippedChannels: [],
  windowOldest,
  complete: true,
});

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const record = (level: string) => (text: string) => void lines.push(`${level}: ${text}`);
  return { lines, debug: record('debug'), info: record('info'), warn: record('warn'), error: record('error') };
}

async function setup(t: Test, fakeOptions: FakeElasticsearchOptions = {}) {
  const server = await startFakeElasticsearch(fakeOptions);
  const client = new Client({ node: server.url, auth: fakeOptions.auth?.apiKey ? { apiKey: fakeOptions.auth.apiKey } : undefined });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const run = (
    documents: AnyDocument[] | Source<AnyDocument>,
    options: Partial<ElasticsearchSinkOptions> = {},
    logger = recordingLogger(),
  ) =>
    pipeline(
      Array.isArray(documents) ? source(documents) : documents,
      elasticsearchSink({ client, index: 'slack', retryWaitMs: 5, ...options }),
      { logger },
    );
  const stored = () => server.indices.get('slack')!.documents;
  return { server, client, run, stored };
}

const bodyOf = (document: AnyDocument): Record<string, unknown> => {
  const { _id, ...body } = document;
  return body;
};

const workspace = (): AnyDocument[] => [
  user('U1', 'Alice'),
  user('U2', 'Bob'),
  channel('C1', 'general'),
  channel('C2', 'random'),
  ...Array.from({ length: 30 }, (_, index) => message('C1', `1700000${String(index).padStart(3, '0')}.000100`)),
  ...Array.from({ length: 10 }, (_, index) => message('C2', `1700001${String(index).padStart(3, '0')}.000200`)),
];

t.test('first run creates the index with the mappings and it holds exactly the ids and contents, without _id in the source', async (t) => {
  const { server, run, stored } = await setup(t);
  const documents = workspace();
  const result = await run(documents);
  t.match(result.sink, { indexed: documents.length, updated: 0, unchanged: 0, deleted: 0, dropped: 0 });
  t.ok((result.sink.bulkRequests as number) >= 1);
  t.ok((result.sink.bytes as number) > 0);
  t.same(server.indices.get('slack')!.mappings, indexMappings);
  t.same([...stored().keys()].sort(), documents.map((document) => document._id).sort());
  for (const document of documents) t.same(stored().get(document._id), bodyOf(document), document._id);
  t.ok(
    server.requests.some((request) => request.path === '/slack/_refresh'),
    'refreshed at the end',
  );
});

t.test('a second run with unchanged content hashes writes zero documents; changed hashes update exactly those', async (t) => {
  const { server, run, stored } = await setup(t);
  const documents = workspace();
  await run(documents);
  const bulkBefore = server.stats().bulkRequests;
  const again = await run(documents);
  t.match(again.sink, { indexed: 0, updated: 0, unchanged: documents.length, bulkRequests: 0 });
  t.equal(server.stats().bulkRequests, bulkBefore, 'no bulk request at all');

  const edited = documents.map((document) =>
    document._id === messageId('C1', '1700000003.000100') ? message('C1', '1700000003.000100', 'edited text') : document,
  );
  const renamed = edited.map((document) => (document._id === 'U2' ? user('U2', 'Robert') : document));
  const third = await run(renamed);
  t.match(third.sink, { indexed: 0, updated: 2, unchanged: documents.length - 2 });
  t.equal(stored().get(messageId('C1', '1700000003.000100'))!.text, 'edited text');
  t.equal(stored().get('U2')!.real_name, 'Robert');

  const withoutSkip = await run(renamed, { skipUnchanged: false });
  t.match(withoutSkip.sink, { updated: documents.length, unchanged: 0 }, 'skipUnchanged: false re-sends everything');
});

t.test('the next batch is compared with the index while a bulk write is in flight (lookups do not hold a write slot)', async (t) => {
  // Latency makes every answer slower than handing on a batch, so the order of arrival shows what overlaps.
  const { server, run, stored } = await setup(t, { latencyMs: 100 });
  const documents = workspace();
  await run(documents);
  const edited = documents.map((document) =>
    document.type === 'message' ? message(document.channel_id, document.ts, `edited ${document.ts}`) : document,
  );
  const from = server.requests.length;
  const result = await run(edited, { flushBytes: 4000, concurrency: 1 });
  const edits = edited.filter((document) => document.type === 'message').length;
  t.match(result.sink, { updated: edits, unchanged: documents.length - edits, dropped: 0 });
  for (const document of edited) t.same(stored().get(document._id), bodyOf(document), document._id);
  const order = server.requests
    .slice(from)
    .map((request) => request.path.split('/').pop())
    .filter((action) => action === '_mget' || action === '_bulk');
  t.ok(order.filter((action) => action === '_bulk').length >= 3, 'several batches');
  t.same(order.slice(0, 3), ['_mget', '_mget', '_bulk'], 'the second lookup went out before the first write');
});

t.test('with an input that never waits, a bulk request reaches the cluster while later batches are still being built', async (t) => {
  // An array or fused synchronous stages never give the event loop a turn; the sink must, after sending each batch, or
  // every request's socket writes wait until the input ends (or all slots are taken).
  const { server, client } = await setup(t);
  const documents = Array.from({ length: 600 }, (_, index) => message('C1', `17000${String(index).padStart(5, '0')}.000100`));
  let pulled = 0;
  let pulledWhenFirstBulkArrived: number | undefined;
  async function* neverWaits(): AsyncIterable<AnyDocument> {
    for (const document of documents) {
      if (pulledWhenFirstBulkArrived === undefined && server.requests.some((request) => request.path.endsWith('/_bulk'))) {
        pulledWhenFirstBulkArrived = pulled;
      }
      pulled++;
      yield document;
    }
  }
  const sink = elasticsearchSink({ client, index: 'slack', flushBytes: 8000, concurrency: 1000 });
  const stats = await sink(neverWaits(), { logger: recordingLogger(), sourceReport: () => undefined });
  t.match(stats, { indexed: documents.length, dropped: 0 });
  t.ok((stats.bulkRequests as number) >= 20, `many batches (${String(stats.bulkRequests)})`);
  t.ok(
    pulledWhenFirstBulkArrived !== undefined && pulledWhenFirstBulkArrived < documents.length / 2,
    `the first bulk request arrived after ${String(pulledWhenFirstBulkArrived)} of ${documents.length} documents were read`,
  );
});

t.test('tombstones delete their message; a tombstone for an id that is already gone is not an error', async (t) => {
  const { run, stored } = await setup(t);
  await run(workspace());
  const result = await run([
    tombstone('C1', '1700000001.000100'),
    tombstone('C2', '1700001002.000200'),
    tombstone('C9', '1600000000.000000'),
  ]);
  t.match(result.sink, { deleted: 2, deleteNotFound: 1, dropped: 0 });
  t.notOk(stored().has(messageId('C1', '1700000001.000100')));
  t.notOk(stored().has(messageId('C2', '1700001002.000200')));
  t.equal(stored().size, workspace().length - 2);
});

t.test('deleteStale deletes exactly the unseen in-window messages of complete channels, and honours every safeguard', async (t) => {
  const { run, stored } = await setup(t);
  const old = message('C1', '1600000000.000100');
  const c1 = ['1700000001.000100', '1700000002.000100', '1700000003.000100', '1700000004.000100'].map((ts) => message('C1', ts));
  const c2 = ['1700000001.000200', '1700000002.000200'].map((ts) => message('C2', ts));
  const c3 = ['1700000001.000300', '1700000002.000300'].map((ts) => message('C3', ts));
  const everything: AnyDocument[] = [
    user('U1', 'Alice'),
    channel('C1', 'general'),
    channel('C2', 'random'),
    channel('C3', 'private'),
    old,
    ...c1,
    ...c2,
    ...c3,
  ];
  await run(everything);
  t.equal(stored().size, everything.length);

  // This run: C1 lost two messages, C2 came back empty, C3 could not be read completely, nothing else was produced.
  const logger = recordingLogger();
  const thisRun = [user('U1', 'Alice'), c1[0]!, c1[2]!, c3[0]!];
  const result = await run(source(thisRun, fullReport(['C1', 'C2'], '1700000000')), { deleteStale: true }, logger);
  t.match(result.sink, { deleted: 2, staleDeletionSkippedChannels: 1, unchanged: thisRun.length });
  t.same(
    [...stored().keys()].sort(),
    everything
      .map((document) => document._id)
      .filter((id) => id !== c1[1]!._id && id !== c1[3]!._id)
      .sort(),
    'only the two unseen in-window C1 messages are gone: old message, empty C2, incomplete C3, users and channels stay',
  );
  t.ok(
    logger.lines.some((line) => line.startsWith('warn:') && line.includes('C2')),
    'a warning names the channel that came back empty',
  );
});

t.test('deleteStale deletes nothing when the source report is missing, and warns', async (t) => {
  const { run, stored } = await setup(t);
  const documents = workspace();
  await run(documents);
  const logger = recordingLogger();
  const result = await run(source(documents.slice(0, 5)), { deleteStale: true }, logger);
  t.match(result.sink, { deleted: 0 });
  t.equal(stored().size, documents.length);
  t.ok(logger.lines.some((line) => line.startsWith('warn:') && line.includes('delete-stale')));
});

t.test('deleteStale with no window deletes unseen messages of any age; with a window never older ones', async (t) => {
  const { run, stored } = await setup(t);
  const messages = ['1500000000.000001', '1600000000.000001', '1700000000.000001'].map((ts) => message('C1', ts));
  await run(messages);
  const windowed = await run(source([messages[2]!], fullReport(['C1'], '1600000000')), { deleteStale: true });
  t.match(windowed.sink, { deleted: 1 }, 'ts equal to the window start is inside the window');
  t.same([...stored().keys()].sort(), [messages[0]!._id, messages[2]!._id]);
  const allHistory = await run(source([messages[2]!], fullReport(['C1'], null)), { deleteStale: true });
  t.match(allHistory.sink, { deleted: 1 });
  t.same([...stored().keys()], [messages[2]!._id]);
});

t.test('a failed run writes what it read, then fails, and deletes nothing even with deleteStale', async (t) => {
  const { run, stored } = await setup(t);
  const documents = workspace();
  await run(documents);
  const changed = documents.map((document) =>
    document.type === 'message' ? message(document.channel_id, document.ts, 'changed') : document,
  );
  await t.rejects(run(source(changed, fullReport(['C1', 'C2']), 10), { deleteStale: true }), /Slack went away/);
  t.equal(stored().size, documents.length, 'nothing deleted');
  const rewritten = [...stored().values()].filter((body) => body.text === 'changed').length;
  t.equal(rewritten, 6, 'the 6 changed messages read before the failure were written');
});

t.test('with 10% per-item 429s, request-level 503s and 429s and a dropped connection, every document lands', async (t) => {
  const { server, run, stored } = await setup(t, { faults: { itemRate429: 0.1, seed: 42 } });
  const documents = Array.from({ length: 3000 }, (_, index) => message(`C${index % 7}`, `17000${String(index).padStart(5, '0')}.000001`));
  // The first two requests (index check, index creation) get 503s; more faults land in the middle of the bulk phase.
  server.injectRequestFault('503', 2);
  async function* faultyMiddle() {
    for (const [index, document] of documents.entries()) {
      if (index === 1000) {
        server.injectRequestFault('429', 2);
        server.injectRequestFault('drop');
        server.injectRequestFault('503');
      }
      yield document;
    }
  }
  const result = await run(faultyMiddle(), { flushBytes: 50_000, retries: 10 });
  t.equal(stored().size, documents.length, 'every document is in the index');
  for (const document of documents) if (!stored().has(document._id)) t.fail(`missing ${document._id}`);
  const stats = server.stats();
  t.ok(stats.item429 > 200, `per-item 429s happened (${stats.item429})`);
  t.match(stats, { request429: 2, request503: 3, dropped: 1 });
  t.match(result.sink, { indexed: documents.length, dropped: 0 });
  t.equal(result.sink.retries, stats.item429 + 6, 'retries = re-sent throttled documents + 6 re-sent requests');
});

t.test('a cluster that stays down through every retry fails the run (exit 1), and a stale deletion never follows', async (t) => {
  const { server, run, stored } = await setup(t);
  await run(workspace());
  // Ten C1 messages are missing from this run: a completed run with deleteStale would delete them.
  const changed = workspace()
    .filter((document) => !(document.type === 'message' && document.channel_id === 'C1' && document.ts >= '1700000020'))
    .map((document) => (document.type === 'message' ? message(document.channel_id, document.ts, 'changed') : document));
  const failWith = (kind: '503' | 'drop') =>
    async function* () {
      for (const [position, document] of changed.entries()) {
        if (position === 5) server.injectRequestFault(kind, 3);
        yield document;
      }
    };
  const report = fullReport(['C1', 'C2']);
  const down503 = Object.assign(failWith('503')(), { report: () => report });
  await t.rejects(run(down503, { retries: 2, deleteStale: true }), { code: 'es_request_failed', exitCode: 1, message: /HTTP 503/ });
  const dropped = Object.assign(failWith('drop')(), { report: () => report });
  await t.rejects(run(dropped, { retries: 2, deleteStale: true }), { code: 'es_unreachable', exitCode: 1 });
  t.equal(stored().size, workspace().length, 'nothing deleted');
});

t.test('documents with permanent mapping errors go to the dead-letter file and are counted; the rest lands', async (t) => {
  const isBad = (source: Record<string, unknown>) => typeof source.text === 'string' && source.text.includes('poison');
  const { run, stored } = await setup(t, { mappingError: isBad });
  const directory = mkdtempSync(join(tmpdir(), 'slack-etl-es-'));
  const deadLetterPath = join(directory, 'dead.ndjson');
  const documents = [...workspace(), message('C1', '1700009999.000001', 'poison one'), message('C2', '1700009999.000002', 'poison two')];
  const logger = recordingLogger();
  const result = await run(documents, { deadLetterPath }, logger);
  t.match(result.sink, { indexed: documents.length - 2, dropped: 2, deadLetterFile: deadLetterPath });
  t.equal(stored().size, documents.length - 2);
  const lines = (await readFile(deadLetterPath, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { document: AnyDocument; status: number; error: { type: string } });
  t.same(lines.map((line) => line.document._id).sort(), [messageId('C1', '1700009999.000001'), messageId('C2', '1700009999.000002')]);
  for (const line of lines) {
    t.equal(line.status, 400);
    t.equal(line.error.type, 'document_parsing_exception');
    t.same(
      line.document,
      documents.find((document) => document._id === line.document._id),
      'the full original document, _id included',
    );
  }
  t.ok(logger.lines.some((line) => line.startsWith('warn:') && line.includes('1700009999.000001')));
  const clean = await run(workspace(), { deadLetterPath: join(directory, 'none.ndjson') });
  t.equal(clean.sink.deadLetterFile, undefined, 'no file when nothing was dropped');
});

t.test('a sink built from connection options authenticates with the API key and never logs it', async (t) => {
  const apiKey = 'c2VjcmV0LWtleS1pZDpzZWNyZXQta2V5LXZhbHVl';
  const server = await startFakeElasticsearch({ auth: { apiKey }, faults: { requestRate503: 0.2, seed: 5 } });
  t.teardown(() => server.close());
  const logger = recordingLogger();
  const result = await pipeline(
    source(workspace()),
    elasticsearchSink({ node: server.url, apiKey, index: 'slack', retryWaitMs: 5, retries: 10, flushBytes: 2000 }),
    { logger },
  );
  t.equal(server.indices.get('slack')!.documents.size, workspace().length);
  t.ok((result.sink.retries as number) > 0);
  t.notOk(logger.lines.join('\n').includes(apiKey));
  await t.rejects(pipeline(source(workspace()), elasticsearchSink({ node: server.url, apiKey: 'd3Jvbmcta2V5', index: 'slack' })), {
    code: 'es_auth',
  });
});

t.test('checkElasticsearch: wrong credentials are a ConfigError es_auth that names the fix and hides the secret', async (t) => {
  const server = await startFakeElasticsearch({ auth: { apiKey: 'the-right-key', username: 'elastic', password: 'right-password' } });
  t.teardown(() => server.close());
  const good = createElasticsearchClient({ node: server.url, apiKey: 'the-right-key' });
  const badKey = createElasticsearchClient({ node: server.url, apiKey: 'a-wrong-api-key' });
  const badPassword = createElasticsearchClient({ node: server.url, username: 'elastic', password: 'wrong-password' });
  t.teardown(() => Promise.all([good.close(), badKey.close(), badPassword.close()]));
  await checkElasticsearch(good, server.url);
  for (const [client, secret] of [
    [badKey, 'a-wrong-api-key'],
    [badPassword, 'wrong-password'],
  ] as const) {
    const error = await checkElasticsearch(client, server.url).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    t.type(error, ConfigError);
    t.match(error, { code: 'es_auth', exitCode: 2, message: /authentication/ });
    t.match((error as ConfigError).hint, /--es-api-key.*ELASTICSEARCH_API_KEY.*--es-username/);
    t.notOk(inspect(error, { depth: 8 }).includes(secret), 'the secret is nowhere in the error');
  }
});

t.test('checkElasticsearch: an unreachable URL is a ConfigError es_unreachable naming the URL without the password', async (t) => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as { port: number }).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const node = `http://elastic:hunter2secret@127.0.0.1:${port}`;
  const client = createElasticsearchClient({ node });
  t.teardown(() => client.close());
  const error = await checkElasticsearch(client, node).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  t.type(error, ConfigError);
  t.match(error, { code: 'es_unreachable', exitCode: 2 });
  t.match((error as Error).message, `http://127.0.0.1:${port}`);
  t.notOk((error as Error).message.includes('hunter2secret'));
  t.notOk(inspect(error, { depth: 8 }).includes('hunter2secret'), 'not even in the cause');
});

t.test('an invalid index name is a ConfigError before any request', async (t) => {
  const { server, run } = await setup(t);
  for (const index of ['Slack', 'a*b', '_slack', 'with space']) {
    await t.rejects(run(workspace(), { index }), { code: 'es_index_invalid', exitCode: 2 }, index);
  }
  t.same(server.requests, []);
});

t.test('createElasticsearchClient rejects a URL that is not http(s) and an unreadable CA file as ConfigErrors', async (t) => {
  t.throws(() => createElasticsearchClient({ node: 'ftp://user:pw123456@host' }), { code: 'es_url_invalid' });
  t.throws(() => createElasticsearchClient({ node: 'not a url' }), { code: 'es_url_invalid' });
  t.throws(() => createElasticsearchClient({ node: 'https://localhost:9200', caCertPath: join(tmpdir(), 'no-such-ca-file.pem') }), {
    code: 'es_ca_cert',
  });
});
