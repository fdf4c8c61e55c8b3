// Chaos runs: export and sync a generated workspace while the fakes inject faults, and compare with a clean run.

import { readFile, rm } from 'node:fs/promises';
import { mkdtempSync, realpathSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateWorkspace, type WorkspaceSize } from '../../fixtures/slack-api/generator.js';
import { ALL_FAULT_KINDS, ALL_SCOPES, startFakeSlack, type FaultKind } from '../../fixtures/slack-api/server.js';
import { startFakeElasticsearch } from '../../fixtures/elasticsearch/server.js';
import { slackSource, type SlackSourceOptions } from '../../lib/sources/slack/source.js';
import type { SlackClientStats } from '../../lib/sources/slack/client.js';
import { enrich } from '../../lib/transforms/enrich.js';
import { dedupe } from '../../lib/transforms/dedupe.js';
import { ndjsonSink } from '../../lib/sinks/ndjson.js';
import { createElasticsearchClient, elasticsearchSink } from '../../lib/sinks/elasticsearch.js';
import { pipeline, type RunStats } from '../../lib/pipeline.js';
import { formatSummary } from '../../lib/cli/report.js';
import type { Test } from 'tap';

/** The fake's tiers run this much faster than Slack's; the client paces to match (as test/helpers/slack.ts does). */
const rateScale = 600;
const chaosToken = 'xoxb-chaos-token';

export type SinkKind = 'ndjson' | 'elasticsearch';

export interface ElasticsearchFaultRates {
  /** Per bulk item: 429 for that document only. */
  itemRate429: number;
  /** Per request: 429 / 503 for the whole request, or the connection dropped before an answer. */
  requestRate429: number;
  requestRate503: number;
  dropConnectionRate: number;
}

export interface ChaosOptions {
  size: WorkspaceSize;
  /** Messages of the generated workspace, when not the size's own number. */
  messageCount?: number;
  /** Seed of the generated workspace (the same for the clean and the chaos run). */
  workspaceSeed: number;
  /** Seed of both fakes' fault draws. */
  seed: number;
  /** Probability that a Slack call gets a fault, of a kind drawn from `slackKinds`. */
  slackRate: number;
  slackKinds: readonly FaultKind[];
  elasticsearch: ElasticsearchFaultRates;
  /** Where NDJSON output goes (a temporary directory). */
  directory: string;
  /** Client request timeout; the 'slow' fault answers after `slowMs`, well past it. */
  timeoutMs: number;
  slowMs: number;
  /**
   * Besides the random draws, force one fault of every Slack kind (on conversations.history, the calls that carry the
   * messages) and one of every Elasticsearch request fault (on the first requests: index check and creation).
   */
  everyKindOnce: boolean;
  /** Per-item and per-request retries of the Elasticsearch sink (its default is 5). */
  elasticsearchRetries: number;
}

export const defaultChaosOptions: Omit<ChaosOptions, 'directory' | 'seed'> = {
  size: 'small',
  workspaceSeed: 11,
  slackRate: 0.08,
  slackKinds: ALL_FAULT_KINDS,
  elasticsearch: { itemRate429: 0.05, requestRate429: 0.05, requestRate503: 0.05, dropConnectionRate: 0.05 },
  // Generous for a loaded machine (the fakes share the process with the pipeline): an ordinary answer must not time out.
  timeoutMs: 1000,
  slowMs: 2500,
  everyKindOnce: true,
  elasticsearchRetries: 5,
};

/** `_id` → `content_hash` of a run's output, and how many lines repeated an `_id`. */
export interface OutputSet {
  hashes: Map<string, string>;
  duplicates: number;
}

export interface ChaosRun {
  sink: SinkKind;
  seed: number;
  output: OutputSet;
  stats: RunStats;
  /** The CLI's closing summary for this run (lib/cli/report.ts). */
  summary: string;
  api: SlackClientStats;
  /** Faults the fake Slack injected, per kind. */
  slackFaults: Record<string, number>;
  /** Faults the fake Elasticsearch injected (zero for NDJSON runs). */
  elasticsearchFaults: { item429: number; request429: number; request503: number; dropped: number };
}

