// Peak RSS of the Elasticsearch sink for one big channel: first sync and unchanged re-sync (with --delete-stale), at two sizes.
// Each run is its own process (peak RSS is per process); the fake Elasticsearch runs in another, so only the client is measured.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import { contentHash } from '../lib/content-hash.js';
import { slackTsToIso, type AnyDocument, type MessageDocument } from '../lib/documents.js';
import { pipeline } from '../lib/pipeline.js';
import { elasticsearchSink } from '../lib/sinks/elasticsearch.js';
import type { Source } from '../lib/stage.js';
import { figureArguments, peakRssMb, reportResult, round } from './common.js';

const { quick, values } = figureArguments({
  url: { type: 'string' },
  count: { type: 'string' },
  index: { type: 'string' },
  sizes: { type: 'string' },
});

/** One channel's messages, made on the fly: the input holds nothing, so the process's memory is the sink's. */
function channelSource(count: number): Source<AnyDocument> {
  const channelId = 'CBIG';
  const source = (async function* () {
    for (let position = 0; position < count; position++) {
      const ts = `${1_600_000_000 + position}.000100`;
      const document: MessageDocument = {
        _id: `${channelId}-${ts}`,
        id: `${channelId}-${ts}`,
        type: 'message',
        channel: 'big',
        channel_id: channelId,
        author: 'Alice',
        author_id: 'U1',
        author_type: 'user',
        text: `message number ${position} in the big channel, with a little text to make it realistic`,
        blocks_text: null,
        edited_ts: null,
        ts,
        created_at: slackTsToIso(ts),
        subtype: null,
        reply_count: null,
        latest_reply: null,
        thread_ts: null,
        permalink: null,
        files: null,
        attachments_text: null,
        reactions: null,
        _timestamp: slackTsToIso(ts),
      };
      yield { ...document, content_hash: contentHash(document) };
    }
  })() as Source<AnyDocument>;
  source.report = () => ({ completeChannels: [channelId], skippedChannels: [], windowOldest: null, complete: true, threadsRead: true });
  return source;
}

if (values.url) {
  // One measured run.
  const client = new Client({ node: String(values.url) });
  const started = performance.now();
  const run = await pipeline(
    channelSource(Number(values.count)),
    elasticsearchSink({ client, index: String(values.index), deleteStale: true }),
  );
  await client.close();
  reportResult({ seconds: round((performance.now() - started) / 1000, 2), sink: run.sink });
} else {
  const sizes = String(values.sizes ?? (quick ? '20000,60000' : '60000,180000'))
    .split(',')
    .map(Number);
  const fake = spawn(process.execPath, [fileURLToPath(new URL('./fake-elasticsearch-process.js', import.meta.url))], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const { url } = JSON.parse(String((await createInterface({ input: fake.stdout! })[Symbol.asyncIterator]().next()).value)) as {
    url: string;
  };
  const measure = (count: number, index: string) =>
    new Promise<Record<string, any>>((resolve, reject) => {
      const child = spawn(process.execPath, [fileURLToPath(import.meta.url), '--url', url, '--count', String(count), '--index', index], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
      child.on('error', reject);
      child.on('close', () => {
        const line = output.split('\n').find((text) => text.startsWith('BENCH_RESULT '));
        if (line) resolve(JSON.parse(line.slice('BENCH_RESULT '.length)) as Record<string, any>);
        else reject(new Error(`no result for ${count}: ${output}`));
      });
    });
  try {
    const results: Record<string, unknown> = {};
    for (const count of sizes) {
      const first = await measure(count, `scale-${count}`);
      const again = await measure(count, `scale-${count}`);
      results[count] = {
        first: { peakRssMb: first.peakRssMb, seconds: first.seconds, indexed: first.sink.indexed },
        resync: {
          peakRssMb: again.peakRssMb,
          seconds: again.seconds,
          unchanged: again.sink.unchanged,
          bulkRequests: again.sink.bulkRequests,
        },
      };
    }
    const [small, large] = sizes.map((count) => results[count] as { first: { peakRssMb: number }; resync: { peakRssMb: number } });
    reportResult({
      figure: 'elasticsearch-scale',
      sizes,
      results,
      firstGrowth: round(large!.first.peakRssMb / small!.first.peakRssMb, 2),
      resyncGrowth: round(large!.resync.peakRssMb / small!.resync.peakRssMb, 2),
      driverPeakRssMb: peakRssMb(),
    });
  } finally {
    fake.stdin!.end();
  }
}
