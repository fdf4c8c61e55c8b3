// Figure 3: elasticsearchSink vs raw client.helpers.bulk, same documents into the same fake (alternating rounds, wall and CPU); re-syncs.

import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client } from '@elastic/elasticsearch';
import type { AnyDocument, SlackDocument } from '../lib/documents.js';
import { createLogger } from '../lib/log.js';
import { elasticsearchSink, indexMappings } from '../lib/sinks/elasticsearch.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { figureArguments, reportResult, round } from './common.js';
import { benchmarkDocuments, readTemplates } from './documents.js';

const { quick, values } = figureArguments({ templates: { type: 'string' }, count: { type: 'string' }, rounds: { type: 'string' } });
const templates = await readTemplates(String(values.templates));
const messageCount = Number(values.count ?? (quick ? 10_000 : 50_000));
const rounds = Math.max(Number(values.rounds ?? (quick ? 1 : 15)), quick ? 1 : 3);
/** The sink's defaults, given to raw helpers.bulk too so both send the same requests. */
const flushBytes = 2_000_000;
const concurrency = 4;

// Documents as the sink receives them in a run: enriched and hashed.
const documents: SlackDocument[] = [];
for await (const document of dedupe()(enrich()(benchmarkDocuments(templates, messageCount)))) documents.push(document as SlackDocument);

const fake = spawn(process.execPath, [fileURLToPath(new URL('./fake-elasticsearch-process.js', import.meta.url))], {
  stdio: ['pipe', 'pipe', 'inherit'],
});
const answers = createInterface({ input: fake.stdout! })[Symbol.asyncIterator]();
const nextAnswer = async (): Promise<Record<string, any>> => JSON.parse(String((await answers.next()).value)) as Record<string, any>;
const { url } = await nextAnswer();
const fakeStats = async () => {
  fake.stdin!.write('stats\n');
  return nextAnswer();
};
const client = new Client({ node: url });
let indexNumber = 0;

interface Timing {
  seconds: number;
  /** CPU time of this process (user + system), in seconds: the client side only, the fake runs in its own process. */
  cpuSeconds: number;
  /** CPU time of the fake's process meanwhile: near `seconds`, the fake is what both sides wait for. */
  fakeCpuSeconds: number;
}

const cpuSeconds = (since: NodeJS.CpuUsage): number => {
  const used = process.cpuUsage(since);
  return (used.user + used.system) / 1e6;
};

/** Times `work` on both sides of the socket; the fake's CPU is read outside the timed span. */
async function measured<T>(work: () => Promise<T>): Promise<Timing & { result: T }> {
  const fakeBefore = (await fakeStats()).cpuSeconds as number;
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  const cpu = cpuSeconds(cpuStart);
  const fakeCpuSeconds = ((await fakeStats()).cpuSeconds as number) - fakeBefore;
  return { seconds, cpuSeconds: cpu, fakeCpuSeconds, result };
}

async function rawBulk(): Promise<Timing> {
  const index = `raw-${indexNumber++}`;
  const { result: stats, ...timing } = await measured(async () => {
    await client.indices.create({ index, mappings: indexMappings as never });
    const result = await client.helpers.bulk<SlackDocument>({
      datasource: documents,
      index,
      flushBytes,
      concurrency,
      onDocument: (document) => {
        const { _id, ...body } = document;
        return [{ index: { _id } }, body];
      },
    });
    await client.indices.refresh({ index });
    return result;
  });
  if (stats.successful !== documents.length) throw new Error(`raw bulk indexed ${stats.successful} of ${documents.length}`);
  await client.indices.delete({ index });
  return timing;
}

async function sinkRun(index: string, input: SlackDocument[] = documents): Promise<Timing & { stats: Record<string, unknown> }> {
  // The sink alone, fed the same array raw helpers.bulk gets (both iterate it with `for await`): pipeline() overhead is figure 1's.
  const { result: stats, ...timing } = await measured(() =>
    elasticsearchSink({ client, index, flushBytes, concurrency, refresh: true })(input as unknown as AsyncIterable<AnyDocument>, {
      logger: createLogger({ level: 'warn' }),
      sourceReport: () => undefined,
    }),
  );
  return { ...timing, stats };
}

/** The same documents with every tenth one edited (new text, new content_hash): a re-sync that compares and writes. */
const everyTenthEdited = (): SlackDocument[] =>
  documents.map((document, position) =>
    position % 10 === 0 && document.type === 'message'
      ? { ...document, text: `${document.text} (edited)`, content_hash: `edited-${String(document.content_hash)}` }
      : document,
  );

