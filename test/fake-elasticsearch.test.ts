// The fake Elasticsearch answers the real @elastic/elasticsearch client the way a cluster does: indices, bulk, search, auth, faults.

import t, { type Test } from 'tap';
import { Client } from '@elastic/elasticsearch';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';

const mappings = {
  dynamic: false as const,
  properties: {
    id: { type: 'keyword' as const },
    type: { type: 'keyword' as const },
    count: { type: 'long' as const },
    ts: { type: 'keyword' as const },
    _timestamp: { type: 'date' as const },
  },
};

async function startWithClient(
  t: Test,
  options: Parameters<typeof startFakeElasticsearch>[0] = {},
  clientOptions: Partial<ConstructorParameters<typeof Client>[0]> = {},
) {
  const server = await startFakeElasticsearch(options);
  const client = new Client({ node: server.url, ...clientOptions });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  return { server, client };
}

const failure = async (promise: Promise<unknown>): Promise<{ name: string; status?: number; type?: string }> => {
  try {
    await promise;
  } catch (error) {
    const meta = (error as { meta?: { statusCode?: number; body?: { error?: { type?: string } } } }).meta;
    return { name: (error as Error).name, status: meta?.statusCode, type: meta?.body?.error?.type };
  }
  throw new Error('expected the request to fail');
};

t.test('creates an index with its mappings, reports it exists, and refuses to create it twice', async (t) => {
  const { server, client } = await startWithClient(t);
  t.equal(await client.indices.exists({ index: 'slack' }), false);
  await client.indices.create({ index: 'slack', mappings, settings: { number_of_shards: 1 } });
  t.equal(await client.indices.exists({ index: 'slack' }), true);
  const mapping = await client.indices.getMapping({ index: 'slack' });
  t.same(mapping.slack?.mappings, mappings);
  t.same(server.indices.get('slack')?.settings, { number_of_shards: 1 });
  t.match(await failure(client.indices.create({ index: 'slack', mappings })), {
    name: 'ResponseError',
    status: 400,
    type: 'resource_already_exists_exception',
  });
  t.match(await failure(client.indices.create({ index: 'Upper' })), { status: 400, type: 'invalid_index_name_exception' });
  await client.indices.delete({ index: 'slack' });
  t.equal(await client.indices.exists({ index: 'slack' }), false);
  t.match(await failure(client.indices.delete({ index: 'slack' })), { status: 404, type: 'index_not_found_exception' });
});

t.test('bulk answers every action in request order with real per-item statuses and an exact errors flag', async (t) => {
  const { server, client } = await startWithClient(t);
  await client.indices.create({ index: 'slack', mappings });
  const response = await client.bulk({
    index: 'slack',
    operations: [
      { index: { _id: 'a' } },
      { id: 'a', count: 1 },
      { index: { _id: 'a' } },
      { id: 'a', count: 2 },
      { create: { _id: 'a' } },
      { id: 'a', count: 3 },
      { create: { _id: 'b' } },
      { id: 'b', count: 1 },
      { update: { _id: 'b' } },
      { doc: { count: 5 } },
      { update: { _id: 'b' } },
      { doc: { count: 5 } },
      { update: { _id: 'c' } },
      { doc: { id: 'c' }, doc_as_upsert: true },
      { update: { _id: 'missing' } },
      { doc: { id: 'missing' } },
      { index: { _id: 'bad-type' } },
      { id: 'bad-type', count: 'many' },
      { index: { _id: 'bad-id' } },
      { _id: 'bad-id', id: 'bad-id' },
      { delete: { _id: 'a' } },
      { delete: { _id: 'never-there' } },
    ],
  });
  t.equal(response.errors, true);
  const summary = response.items.map((item) => {
    const [action, result] = Object.entries(item)[0]!;
    return [action, result!._id, result!.status, result!.result ?? result!.error?.type];
  });
  t.same(summary, [
    ['index', 'a', 201, 'created'],
    ['index', 'a', 200, 'updated'],
    ['create', 'a', 409, 'version_conflict_engine_exception'],
    ['create', 'b', 201, 'created'],
    ['update', 'b', 200, 'updated'],
    ['update', 'b', 200, 'noop'],
    ['update', 'c', 201, 'created'],
    ['update', 'missing', 404, 'document_missing_exception'],
    ['index', 'bad-type', 400, 'document_parsing_exception'],
    ['index', 'bad-id', 400, 'document_parsing_exception'],
    ['delete', 'a', 200, 'deleted'],
    ['delete', 'never-there', 404, 'not_found'],
  ]);
  t.same([...server.indices.get('slack')!.documents.keys()].sort(), ['b', 'c']);
  t.same(server.indices.get('slack')!.documents.get('b'), { id: 'b', count: 5 });

  const clean = await client.bulk({
    operations: [{ index: { _index: 'slack', _id: 'd' } }, { id: 'd' }, { delete: { _index: 'slack', _id: 'gone' } }],
  });
  t.equal(clean.errors, false, 'a 404 delete alone does not set errors, as in real Elasticsearch');
  t.same(server.stats().itemsByAction, { index: 5, create: 2, update: 4, delete: 3 });
  t.equal(server.stats().bulkRequests, 2);
});

