// Figure 1: generated messages through enrich → syncRules → dedupe → NDJSON file, beside JSON.stringify + write of the same documents,
// in alternating rounds (each run its own process) with median, spread, CPU-time ratio and peak RSS.

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { finished } from 'node:stream/promises';
import type { AnyDocument } from '../lib/documents.js';
import { pipeline } from '../lib/pipeline.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { syncRules, type SyncRule } from '../lib/transforms/sync-rules.js';
import type { Stage } from '../lib/stage.js';
import {
  cpuSecondsSince,
  figureArguments,
  mainThreadCpuSeconds,
  medianAndSpread,
  reportResult,
  resultMarker,
  round,
  rssMb,
} from './common.js';
import { benchmarkDocuments, documentCount, readTemplates } from './documents.js';

const { values } = figureArguments({
  templates: { type: 'string' },
  count: { type: 'string' },
  variant: { type: 'string' },
  rounds: { type: 'string' },
  variants: { type: 'string' },
});
const templates = await readTemplates(String(values.templates));
const messageCount = Number(values.count ?? 100_000);
const variant = String(values.variant ?? 'rounds');
const baselineRssMb = rssMb();

/** A small realistic rule set: keep one person everywhere, drop a noisy channel and bot messages. */
function benchmarkRules(): SyncRule[] {
  const person = templates.users.find((user) => !user.is_bot && !user.deleted && user.profile?.display_name_normalized);
  const noisyChannel = templates.channels[1]?.name ?? 'random';
  return [
    { id: 'keep-person', order: 1, policy: 'include', field: 'author_id', rule: 'equals', value: String(person?.id ?? 'U0') },
    { id: 'drop-channel', order: 2, policy: 'exclude', field: 'channel', rule: 'equals', value: String(noisyChannel) },
    { id: 'drop-bots', order: 3, policy: 'exclude', field: 'author_type', rule: 'equals', value: 'bot' },
    { id: 'drop-joins', order: 4, policy: 'exclude', field: 'subtype', rule: 'regex', value: 'channel_(join|leave)' },
  ];
}

const chunkBytes = 64 * 1024;

/** The floor: the same documents as JSON lines in 64 KB chunks to a file, with the sink's own write pattern (temp file, drain, fsync). */
async function stringifyAndWrite(documents: AsyncIterable<AnyDocument>, path: string): Promise<number> {
  const handle = await open(path, 'w');
  const stream = createWriteStream('', { fd: handle.fd, autoClose: false } as Parameters<typeof createWriteStream>[1]);
  let written = 0;
  let chunk = '';
  const write = async (text: string) => {
    if (!stream.write(text)) await once(stream, 'drain');
  };
  for await (const document of documents) {
    chunk += JSON.stringify(document) + '\n';
    written++;
    if (chunk.length >= chunkBytes) {
      await write(chunk);
      chunk = '';
    }
  }
  if (chunk) await write(chunk);
  stream.end();
  await finished(stream);
  await handle.sync();
  await handle.close();
  return written;
}

async function drain(documents: AsyncIterable<AnyDocument>): Promise<number> {
  let count = 0;
  for await (const document of documents) if (document) count++;
  return count;
}

type Measurement = Record<string, any>;

/** One run of one variant in a fresh process with this process's node flags (so JIT, heap and peak RSS are its own). */
function runVariant(name: string): Promise<Measurement> {
  const args = [
    fileURLToPath(import.meta.url),
    '--templates',
    String(values.templates),
    '--count',
    String(messageCount),
    '--variant',
    name,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.on('close', (code) => {
      const line = stdout.split('\n').find((text) => text.startsWith(resultMarker));
      if (code === 0 && line) resolve(JSON.parse(line.slice(resultMarker.length)) as Measurement);
      else reject(new Error(`cpu-pipeline --variant ${name} exited ${code}`));
    });
  });
}

/**
 * Floor and subjects alternate, the order rotating each round, so load that comes and goes falls on all of them.
 * Ratios are per round (subject docs/s ÷ the same round's floor docs/s; CPU: floor CPU seconds ÷ subject CPU seconds).
 */