export interface Comparison {
  expected: number;
  received: number;
  /** Ids of the clean run missing from this one. */
  lost: string[];
  /** Ids this run has that the clean run has not. */
  extra: string[];
  /** Ids whose content differs from the clean run's. */
  changed: string[];
  duplicates: number;
}

function sourceOptions(options: Pick<ChaosOptions, 'timeoutMs'>, url: string, nowMs: number): SlackSourceOptions {
  return {
    token: chaosToken,
    slackApiUrl: url,
    // Every conversation type, all history, joins and threads: every Slack method the source calls is exercised.
    fetchLastNDays: 0,
    channelTypes: ['public', 'private', 'im', 'mpim'],
    autoJoinChannels: true,
    threads: true,
    now: nowMs,
    tierRates: { tier1: rateScale, tier2: 20 * rateScale, tier3: 50 * rateScale, tier4: 100 * rateScale },
    timeoutMs: options.timeoutMs,
    retryBaseDelayMs: 20,
    retryMaxDelayMs: 500,
  };
}

function readOutput(lines: Iterable<Record<string, any>>): OutputSet {
  const hashes = new Map<string, string>();
  let duplicates = 0;
  for (const document of lines) {
    if (hashes.has(document._id)) duplicates++;
    hashes.set(String(document._id), String(document.content_hash));
  }
  return { hashes, duplicates };
}

async function readNdjsonOutput(path: string): Promise<OutputSet> {
  const text = await readFile(path, 'utf8');
  return readOutput(
    text
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, any>),
  );
}

/**
 * One run of the standard pipeline (source → enrich → dedupe → sink) over a fresh fake Slack holding the workspace.
 * `faults: false` is the clean reference run.
 */
export async function runOnce(options: ChaosOptions, sink: SinkKind, faults: boolean): Promise<ChaosRun> {
  const workspace = generateWorkspace({ size: options.size, seed: options.workspaceSeed, messageCount: options.messageCount });
  const slack = await startFakeSlack({
    workspace,
    tokens: { [chaosToken]: { scopes: [...ALL_SCOPES] } },
    rateScale,
    // Retry-After is whole seconds; 0 keeps the injected 429 bursts from dominating the run time.
    retryAfterSeconds: 0,
    slowMs: options.slowMs,
    ...(faults && options.slackRate > 0 ? { faults: { rate: options.slackRate, kinds: [...options.slackKinds], seed: options.seed } } : {}),
  });
  const elasticsearch =
    sink === 'elasticsearch'
      ? await startFakeElasticsearch(faults ? { faults: { ...options.elasticsearch, seed: options.seed } } : {})
      : undefined;
  if (faults && options.everyKindOnce) {
    for (const kind of options.slackKinds) slack.injectFault('conversations.history', kind);
    for (const kind of ['drop', '429', '503'] as const) elasticsearch?.injectRequestFault(kind);
  }
  try {
    const source = slackSource(sourceOptions(options, slack.url, workspace.now * 1000));
    const stages = [
      Object.assign(enrich({ syncUsers: true, ...source.lookups }), { stageName: 'enrich' }),
      Object.assign(dedupe(), { stageName: 'dedupe' }),
    ];
    const outPath = join(options.directory, `${faults ? 'chaos' : 'clean'}-${options.seed}-${sink}.ndjson`);
    const index = 'slack-chaos';
    const client = elasticsearch ? createElasticsearchClient({ node: elasticsearch.url }) : undefined;
    try {
      const stats = await pipeline(
        source,
        stages,
        elasticsearch
          ? // Smaller bulk requests than the default 2 MB: more requests, so more request-level faults per run.
            elasticsearchSink({ client, index, retries: options.elasticsearchRetries, retryWaitMs: 10, flushBytes: 200_000 })
          : ndjsonSink({ path: outPath }),
      );
      const output = elasticsearch
        ? readOutput([...(elasticsearch.indices.get(index)?.documents ?? [])].map(([id, source]) => ({ ...source, _id: id })))
        : await readNdjsonOutput(outPath);
      if (!elasticsearch) await rm(outPath, { force: true });
      const fakeElasticsearch = elasticsearch?.stats();
      return {
        sink,
        seed: options.seed,
        output,
        stats,
        summary: formatSummary(elasticsearch ? 'synced' : 'exported', elasticsearch ? `index ${index}` : outPath, stats),
        api: source.client.stats(),
        slackFaults: slack.stats().faultsByKind,
        elasticsearchFaults: {
          item429: fakeElasticsearch?.item429 ?? 0,
          request429: fakeElasticsearch?.request429 ?? 0,
          request503: fakeElasticsearch?.request503 ?? 0,
          dropped: fakeElasticsearch?.dropped ?? 0,
        },
      };
    } finally {
      await client?.close();
    }
  } finally {
    await slack.close();
    await elasticsearch?.close();
  }
}