t.test('bulk into a missing index creates it; a bulk body without a final newline is refused', async (t) => {
  const { server, client } = await startWithClient(t);
  const response = await client.bulk({ operations: [{ index: { _index: 'auto', _id: '1' } }, { id: '1' }] });
  t.equal(response.errors, false);
  t.ok(server.indices.get('auto')?.documents.has('1'));
  const raw = await fetch(`${server.url}/_bulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-ndjson' },
    body: '{"index":{"_index":"auto","_id":"2"}}\n{"id":"2"}',
  });
  t.equal(raw.status, 400);
  t.match(await raw.json(), {
    error: { type: 'illegal_argument_exception', root_cause: [{ type: 'illegal_argument_exception' }] },
    status: 400,
  });
});

t.test('helpers.bulk runs against it: per-item 400s reach onDrop, the rest is counted successful', async (t) => {
  const { server, client } = await startWithClient(t, { mappingError: (source) => source.id === 'doc-3' });
  await client.indices.create({ index: 'slack', mappings });
  const dropped: string[] = [];
  const stats = await client.helpers.bulk({
    datasource: Array.from({ length: 10 }, (_, index) => ({ id: `doc-${index}`, count: index })),
    index: 'slack',
    flushBytes: 100,
    onDocument: (document) => ({ index: { _id: document.id } }),
    onDrop: (drop) => dropped.push(String((drop.document as { id: string }).id)),
    refreshOnCompletion: 'slack',
  });
  t.match(stats, { total: 10, successful: 9, failed: 1 });
  t.same(dropped, ['doc-3']);
  t.equal(server.indices.get('slack')!.documents.size, 9);
  t.ok(server.requests.some((request) => request.path === '/slack/_refresh'));
});

t.test('search filters with term, terms, bool and range, filters _source, sorts and pages with search_after', async (t) => {
  const { client } = await startWithClient(t);
  await client.indices.create({ index: 'slack', mappings });
  const operations = [];
  for (let index = 0; index < 25; index++) {
    const id = `m${String(index).padStart(2, '0')}`;
    operations.push(
      { index: { _id: id } },
      {
        id,
        type: index % 2 === 0 ? 'message' : 'user',
        ts: `17000000${String(index).padStart(2, '0')}.000100`,
        _timestamp: new Date(Date.UTC(2024, 0, 1 + index)).toISOString(),
      },
    );
  }
  await client.bulk({ index: 'slack', operations, refresh: true });

  const messages = await client.search({ index: 'slack', size: 100, query: { term: { type: 'message' } }, _source: false });
  t.equal(messages.hits.hits.length, 13);
  t.notOk(messages.hits.hits[0]!._source, '_source: false leaves the source out');
  t.same(messages.hits.total, { value: 13, relation: 'eq' });

  const windowed = await client.search<{ id: string }>({
    index: 'slack',
    size: 100,
    sort: [{ id: 'asc' }],
    _source: ['id'],
    query: { bool: { filter: [{ terms: { type: ['message'] } }, { range: { ts: { gte: '1700000020' } } }] } },
  });
  t.same(
    windowed.hits.hits.map((hit) => hit._source),
    [{ id: 'm20' }, { id: 'm22' }, { id: 'm24' }],
  );

  const byDate = await client.count({ index: 'slack', query: { range: { _timestamp: { lt: '2024-01-03T00:00:00Z' } } } });
  t.equal(byDate.count, 2, 'range on a date field compares instants');
  t.equal((await client.count({ index: 'slack' })).count, 25);
  t.equal((await client.count({ index: 'slack', query: { bool: { must_not: [{ term: { type: 'user' } }] } } })).count, 13);

  const collected: string[] = [];
  let searchAfter: Array<string | number | null> | undefined;
  for (let page = 0; page < 10; page++) {
    const response = await client.search({
      index: 'slack',
      size: 10,
      sort: [{ id: 'desc' }],
      ...(searchAfter ? { search_after: searchAfter } : {}),
    });
    collected.push(...response.hits.hits.map((hit) => hit._id!));
    if (response.hits.hits.length < 10) break;
    searchAfter = response.hits.hits.at(-1)!.sort as Array<string | number | null>;
  }
  t.equal(collected.length, 25);
  t.equal(collected[0], 'm24');
  t.equal(collected.at(-1), 'm00');
  t.match(await failure(client.search({ index: 'slack', from: 9995, size: 10 })), { status: 400 });
  t.match(await failure(client.search({ index: 'nope' })), { status: 404, type: 'index_not_found_exception' });
});

t.test('a point in time is a snapshot that search_after on _shard_doc pages through', async (t) => {
  const { server, client } = await startWithClient(t);
  await client.indices.create({ index: 'slack', mappings });
  await client.bulk({
    index: 'slack',
    operations: Array.from({ length: 7 }, (_, index) => [{ index: { _id: `d${index}` } }, { id: `d${index}`, type: 'message' }]).flat(),
  });
  const pit = await client.openPointInTime({ index: 'slack', keep_alive: '1m' });
  await client.bulk({ index: 'slack', operations: [{ index: { _id: 'late' } }, { id: 'late' }] });
  const seen: string[] = [];
  let searchAfter: Array<string | number | null> | undefined;
  for (;;) {
    const page = await client.search({
      pit: { id: pit.id, keep_alive: '1m' },
      size: 3,
      sort: ['_shard_doc'],
      track_total_hits: false,
      _source: ['type'],
      ...(searchAfter ? { search_after: searchAfter } : {}),
    });
    t.equal(page.pit_id, pit.id);
    t.equal(page.hits.total, undefined, 'track_total_hits: false leaves the total out');
    seen.push(...page.hits.hits.map((hit) => hit._id!));
    if (page.hits.hits.length < 3) break;
    searchAfter = page.hits.hits.at(-1)!.sort as Array<string | number | null>;
  }
  t.same(seen, ['d0', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6'], 'the document written after the PIT opened is not in it');
  t.match(await client.closePointInTime({ id: pit.id }), { succeeded: true, num_freed: 1 });
  t.match(await failure(client.search({ pit: { id: pit.id }, size: 1 })), { status: 404, type: 'search_context_missing_exception' });
  t.ok(server.requests.some((request) => request.method === 'POST' && request.path === '/slack/_pit' && request.query === 'keep_alive=1m'));
});

t.test('every 2xx carries x-elastic-product and a JSON content type; unknown routes are ES-shaped 404s; refresh is recorded', async (t) => {
  const { server, client } = await startWithClient(t);
  const info = await client.info();
  t.match(info.version.number, /^9\./);
  await client.indices.create({ index: 'slack' });
  await client.indices.refresh({ index: 'slack' });
  t.ok(server.requests.some((request) => request.path === '/slack/_refresh' && request.status === 200));
  for (const path of ['/', '/slack/_mapping', '/slack/_count']) {
    const response = await fetch(server.url + path);
    t.equal(response.status, 200, path);
    t.equal(response.headers.get('x-elastic-product'), 'Elasticsearch', path);
    t.match(response.headers.get('content-type'), /^application\/(vnd\.elasticsearch\+)?json/, path);
  }
  const unknown = await fetch(`${server.url}/_no/such/route`);
  t.equal(unknown.status, 404);
  t.match(await unknown.json(), { error: { type: String, reason: /no handler/, root_cause: Array }, status: 404 });
});

t.test('with an API key configured: the right key passes, a wrong or missing one gets 401 security_exception', async (t) => {
  const { server, client } = await startWithClient(t, { auth: { apiKey: 'right-key==' } }, { auth: { apiKey: 'right-key==' } });
  t.equal(await client.indices.exists({ index: 'slack' }), false);
  const wrong = new Client({ node: server.url, auth: { apiKey: 'wrong-key==' } });
  const anonymous = new Client({ node: server.url });
  t.teardown(() => Promise.all([wrong.close(), anonymous.close()]));
  t.match(await failure(wrong.info()), { name: 'ResponseError', status: 401, type: 'security_exception' });
  t.match(await failure(anonymous.info()), { status: 401, type: 'security_exception' });
  const raw = await fetch(server.url);
  t.equal(raw.status, 401);
  t.match(raw.headers.get('www-authenticate'), /ApiKey/);
});

t.test('with basic auth configured: the right user and password pass, a wrong password gets 401', async (t) => {
  const { server, client } = await startWithClient(
    t,
    { auth: { username: 'elastic', password: 'changeme' } },
    { auth: { username: 'elastic', password: 'changeme' } },
  );
  t.match(await client.info(), { tagline: 'You Know, for Search' });
  const inUrl = new Client({ node: server.url.replace('http://', 'http://elastic:changeme@') });
  const wrong = new Client({ node: server.url, auth: { username: 'elastic', password: 'nope' } });
  t.teardown(() => Promise.all([inUrl.close(), wrong.close()]));
  t.match(await inUrl.info(), { tagline: 'You Know, for Search' }, 'credentials in the URL work too');
  t.match(await failure(wrong.info()), { status: 401, type: 'security_exception' });
});

t.test('injected request faults: 429 is not retried by the transport, 503 is, a dropped connection is a ConnectionError', async (t) => {
  const { server, client } = await startWithClient(t, {}, { maxRetries: 2 });
  server.injectRequestFault('429');
  t.match(await failure(client.info()), { name: 'ResponseError', status: 429, type: 'es_rejected_execution_exception' });
  server.injectRequestFault('503', 2);
  t.match(await client.info(), { tagline: 'You Know, for Search' }, 'the transport retried two 503s');
  const noRetries = new Client({ node: server.url, maxRetries: 0 });
  t.teardown(() => noRetries.close());
  server.injectRequestFault('drop');
  t.match(await failure(noRetries.info()), { name: 'ConnectionError' });
  t.match(server.stats(), { request429: 1, request503: 2, dropped: 1 });
  t.same(
    server.requests.map((request) => request.status),
    [429, 503, 503, 200, 0],
  );
});

t.test('seeded fault rates are repeatable: per-item 429s land on the same documents for the same seed', async (t) => {
  const run = async (seed: number) => {
    const { server, client } = await startWithClient(t, { faults: { itemRate429: 0.3, seed } });
    const response = await client.bulk({
      index: 'slack',
      operations: Array.from({ length: 40 }, (_, index) => [{ index: { _id: `d${index}` } }, { id: `d${index}` }]).flat(),
    });
    const throttled = response.items.filter((item) => item.index?.status === 429);
    t.equal(response.errors, throttled.length > 0);
    for (const item of throttled) t.equal(item.index?.error?.type, 'es_rejected_execution_exception');
    t.equal(server.stats().item429, throttled.length);
    t.equal(server.indices.get('slack')!.documents.size, 40 - throttled.length, 'a throttled item is not written');
    return throttled.map((item) => item.index!._id);
  };
  const first = await run(7);
  t.ok(first.length > 0 && first.length < 40);
  t.same(await run(7), first);
  t.notSame(await run(8), first);
});

t.test('request fault rates hit whole requests and are counted', async (t) => {
  const { server, client } = await startWithClient(t, { faults: { requestRate503: 0.5, requestRate429: 0.2, seed: 3 } }, { maxRetries: 0 });
  let failed = 0;
  for (let attempt = 0; attempt < 30; attempt++) await client.info().catch(() => failed++);
  const stats = server.stats();
  t.ok(stats.request503 > 0 && stats.request429 > 0);
  t.equal(failed, stats.request503 + stats.request429);
});

t.test('latencyMs delays every answer: a client with a shorter request timeout gives up, a patient one gets the answer', async (t) => {
  // undici checks timeouts on a coarse (about 0.5 s) timer, so the latency is well above one tick.
  const { server, client } = await startWithClient(t, { latencyMs: 2000 }, { requestTimeout: 10_000 });
  const impatient = new Client({ node: server.url, requestTimeout: 50, maxRetries: 0 });
  t.teardown(() => impatient.close());
  t.match(await failure(impatient.info()), { name: 'TimeoutError' });
  t.match(await client.info(), { tagline: 'You Know, for Search' });
});

t.test(
  'filter_path keeps only the named fields (`*`, `**`, `-` exclusions, arrays transparent); error responses are not filtered',
  async (t) => {
    const { client } = await startWithClient(t);
    await client.indices.create({ index: 'slack', mappings });
    const bulk = (filter_path: string) =>
      client.bulk({
        index: 'slack',
        filter_path,
        operations: [{ index: { _id: 'a' } }, { id: 'a', count: 1 }, { delete: { _id: 'gone' } }],
      });
    t.same(await bulk('errors,items.*._id,items.*.status,items.*.result'), {
      errors: false,
      items: [{ index: { _id: 'a', status: 201, result: 'created' } }, { delete: { _id: 'gone', status: 404, result: 'not_found' } }],
    });
    t.same(await bulk('items.index.status'), { items: [{ index: { status: 200 } }] }, 'an item none of whose fields match is dropped');
    t.same(await bulk('**.result'), { items: [{ index: { result: 'updated' } }, { delete: { result: 'not_found' } }] });
    t.same(await bulk('-items,-took'), { errors: false });
    t.same(await bulk('nothing.here'), {}, 'nothing matched is an empty object');
    const mget = await client.mget<{ count: number }>({ index: 'slack', ids: ['a', 'b'], filter_path: ['docs._id', 'docs.found'] });
    t.same(mget, {
      docs: [
        { _id: 'a', found: true },
        { _id: 'b', found: false },
      ],
    });
    t.match(await failure(client.indices.create({ index: 'slack', mappings }, { querystring: { filter_path: 'acknowledged' } })), {
      status: 400,
      type: 'resource_already_exists_exception',
    });
  },
);
