// Figure 1: generated messages through enrich → syncRules → dedupe → NDJSON file, beside JSON.stringify + write of the same documents.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { finished } from 'node:stream/promises';
import type { AnyDocument } from '../lib/documents.js';
import { pipeline } from '../lib/pipeline.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { syncRules, type SyncRule } from '../lib/transforms/sync-rules.js';
import type { Stage } from '../lib/stage.js';
import { figureArguments, reportResult, round, rssMb } from './common.js';
import { benchmarkDocuments, documentCount, readTemplates } from './documents.js';

const { values } = figureArguments({ templates: { type: 'string' }, count: { type: 'string' }, variant: { type: 'string' } });
const templates = await readTemplates(String(values.templates));
const messageCount = Number(values.count ?? 100_000);
const variant = String(values.variant ?? 'pipeline');
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

const directory = await mkdtemp(join(tmpdir(), 'slack-etl-bench-'));
const total = documentCount(templates, messageCount);
try {
  if (variant === 'stages') {
    // Cumulative costs: each row adds one stage to the previous row's chain.
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
  } else {
    const path = join(directory, 'out.ndjson');
    const started = performance.now();
    let written: number;
    let stats: Record<string, unknown> = {};
    if (variant === 'floor') {
      written = await stringifyAndWrite(benchmarkDocuments(templates, messageCount), path);
    } else {
      const rules = syncRules(benchmarkRules());
      const run = await pipeline(benchmarkDocuments(templates, messageCount), enrich(), rules, dedupe(), ndjsonSink({ path }));
      written = Number(run.sink.documents);
      stats = { rules: run.stages.syncRules, dedupe: run.stages.dedupe };
    }
    const seconds = (performance.now() - started) / 1000;
    const bytes = (await stat(path)).size;
    reportResult({
      figure: `cpu-${variant}`,
      messages: messageCount,
      documents: total,
      written,
      bytes,
      seconds: round(seconds, 3),
      documentsPerSecond: Math.round(total / seconds),
      baselineRssMb,
      ...stats,
    });
  }
} finally {
  await rm(directory, { recursive: true, force: true });
}
