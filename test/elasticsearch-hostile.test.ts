// A hostile Elasticsearch: bulk answers that lie (errors:false with failed items, missing items), item-level 5xx, and 413 for large
// requests. Nothing is lost.

import t from 'tap';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Client } from '@elastic/elasticsearch';
import { startFakeElasticsearch, type FakeElasticsearchOptions } from '../fixtures/elasticsearch/server.js';
import { elasticsearchSink, type ElasticsearchSinkOptions } from '../lib/sinks/elasticsearch.js';
import type { AnyDocument } from '../lib/documents.js';
import { createLogger } from '../lib/log.js';
import { pipeline } from '../lib/pipeline.js';
import { hashedMessage, staticSource } from './helpers/documents.js';
import { temporaryDirectory, type TestContext } from './helpers/slack.js';

const documents = (count: number): AnyDocument[] =>
  Array.from({ length: count }, (_, index) => hashedMessage(`C${index % 3}`, `17000${String(index).padStart(5, '0')}.000100`));

async function run(
  t: TestContext,
  fake: FakeElasticsearchOptions,
  input: AnyDocument[],
  sinkOptions: Partial<ElasticsearchSinkOptions> = {},
) {
  const server = await startFakeElasticsearch(fake);
  const client = new Client({ node: server.url });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const warnings: string[] = [];
  const logger = createLogger({ format: 'text', write: (line) => warnings.push(line) });
  const result = await pipeline(staticSource(input), elasticsearchSink({ client, index: 'slack', retryWaitMs: 1, ...sinkOptions }), {
    logger,
  });
  return { server, result, warnings, stored: server.indices.get('slack')!.documents };
}

t.test('errors:false whose items carry a 500: the item is checked and re-sent, nothing lost', async (t) => {
  const input = documents(20);
  const { stored, result, warnings } = await run(
    t,
    {
      hostileBulk: {
        errorsFalse: true,
        item: (request, position) =>
          request === 1 && position % 4 === 0 ? { status: 500, type: 'exception', reason: 'shard failure' } : undefined,
      },
    },
    input,
  );
  t.equal(stored.size, input.length, 'every document is in the index');
  t.match(result.sink, { indexed: input.length, dropped: 0 });
  t.ok(
    warnings.some((line) => /errors:false but 5 of its items failed/.test(line)),
    'the lie is reported',
  );
});

t.test('errors:false whose item carries a 400: the document is dropped to the dead-letter file, not counted as written', async (t) => {
  const input = documents(10);
  const rejected = input[3]!._id;
  const directory = await temporaryDirectory(t);
  const deadLetterPath = join(directory, 'dead.ndjson');
  const { stored, result } = await run(
    t,
    {
      hostileBulk: {
        errorsFalse: true,
        item: (_request, _position, id) =>
          id === rejected ? { status: 400, type: 'document_parsing_exception', reason: 'failed to parse' } : undefined,
      },
    },
    input,
    { deadLetterPath },
  );
  t.equal(stored.size, input.length - 1);
  t.match(result.sink, { indexed: input.length - 1, dropped: 1 });
  const lines = (await readFile(deadLetterPath, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as { document: { _id: string }; status: number });
  t.strictSame(
    lines.map((line) => [line.document._id, line.status]),
    [[rejected, 400]],
  );
});

t.test('a bulk answer with fewer items than operations: the unanswered ones are sent again', async (t) => {
  const input = documents(12);
  const { stored, result, warnings } = await run(
    t,
    { hostileBulk: { errorsFalse: true, item: (request, position) => (request === 1 && position >= 9 ? 'omit' : undefined) } },
    input,
  );
  t.equal(stored.size, input.length, 'every document is in the index');
  t.match(result.sink, { indexed: input.length, dropped: 0 });
  t.ok(
    warnings.some((line) => /had 9 items for 12 operations/.test(line)),
    'the short answer is reported',
  );
});

t.test('item-level 503 and 429 are retried like throttling; a persistent 503 ends in the dead-letter file', async (t) => {
  const input = documents(15);
  const stubborn = input[7]!._id;
  const { stored, result } = await run(
    t,
    {
      hostileBulk: {
        item: (request, position, id) =>
          id === stubborn
            ? { status: 503, type: 'unavailable_shards_exception', reason: 'primary shard is not active' }
            : request <= 2 && position % 3 === 0
              ? { status: request === 1 ? 503 : 429, type: 'busy', reason: 'try later' }
              : undefined,
      },
    },
    input,
    { retries: 3 },
  );
  t.equal(stored.size, input.length - 1, 'all but the one that never succeeded');
  t.notOk(stored.has(stubborn));
  t.match(result.sink, { indexed: input.length - 1, dropped: 1 });
});

t.test('a 413 for a large request splits the batch instead of failing the sync', async (t) => {
  const input = documents(400);
  const { server, stored, result } = await run(t, { maxContentLength: 20_000 }, input, { flushBytes: 200_000 });
  t.equal(stored.size, input.length, 'every document is in the index');
  t.match(result.sink, { indexed: input.length, dropped: 0 });
  t.ok(
    server.requests.some((request) => request.status === 413),
    'the cluster did refuse large requests',
  );
});

t.test('a single document larger than the cluster accepts goes to the dead-letter file; the rest lands', async (t) => {
  const input = documents(30);
  const big = { ...input[5]!, text: 'x'.repeat(30_000) } as AnyDocument;
  input[5] = big;
  const { stored, result } = await run(t, { maxContentLength: 20_000 }, input);
  t.equal(stored.size, input.length - 1);
  t.match(result.sink, { dropped: 1 });
});