export function compare(clean: OutputSet, run: OutputSet): Comparison {
  const lost = [...clean.hashes.keys()].filter((id) => !run.hashes.has(id));
  const extra = [...run.hashes.keys()].filter((id) => !clean.hashes.has(id));
  const changed = [...clean.hashes].filter(([id, hash]) => run.hashes.has(id) && run.hashes.get(id) !== hash).map(([id]) => id);
  return { expected: clean.hashes.size, received: run.hashes.size, lost, extra, changed, duplicates: run.duplicates };
}

/** Faults survived as the summary counts them: Slack 429s and retries plus Elasticsearch retries. */
export function survivedFaults(run: ChaosRun): number {
  const sinkRetries = typeof run.stats.sink.retries === 'number' ? run.stats.sink.retries : 0;
  return run.api.rateLimited + run.api.retries + sinkRetries;
}

export const injectedSlackFaults = (run: ChaosRun): number => Object.values(run.slackFaults).reduce((sum, count) => sum + count, 0);
export const injectedElasticsearchFaults = (run: ChaosRun): number =>
  run.elasticsearchFaults.item429 +
  run.elasticsearchFaults.request429 +
  run.elasticsearchFaults.request503 +
  run.elasticsearchFaults.dropped;

/**
 * The suite's promise for one chaos run: the clean run's `_id` → `content_hash` set exactly, no line twice, every
 * enabled fault kind injected, and the CLI summary counting at least every injected fault as survived.
 */
export function assertSurvived(
  t: Test,
  clean: ChaosRun,
  run: ChaosRun,
  options: Pick<ChaosOptions, 'slackKinds' | 'elasticsearch' | 'slackRate'>,
): void {
  const label = `${run.sink} seed ${run.seed}`;
  const comparison = compare(clean.output, run.output);
  t.ok(comparison.expected > 0, `${label}: the clean run produced documents`);
  t.strictSame(comparison.lost.slice(0, 10), [], `${label}: no document lost (${comparison.lost.length})`);
  t.strictSame(comparison.extra.slice(0, 10), [], `${label}: no document the clean run does not have (${comparison.extra.length})`);
  t.strictSame(
    comparison.changed.slice(0, 10),
    [],
    `${label}: every document's content_hash equals the clean run's (${comparison.changed.length} differ)`,
  );
  t.equal(comparison.duplicates, 0, `${label}: no _id written twice`);
  t.equal(comparison.received, comparison.expected, `${label}: ${comparison.received} of ${comparison.expected} documents`);
  if (options.slackRate > 0) {
    for (const kind of options.slackKinds)
      t.ok((run.slackFaults[kind] ?? 0) > 0, `${label}: the fake Slack injected ${kind} (${run.slackFaults[kind] ?? 0})`);
  }
  if (run.sink === 'elasticsearch') {
    const rates = options.elasticsearch;
    const injected = run.elasticsearchFaults;
    if (rates.itemRate429 > 0) t.ok(injected.item429 > 0, `${label}: the fake Elasticsearch answered items with 429 (${injected.item429})`);
    if (rates.requestRate429 > 0)
      t.ok(injected.request429 > 0, `${label}: the fake Elasticsearch answered requests with 429 (${injected.request429})`);
    if (rates.requestRate503 > 0)
      t.ok(injected.request503 > 0, `${label}: the fake Elasticsearch answered requests with 503 (${injected.request503})`);
    if (rates.dropConnectionRate > 0)
      t.ok(injected.dropped > 0, `${label}: the fake Elasticsearch dropped connections (${injected.dropped})`);
  }
  const survived = survivedFaults(run);
  const injected = injectedSlackFaults(run) + injectedElasticsearchFaults(run);
  t.ok(survived >= injected, `${label}: faults survived (${survived}) count every injected fault (${injected})`);
  t.match(
    run.summary,
    `faults survived: ${survived.toLocaleString('en-US')} (Slack 429s`,
    `${label}: the summary reports the faults survived`,
  );
  const dedupeOf = (stats: RunStats) => (stats.stages.dedupe as { duplicates?: number } | undefined)?.duplicates;
  t.equal(dedupeOf(run.stats), dedupeOf(clean.stats), `${label}: the source emitted no more repeats than in the clean run`);
}

