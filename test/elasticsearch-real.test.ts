// The Elasticsearch sink against a real cluster when ELASTICSEARCH_URL is set: index, re-sync without writes, updates, deletes, stale
// deletion.

import t from 'tap';
import { randomUUID } from 'node:crypto';
import { checkElasticsearch, createElasticsearchClient, elasticsearchSink } from '../lib/sinks/elasticsearch.js';
import type { TombstoneDocument } from '../lib/documents.js';
import { pipeline } from '../lib/pipeline.js';
import type { SourceReport } from '../lib/stage.js';
import { hashedMessage, staticSource } from './helpers/documents.js';

const node = process.env.ELASTICSEARCH_URL;

const message = hashedMessage;

const source = staticSource;

if (!node) {
  t.comment(
    'skipped: ELASTICSEARCH_URL is not set, so these checks did not run against a real cluster ' +
      '(set it, and ELASTICSEARCH_API_KEY if needed, to run them)',
  );
  t.pass('skipped: ELASTICSEARCH_URL is not set, no real Elasticsearch to test against');
} else {
  t.test('index, re-sync without writes, update, tombstone and stale deletion against a real cluster', async (t) => {
    const connection = {
      node,
      apiKey: process.env.ELASTICSEARCH_API_KEY,
      username: process.env.ELASTICSEARCH_USERNAME,
      password: process.env.ELASTICSEARCH_PASSWORD,
      caCertPath: process.env.ELASTICSEARCH_CA_CERT,
    };
    const client = createElasticsearchClient(connection);
    const index = `slack-etl-test-${randomUUID()}`;
    t.teardown(async () => {
      await client.indices.delete({ index }, { ignore: [404] });
      await client.close();
    });
    await checkElasticsearch(client, node);
    const sink = (options: { deleteStale?: boolean } = {}) => elasticsearchSink({ client, index, retryWaitMs: 200, ...options });
    const documents = Array.from({ length: 50 }, (_, position) =>
      message(position % 2 ? 'C1' : 'C2', `17000000${String(position).padStart(2, '0')}.000100`),
    );
    const ids = documents.map((document) => document._id).sort();

    const first = await pipeline(source(documents), sink());
    t.match(first.sink, { indexed: 50, updated: 0, dropped: 0 });
    t.equal((await client.count({ index })).count, 50);
    const stored = await client.get<Record<string, unknown>>({ index, id: documents[3]!._id });
    const { _id, ...body } = documents[3]!;
    t.same(stored._source, body, 'the source is the document without _id');
    const all = await client.search({ index, size: 100, _source: false });
    t.same(all.hits.hits.map((hit) => hit._id).sort(), ids);

    const again = await pipeline(source(documents), sink());
    t.match(again.sink, { indexed: 0, updated: 0, unchanged: 50, bulkRequests: 0 }, 'an unchanged re-sync writes nothing');

    const changed = documents.map((document, position) =>
      position === 0 ? message(document.channel_id, document.ts, 'edited') : document,
    );
    t.match((await pipeline(source(changed), sink())).sink, { updated: 1, unchanged: 49 });

    const gone: TombstoneDocument = {
      _id: documents[1]!._id,
      id: documents[1]!._id,
      type: 'tombstone',
      deleted_type: 'message',
      channel_id: documents[1]!.channel_id,
      ts: documents[1]!.ts,
      _timestamp: documents[1]!._timestamp,
    };
    t.match((await pipeline(source([gone]), sink())).sink, { deleted: 1 });

    // C1 is read completely and lost its first remaining messages; C2 came back empty and must be kept.
    const c1 = changed.filter((document) => document.channel_id === 'C1' && document._id !== gone._id);
    const report: SourceReport = { completeChannels: ['C1', 'C2'], skippedChannels: [], windowOldest: '1700000000', complete: true };
    const stale = await pipeline(source(c1.slice(3), report), sink({ deleteStale: true }));
    t.match(stale.sink, { deleted: 3, staleDeletionSkippedChannels: 1 });
    t.equal((await client.count({ index })).count, 50 - 1 - 3);
  });
}
