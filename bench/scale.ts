// Scale figure: peak RSS and wall of export, first and unchanged --state export, first sync and unchanged re-sync of one
// channel of N messages, each run the CLI in its own process beside a floor (the same pages read and thrown away).
// The fake Slack computes the channel per page (fixtures/slack-api/lazy-channel.ts) with rate limits off; the fake
// Elasticsearch runs in its own process. Then checkpoint cost and tombstone bookkeeping vs state size (scale-checkpoint.ts).

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { addLazyChannel } from '../fixtures/slack-api/lazy-channel.js';
import { startFakeSlack } from '../fixtures/slack-api/server.js';
import { figureArguments, peakRssMb, reportResult, resultMarker, round } from './common.js';

type Result = Record<string, any>;

const { quick, values } = figureArguments({
  sizes: { type: 'string' },
  'state-sizes': { type: 'string' },
  'largest-kinds': { type: 'string' },
  repeats: { type: 'string' },
});
const sizes = String(values.sizes ?? (quick ? '20000,60000' : '60000,180000,1000000'))
  .split(',')
  .map(Number);
const stateSizes = String(values['state-sizes'] ?? (quick ? '10000,100000' : '10000,1000000'))
  .split(',')
  .map(Number);
const kinds = ['export', 'stateFirst', 'stateUnchanged', 'syncFirst', 'syncUnchanged'] as const;
/** At the largest size only these runs (the floor always): `npm run bench` keeps its wall down this way. */
const largestKinds = new Set(String(values['largest-kinds'] ?? kinds.join(',')).split(','));
/**
 * Runs of each kind at every size but the largest: a peak RSS is where V8 happened to collect, ±10 % from run to run,
 * so the growth compares medians. The largest size runs once (its runs take minutes); its figure is the 256 MB bound.
 */
const repeats = Math.max(1, Number(values.repeats ?? (quick ? 1 : 3)));
const token = 'xoxb-test-token';
const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));
const binPath = here('../../bin/slack-etl.js');
const probe = pathToFileURL(here('./rss-probe.js')).href;
/** Rate limits off at both ends: the figure is memory and CPU, not Slack's pace. */
const unpaced = ['--tier-rates', '1000000,1000000,1000000'];

const directory = await mkdtemp(join(tmpdir(), 'slack-etl-scale-'));
const workspace = generateWorkspace({ size: 'small', seed: 1 });
const channels = new Map(sizes.map((count) => [count, addLazyChannel(workspace, { messageCount: count, seed: 1 })]));
const slack = await startFakeSlack({ workspace, rateLimits: false });