export interface ChaosReportRow {
  seed: number;
  sink: SinkKind;
  documents: number;
  comparison: Comparison;
  slackFaults: Record<string, number>;
  elasticsearchFaults: ChaosRun['elasticsearchFaults'];
  survived: number;
  /** Slack calls the client gave up waiting for (the 'slow' faults, plus any answer slowed by load). */
  timeouts: number;
  elapsedMs: number;
}

/**
 * One clean export, then one chaos run per seed and sink, each compared with it (both sinks must hold the same
 * `_id` → `content_hash` set); the rows hold what BENCHMARKS.md reports.
 */
export async function chaosSuite(
  options: Omit<ChaosOptions, 'seed'>,
  seeds: number[],
  sinks: SinkKind[],
  onRow: (row: ChaosReportRow) => void = () => {},
): Promise<ChaosReportRow[]> {
  const rows: ChaosReportRow[] = [];
  const clean = await runOnce({ ...options, seed: 0 }, 'ndjson', false);
  for (const seed of seeds) {
    for (const sink of sinks) {
      const run = await runOnce({ ...options, seed }, sink, true);
      const row: ChaosReportRow = {
        seed,
        sink,
        documents: run.output.hashes.size,
        comparison: compare(clean.output, run.output),
        slackFaults: run.slackFaults,
        elasticsearchFaults: run.elasticsearchFaults,
        survived: survivedFaults(run),
        timeouts: run.api.timeouts,
        elapsedMs: run.stats.elapsedMs,
      };
      rows.push(row);
      onRow(row);
    }
  }
  return rows;
}

const slackKindColumns: readonly FaultKind[] = ALL_FAULT_KINDS;

/** A Markdown table of the rows: faults injected per kind, faults survived, documents lost. */
export function formatChaosTable(rows: ChaosReportRow[]): string {
  const header = [
    'sink',
    'seed',
    'documents',
    ...slackKindColumns.map((kind) => `Slack ${kind}`),
    'ES item 429',
    'ES request 429',
    'ES 503',
    'ES dropped',
    'faults survived',
    'client timeouts',
    'lost',
    'changed',
    'duplicates',
    'time',
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const cells = [
      row.sink,
      String(row.seed),
      String(row.documents),
      ...slackKindColumns.map((kind) => String(row.slackFaults[kind] ?? 0)),
      String(row.elasticsearchFaults.item429),
      String(row.elasticsearchFaults.request429),
      String(row.elasticsearchFaults.request503),
      String(row.elasticsearchFaults.dropped),
      String(row.survived),
      String(row.timeouts),
      String(row.comparison.lost.length),
      String(row.comparison.changed.length),
      String(row.comparison.duplicates),
      `${(row.elapsedMs / 1000).toFixed(1)} s`,
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface RunnerArguments {
  seeds: number[];
  options: Omit<ChaosOptions, 'seed' | 'directory'>;
  sinks: SinkKind[];
}

const runnerUsage =
  'usage: node dist/test/chaos/run-chaos.js [--seed N[,N…]] [--rate R] [--es-rate R] [--size small|medium|large] ' +
  '[--sink ndjson|elasticsearch|both] [--es-retries N]';

/** Arguments of the standalone runner; throws an Error whose message is the one line to print. */
export function parseRunnerArguments(argv: string[]): RunnerArguments {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      seed: { type: 'string', default: '1' },
      rate: { type: 'string' },
      'es-rate': { type: 'string' },
      size: { type: 'string', default: 'medium' },
      sink: { type: 'string', default: 'both' },
      'es-retries': { type: 'string', default: String(defaultChaosOptions.elasticsearchRetries) },
    },
  });
  const probability = (flag: string, text: string | undefined, fallback: number): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!/^\d*\.?\d+$/.test(text) || value >= 1) throw new Error(`--${flag} must be a probability below 1, got '${text}'`);
    return value;
  };
  const seeds = String(values.seed)
    .split(',')
    .map((text) => {
      if (!/^\d+$/.test(text.trim())) throw new Error(`--seed must be whole numbers separated by commas, got '${values.seed}'`);
      return Number(text);
    });
  const size = String(values.size);
  if (size !== 'small' && size !== 'medium' && size !== 'large') throw new Error(`--size must be small, medium or large, got '${size}'`);
  const sink = String(values.sink);
  if (sink !== 'ndjson' && sink !== 'elasticsearch' && sink !== 'both')
    throw new Error(`--sink must be ndjson, elasticsearch or both, got '${sink}'`);
  const slackRate = probability('rate', values.rate, defaultChaosOptions.slackRate);
  const esRate = probability('es-rate', values['es-rate'], defaultChaosOptions.elasticsearch.itemRate429);
  const esRetries = String(values['es-retries']);
  if (!/^\d+$/.test(esRetries)) throw new Error(`--es-retries must be a whole number, got '${esRetries}'`);
  return {
    seeds,
    sinks: sink === 'both' ? ['ndjson', 'elasticsearch'] : [sink],
    options: {
      ...defaultChaosOptions,
      size,
      slackRate,
      elasticsearch: { itemRate429: esRate, requestRate429: esRate, requestRate503: esRate, dropConnectionRate: esRate },
      elasticsearchRetries: Number(esRetries),
    },
  };
}