async function alternatingRounds(): Promise<void> {
  const rounds = Math.max(3, Number(values.rounds ?? 3));
  const names = ['floor', ...String(values.variants ?? 'pipeline').split(',')];
  const runs: Record<string, Measurement[]> = Object.fromEntries(names.map((name) => [name, []]));
  const loadAtStart = os.loadavg().map((load) => round(load, 2));
  for (let index = 0; index < rounds; index++) {
    const order = [...names.slice(index % names.length), ...names.slice(0, index % names.length)];
    for (const name of order) runs[name]!.push(await runVariant(name));
  }
  const floors = runs.floor!;
  const summary = (name: string) => {
    const list = runs[name]!;
    return {
      seconds: list.map((run) => run.seconds),
      cpuSeconds: list.map((run) => run.cpuSeconds),
      mainThreadCpuSeconds: list.map((run) => run.mainThreadCpuSeconds),
      documentsPerSecond: medianAndSpread(
        list.map((run) => run.documentsPerSecond),
        0,
      ),
      peakRssMb: medianAndSpread(
        list.map((run) => run.peakRssMb),
        1,
      ),
      written: list[0]!.written,
      bytes: list[0]!.bytes,
      ...(name === 'floor'
        ? {}
        : {
            ratio: medianAndSpread(list.map((run, round) => floors[round]!.seconds / run.seconds)),
            cpuRatio: medianAndSpread(list.map((run, round) => floors[round]!.cpuSeconds / run.cpuSeconds)),
            // Floor CPU over this run's main-thread CPU: what the ratio would be with the other threads on free cores.
            mainThreadCpuRatio: list[0]!.mainThreadCpuSeconds
              ? medianAndSpread(list.map((run, round) => floors[round]!.mainThreadCpuSeconds / run.mainThreadCpuSeconds))
              : undefined,
          }),
      ...(list[0]!.stats ?? {}),
    };
  };
  reportResult({
    figure: 'cpu-pipeline',
    messages: messageCount,
    documents: total,
    rounds,
    loadAverage: { start: loadAtStart, end: os.loadavg().map((load) => round(load, 2)) },
    ...Object.fromEntries(names.map((name) => [name, summary(name)])),
  });
}

/** Cumulative costs: each row adds one stage to the previous row's chain. */
async function stageCosts(): Promise<void> {
  const chains: Array<[string, Array<() => Stage<AnyDocument, AnyDocument>>]> = [
    ['generator', []],
    ['+enrich', [() => enrich()]],
    ['+syncRules', [() => enrich(), () => syncRules(benchmarkRules())]],
    ['+dedupe', [() => enrich(), () => syncRules(benchmarkRules()), () => dedupe()]],
  ];
  await drain(benchmarkDocuments(templates, Math.min(50_000, messageCount))); // warm-up of the generator and converters
  const rows: Record<string, number> = {};
  for (const [name, stages] of chains) {
    let stream: AsyncIterable<AnyDocument> = benchmarkDocuments(templates, messageCount);
    for (const stage of stages) stream = stage()(stream);
    const started = performance.now();
    await drain(stream);
    rows[name] = round(((performance.now() - started) * 1000) / total, 3);
  }
  reportResult({ figure: 'cpu-stages', messages: messageCount, documents: total, microsecondsPerDocument: rows });
}

/** One measured run of `variant`: the floor, the pipeline on one thread (`pipeline`) or hashing on a worker thread (`worker`). */
async function measureOnce(directory: string): Promise<void> {
  const path = join(directory, 'out.ndjson');
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  const mainThreadStart = mainThreadCpuSeconds();
  let written: number;
  let stats: Record<string, unknown> | undefined;
  if (variant === 'floor') {
    written = await stringifyAndWrite(benchmarkDocuments(templates, messageCount), path);
  } else {
    const rules = syncRules(benchmarkRules());
    const run = await pipeline(benchmarkDocuments(templates, messageCount), enrich(), rules, dedupe(), ndjsonSink({ path }), {
      worker: variant === 'worker',
    });
    written = Number(run.sink.documents);
    stats = { rules: run.stages.syncRules, dedupe: run.stages.dedupe };
  }
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds = cpuSecondsSince(cpuStart);
  const mainThreadEnd = mainThreadCpuSeconds();
  reportResult({
    figure: `cpu-${variant}`,
    written,
    bytes: (await stat(path)).size,
    seconds: round(seconds, 3),
    cpuSeconds: round(cpuSeconds, 3),
    mainThreadCpuSeconds: mainThreadEnd === undefined ? undefined : round(mainThreadEnd - mainThreadStart!, 2),
    documentsPerSecond: Math.round(total / seconds),
    baselineRssMb,
    stats,
  });
}

const total = documentCount(templates, messageCount);
if (variant === 'rounds') await alternatingRounds();
else if (variant === 'stages') await stageCosts();
else {
  const directory = await mkdtemp(join(tmpdir(), 'slack-etl-bench-'));
  try {
    await measureOnce(directory);
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}