try {
  await rawBulk(); // warm-up: connections, JIT
  const warmIndex = `warm-${indexNumber++}`;
  await sinkRun(warmIndex);
  await client.indices.delete({ index: warmIndex });
  const raw: Timing[] = [];
  const sink: Timing[] = [];
  let lastIndex = '';
  // Reference and subject alternate, and which goes first alternates too, so drifting load hits both alike.
  for (let round = 0; round < rounds; round++) {
    const runSink = async () => {
      // Only the last round's index stays (for the re-syncs): the fake holds one index at a time, as for raw bulk.
      if (lastIndex) await client.indices.delete({ index: lastIndex });
      lastIndex = `sink-${indexNumber++}`;
      const first = await sinkRun(lastIndex);
      if (first.stats.indexed !== documents.length) throw new Error(`sink indexed ${String(first.stats.indexed)} of ${documents.length}`);
      sink.push(first);
    };
    if (round % 2 === 0) {
      raw.push(await rawBulk());
      await runSink();
    } else {
      await runSink();
      raw.push(await rawBulk());
    }
  }
  const before = await fakeStats();
  const again = await sinkRun(lastIndex);
  const after = await fakeStats();
  const edited = everyTenthEdited();
  const partly = await sinkRun(lastIndex, edited);
  const items =
    Object.values(after.itemsByAction as Record<string, number>).reduce((total, count) => total + count, 0) -
    Object.values(before.itemsByAction as Record<string, number>).reduce((total, count) => total + count, 0);
  const median = (list: number[]) => [...list].sort((left, right) => left - right)[Math.floor(list.length / 2)]!;
  const rawPerSecond = documents.length / median(raw.map((timing) => timing.seconds));
  const sinkPerSecond = documents.length / median(sink.map((timing) => timing.seconds));
  // Per round: throughput ratio (raw time / sink time) and CPU ratio (raw CPU / sink CPU); > 1 means the sink is cheaper.
  const roundRatios = raw.map((timing, index) => timing.seconds / sink[index]!.seconds);
  const cpuRatios = raw.map((timing, index) => timing.cpuSeconds / sink[index]!.cpuSeconds);
  const busy = (timings: Timing[], key: 'cpuSeconds' | 'fakeCpuSeconds') =>
    round(median(timings.map((timing) => timing[key] / timing.seconds)), 2);
  reportResult({
    figure: 'elasticsearch-sink',
    documents: documents.length,
    rounds,
    flushBytes,
    concurrency,
    rawSeconds: raw.map((timing) => round(timing.seconds, 3)),
    sinkSeconds: sink.map((timing) => round(timing.seconds, 3)),
    rawCpuSeconds: raw.map((timing) => round(timing.cpuSeconds, 3)),
    sinkCpuSeconds: sink.map((timing) => round(timing.cpuSeconds, 3)),
    rawDocumentsPerSecond: Math.round(rawPerSecond),
    sinkDocumentsPerSecond: Math.round(sinkPerSecond),
    ratio: round(median(roundRatios), 3),
    ratioSpread: [round(Math.min(...roundRatios), 3), round(Math.max(...roundRatios), 3)],
    cpuRatio: round(median(cpuRatios), 3),
    cpuRatioSpread: [round(Math.min(...cpuRatios), 3), round(Math.max(...cpuRatios), 3)],
    // Share of the wall time each process spent on CPU (median): the fake near 1 means both sides wait for it.
    busy: {
      rawClient: busy(raw, 'cpuSeconds'),
      rawFake: busy(raw, 'fakeCpuSeconds'),
      sinkClient: busy(sink, 'cpuSeconds'),
      sinkFake: busy(sink, 'fakeCpuSeconds'),
    },
    fakeCpuSeconds: {
      raw: raw.map((timing) => round(timing.fakeCpuSeconds, 3)),
      sink: sink.map((timing) => round(timing.fakeCpuSeconds, 3)),
    },
    loadAverage: (await import('node:os')).loadavg().map((load) => round(load, 2)),
    resync: {
      seconds: round(again.seconds, 3),
      unchanged: again.stats.unchanged,
      indexed: again.stats.indexed,
      updated: again.stats.updated,
      sinkBulkRequests: again.stats.bulkRequests,
      fakeBulkRequests: after.bulkRequests - before.bulkRequests,
      fakeItems: items,
    },
    resyncEveryTenthEdited: {
      seconds: round(partly.seconds, 3),
      unchanged: partly.stats.unchanged,
      updated: partly.stats.updated,
      bulkRequests: partly.stats.bulkRequests,
    },
  });
} finally {
  await client.close();
  fake.stdin!.end();
}