async function main(argv: string[]): Promise<number> {
  let parsed: RunnerArguments;
  try {
    parsed = parseRunnerArguments(argv);
  } catch (error) {
    process.stderr.write(`run-chaos: ${(error as Error).message}\n${runnerUsage}\n`);
    return 2;
  }
  const directory = mkdtempSync(join(tmpdir(), 'slack-etl-chaos-'));
  const { options } = parsed;
  const rates = options.elasticsearch;
  process.stderr.write(
    `chaos: ${options.size} workspace (seed ${options.workspaceSeed}), ` +
      `Slack fault rate ${options.slackRate} over ${options.slackKinds.join(', ')}; ` +
      `Elasticsearch rates item 429 ${rates.itemRate429}, request 429 ${rates.requestRate429}, ` +
      `503 ${rates.requestRate503}, dropped ${rates.dropConnectionRate}; ` +
      `Elasticsearch retries ${options.elasticsearchRetries}; Slack timeout ${options.timeoutMs} ms, slow answers ${options.slowMs} ms\n`,
  );
  try {
    const rows: ChaosReportRow[] = [];
    try {
      await chaosSuite({ ...options, directory }, parsed.seeds, parsed.sinks, (row) => {
        const { comparison } = row;
        process.stderr.write(
          `chaos: ${row.sink} seed ${row.seed}: ${row.documents}/${comparison.expected} documents, ` +
            `lost ${comparison.lost.length}, extra ${comparison.extra.length}, changed ${comparison.changed.length}, ` +
            `duplicates ${comparison.duplicates}, faults survived ${row.survived} (${(row.elapsedMs / 1000).toFixed(1)} s)\n`,
        );
        rows.push(row);
      });
    } catch (error) {
      // A run that fails writes nothing under its final name; for the suite it is still a failed run.
      process.stderr.write(`chaos: a run failed: ${(error as Error).message}\n`);
      if (rows.length > 0) process.stdout.write(formatChaosTable(rows) + '\n');
      return 1;
    }
    process.stdout.write(formatChaosTable(rows) + '\n');
    const failed = rows.filter(
      (row) => row.comparison.lost.length + row.comparison.extra.length + row.comparison.changed.length + row.comparison.duplicates > 0,
    );
    return failed.length === 0 ? 0 : 1;
  } finally {
    await rm(directory, { recursive: true, force: true });
  }
}

const isMain = ((): boolean => {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
})();

if (isMain) {
  process.exitCode = await main(process.argv.slice(2));
}
