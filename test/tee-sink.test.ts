// teeSink and `sync --also-export`: one run into two sinks, paced by the slower, all or nothing when one fails.

import t from 'tap';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { TeeBranchFailed, teeSink, type TeeSinkStats } from '../lib/sinks/tee.js';
import { silentLogger } from '../lib/log.js';
import type { Sink, SinkContext } from '../lib/stage.js';
import { idsOf, readNdjson, scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const context: SinkContext = { logger: silentLogger, sourceReport: () => undefined };

interface Counted {
  _id: string;
  type: 'message';
}

/** A source that counts how many documents were taken from it and whether it was closed. */
function countingSource(count: number, onPull?: (pulled: number) => void) {
  const source = { pulled: 0, closed: false, finished: false };
  async function* documents(): AsyncGenerator<Counted> {
    try {
      for (let index = 0; index < count; index++) {
        source.pulled++;
        onPull?.(source.pulled);
        yield { _id: `D${index}`, type: 'message' };
      }
      source.finished = true;
    } finally {
      source.closed = true;
    }
  }
  return { source, documents: documents() };
}

/** A sink that keeps what it got, optionally waiting a few ticks per document (a slow writer), and commits only at the end. */
function memorySink(name: string, options: { slow?: boolean; failAt?: number } = {}) {
  const received: string[] = [];
  const outcome = { committed: false, error: undefined as unknown };
  const sink: Sink<Counted> = async (documents) => {
    try {
      for await (const document of documents) {
        if (options.failAt === received.length) throw new Error(`${name} refused ${document._id}`);
        received.push(document._id);
        if (options.slow) for (let tick = 0; tick < 3; tick++) await new Promise((resolve) => setImmediate(resolve));
      }
    } catch (error) {
      outcome.error = error;
      throw error;
    }
    outcome.committed = true;
    return { written: received.length };
  };
  sink.sinkName = name;
  return { sink, received, outcome };
}

t.test('both sinks get every document in order; the source is read once and never more than one ahead of the slower sink', async (t) => {
  let mostAhead = 0;
  const slow = memorySink('slow', { slow: true });
  // Taking document n from the source while the slow sink has fewer than n - 1 would mean documents piling up.
  const { source, documents } = countingSource(200, (pulled) => (mostAhead = Math.max(mostAhead, pulled - slow.received.length)));
  const fast = memorySink('fast');
  const stats = (await teeSink(fast.sink, slow.sink)(documents, context)) as TeeSinkStats;
  const expected = Array.from({ length: 200 }, (_, index) => `D${index}`);
  t.strictSame(fast.received, expected, 'the first sink got every document, in order');
  t.strictSame(slow.received, expected, 'the second sink too');
  t.equal(source.pulled, 200, 'each document was taken from the source once');
  t.ok(mostAhead <= 1, `the source ran at most one document ahead of the slow sink (${mostAhead})`);
  t.strictSame(
    stats,
    { written: 200, sinks: { fast: { written: 200 }, slow: { written: 200 } } },
    "the first sink's stats, and both by name",
  );
  t.equal(teeSink(fast.sink, slow.sink).sinkName, 'tee(fast, slow)');
});

t.test('when one sink fails, the other aborts without committing, the source stops, and the tee rejects with the failure', async (t) => {
  const { source, documents } = countingSource(1000);
  const failing = memorySink('index', { failAt: 5 });
  const other = memorySink('file', { slow: true });
  await t.rejects(teeSink(failing.sink, other.sink)(documents, context), { message: 'index refused D5' });
  t.notOk(other.outcome.committed, 'the other sink did not commit');
  t.type(other.outcome.error, TeeBranchFailed, 'its input threw TeeBranchFailed');
  t.equal((other.outcome.error as TeeBranchFailed).failedSink, 'index', 'naming the sink that failed');
  t.ok(source.closed && !source.finished, 'the source was closed early');
  t.ok(source.pulled <= 7, `and was not read past the failure (${source.pulled} taken)`);
});

t.test('a failing tee leaves no NDJSON file behind: the file sink aborts and removes its temporary file', async (t) => {
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'out.ndjson');
  const { documents } = countingSource(50);
  const failing = memorySink('index', { failAt: 20 });
  await t.rejects(teeSink(failing.sink, ndjsonSink({ path }) as unknown as Sink<Counted>)(documents, context), /index refused D20/);
  t.strictSame(await readdir(directory), [], 'neither the file nor a temporary file exists');
});

t.test('sync --also-export indexes and writes the same documents in one read of Slack', async (t) => {
  const { slack, nowMs } = await startWorkspace(t, { channelCount: 4, messageCount: 400, userCount: 20 });
  const elasticsearch = await startFakeElasticsearch({ auth: { apiKey: 'test-api-key' } });
  t.teardown(() => elasticsearch.close());
  const directory = await temporaryDirectory(t);
  const out = join(directory, 'copy.ndjson');
  const env = {
    SLACK_TOKEN: testToken,
    SLACK_ETL_NOW: String(nowMs),
    ELASTICSEARCH_URL: elasticsearch.url,
    ELASTICSEARCH_API_KEY: 'test-api-key',
  };
  const common = ['sync', '--index', 'slack', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag];
  const run = await runCliInProcess([...common, '--dead-letter', join(directory, 'dead.ndjson'), '--also-export', out], { env });
  t.equal(run.code, 0, run.stderr);
  t.ok(run.stderr.includes(`to index slack and ${out} in`), 'the summary names both destinations');
  const indexed = [...elasticsearch.indices.get('slack')!.documents.keys()].sort();
  const written = await readNdjson(out);
  t.ok(indexed.length > 40, `the index holds the workspace (${indexed.length} documents)`);
  t.strictSame(idsOf(written as Array<{ _id: string }>), indexed, 'the file holds exactly the indexed documents');
  t.equal((await stat(out)).mode & 0o777, 0o600, 'the file is private (0600)');
  const historyCalls = slack.calls.filter((call) => call.method === 'conversations.history').length;
  t.ok(historyCalls <= 4, `Slack was read once (${historyCalls} history calls for 4 channels)`);

  const refused = await runCliInProcess([...common, '--also-export', join(directory, 'missing', 'copy.ndjson')], { env });
  t.equal(refused.code, 2, 'an unwritable --also-export path is a usage error');
  t.match(refused.stderr, /the directory .* does not exist/);
});