function runChild(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    // The CLI's own output is read and dropped (a pipe, as in `| consumer`); figure scripts print one result line.
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      if (stdout.length < 1_000_000) stdout += chunk.includes(resultMarker) ? chunk : '';
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** One CLI run under the probe: its own peak RSS, CPU and wall. */
async function cli(name: string, args: string[]): Promise<Result> {
  const probeFile = join(directory, `${name}.probe`);
  const started = performance.now();
  const { code, stderr } = await runChild(['--import', probe, binPath, ...args, ...unpaced, '--quiet'], {
    SLACK_TOKEN: token,
    SLACK_API_URL: slack.url,
    SLACK_ETL_BENCH_PROBE: probeFile,
  });
  const seconds = round((performance.now() - started) / 1000, 2);
  if (code !== 0) return { error: `${name} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
  const measured = JSON.parse((await readFile(probeFile, 'utf8')).trim()) as Result;
  const { peakRssMb, cpuSeconds, heapTotalMb, externalMb } = measured;
  return { peakRssMb, cpuSeconds, seconds, heapTotalMb, externalMb };
}

async function figure(script: string, args: string[]): Promise<Result> {
  const started = performance.now();
  const { code, stdout, stderr } = await runChild([here(`./${script}.js`), ...args]);
  const line = stdout.split('\n').find((text) => text.startsWith(resultMarker));
  if (code !== 0 || !line) return { error: `${script} exited ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}` };
  return { ...(JSON.parse(line.slice(resultMarker.length)) as Result), wallSeconds: round((performance.now() - started) / 1000, 2) };
}

/** The run with the median peak RSS, with every run's peak beside it; a failed run fails the kind. */
function medianRun(results: Result[]): Result {
  const failed = results.find((result) => result.error);
  if (failed) return failed;
  const sorted = [...results].sort((left, right) => Number(left.peakRssMb) - Number(right.peakRssMb));
  return { ...sorted[Math.floor(sorted.length / 2)], peakRssRunsMb: results.map((result) => result.peakRssMb as number) };
}

const fakeElasticsearch = spawn(process.execPath, [here('./fake-elasticsearch-process.js')], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: fakeElasticsearch.stdout! })[Symbol.asyncIterator]();
const { url: esUrl } = JSON.parse(String((await lines.next()).value)) as { url: string };

const runs: Record<number, Result> = {};
try {
  for (const count of sizes) {
    const channel = channels.get(count)!;
    const { threads, replies } = channel.lazy.countReplies();
    const read = ['--fetch-last-n-days', '0', '--channels', String(channel.info.name)];
    process.stderr.write(`scale: ${count} messages\n`);
    const isLargest = count === sizes.at(-1) && sizes.length > 1;
    const wanted = (kind: string): boolean => !isLargest || largestKinds.has(kind);
    const samples: Record<string, Result[]> = { floor: [] };
    for (let repeat = 0; repeat < (isLargest ? 1 : repeats); repeat++) {
      const state = join(directory, `state-${count}-${repeat}.db`);
      const index = `scale-${count}-${repeat}`;
      const sync = ['sync', ...read, '--es-url', esUrl, '--index', index, '--delete-stale'];
      samples.floor!.push(await figure('scale-floor', ['--url', slack.url, '--channel', String(channel.info.id), '--token', token]));
      const commands: Record<(typeof kinds)[number], string[]> = {
        export: ['export', ...read],
        stateFirst: ['export', ...read, '--state', state],
        stateUnchanged: ['export', ...read, '--state', state],
        syncFirst: sync,
        syncUnchanged: sync,
      };
      for (const kind of kinds) {
        // An unchanged run needs its first run before it.
        const needed =
          wanted(kind) || (kind === 'stateFirst' && wanted('stateUnchanged')) || (kind === 'syncFirst' && wanted('syncUnchanged'));
        if (needed) (samples[kind] ??= []).push(await cli(`${kind}-${count}-${repeat}`, commands[kind]));
      }
      await rm(state, { force: true });
      // The fake keeps every index in its memory: drop this repeat's before the next.
      await fetch(`${esUrl}/${index}`, { method: 'DELETE' });
    }
    const run: Result = { messages: count, threads, replies };
    for (const [kind, results] of Object.entries(samples)) run[kind] = medianRun(results);
    runs[count] = run;
  }
  const checkpoint: Record<number, Result> = {};
  for (const documents of stateSizes) checkpoint[documents] = await figure('scale-checkpoint', ['--documents', String(documents)]);

  const [small, large] = sizes;
  const growth = Object.fromEntries(
    ['floor', ...kinds].map((kind) => {
      const from = runs[small!]?.[kind]?.peakRssMb as number | undefined;
      const to = runs[large!]?.[kind]?.peakRssMb as number | undefined;
      return [kind, from && to ? round(to / from, 2) : null];
    }),
  );
  const largest = sizes.at(-1)!;
  const peakAtLargest = Math.max(...kinds.map((kind) => Number(runs[largest]?.[kind]?.peakRssMb ?? 0)));
  reportResult({
    figure: 'scale',
    sizes,
    repeats,
    runs,
    growth: { from: small, to: large, ...growth },
    peakAtLargestMb: peakAtLargest,
    flat: kinds.every((kind) => growth[kind] !== null && (growth[kind] as number) <= 1.25),
    boundedAtLargest: peakAtLargest > 0 && peakAtLargest <= 256,
    checkpoint,
    driverPeakRssMb: peakRssMb(),
  });
} finally {
  fakeElasticsearch.stdin!.end();
  await slack.close();
  await rm(directory, { recursive: true, force: true });
}
