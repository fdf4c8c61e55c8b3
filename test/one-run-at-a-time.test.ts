// Two exports on one state and output, started at several offsets: one runs, the other exits 2 naming it; the file is whole.

import t from 'tap';
import { readState } from './helpers/state.js';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expectedIds } from '../fixtures/slack-api/ground-truth.js';
import {
  childEnvironment,
  idsOf,
  nodeCommand,
  parseNdjson,
  scaledTierRatesFlag,
  startWorkspace,
  temporaryDirectory,
  type TestContext,
  testToken,
} from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';
import { repositoryPath } from './helpers/paths.js';

const mainModule = repositoryPath('dist/lib/cli/main.js');

interface Armed {
  pid: number;
  /** Starts the CLI run in the already loaded process: offsets are not blurred by Node's start-up. */
  go(): void;
  done: Promise<{ code: number | null; stderr: string }>;
}

/** A process with the CLI loaded, waiting on stdin to run `args`; resolves once it is ready. */
async function arm(args: string[], env: Record<string, string>): Promise<Armed> {
  const script = `const { main } = await import(${JSON.stringify(mainModule)});
    process.stdout.write('ready\\n');
    process.stdin.once('data', async () => { process.stdin.pause(); process.exitCode = await main(${JSON.stringify(args)}); });`;
  const child = spawn(...nodeCommand(['--input-type=module', '-e', script]), {
    env: childEnvironment(env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const done = new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(deadline);
      resolve({ code, stderr });
    });
  });
  child.stdout.setEncoding('utf8');
  for await (const chunk of child.stdout) if (String(chunk).includes('ready')) break;
  return { pid: child.pid!, go: () => child.stdin.end('go'), done };
}

/** Resolves once `path` exists with at least `bytes` bytes (polling; the run under test decides when). */
async function whenFile(path: string, bytes: number, running: Promise<unknown>): Promise<void> {
  let finished = false;
  void running.then(() => (finished = true));
  while (!finished) {
    if (((await stat(path).catch(() => null))?.size ?? -1) >= bytes) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * A pass-through to the fake Slack that holds every conversations.history request until `gate.open()`: a run cannot
 * finish (nor get past its users and channels) while the gate is shut, however fast or slow the machine is.
 */
async function gatedSlack(t: TestContext, target: string): Promise<{ url: string; shut: () => void; open: () => void }> {
  let opened = Promise.resolve();
  let open = () => {};
  const server = createServer((request, response) => {
    const held = request.url?.includes('conversations.history') ? opened : Promise.resolve();
    void held.then(() => {
      const upstream = httpRequest(new URL(request.url!, target), { method: request.method, headers: request.headers }, (answer) => {
        response.writeHead(answer.statusCode!, answer.headers);
        answer.pipe(response);
      });
      upstream.on('error', () => response.destroy());
      request.pipe(upstream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    open();
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}${new URL(target).pathname}`,
    shut: () => void (opened = new Promise<void>((resolve) => (open = resolve))),
    open: () => open(),
  };
}

t.test('two exports on the same state and output never corrupt it: one completes, the other exits 2 naming the running one', async (t) => {
  const { slack, nowMs, workspace } = await startWorkspace(t, { messageCount: 400 });
  const gate = await gatedSlack(t, slack.url);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--slack-api-url', gate.url, '--tier-rates', scaledTierRatesFlag, '--fetch-last-n-days', '0', '--quiet'];
  const truth = expectedIds(workspace, {
    now: workspace.now,
    fetchLastNDays: 0,
    threads: true,
    syncUsers: true,
    autoJoinChannels: false,
    channelTypes: ['public'],
  });
  const cleanIds = [...truth.all].sort();

  // Offsets of the second start: the same moment, once the first holds its lock, once it has written documents.
  for (const offset of ['together', 'after the lock', 'mid-write'] as const) {
    const directory = await temporaryDirectory(t);
    const out = join(directory, 'out.ndjson');
    const args = [...common, '--state', join(directory, 'state.json'), '--out', out];
    const [first, second] = await Promise.all([arm(args, env), arm(args, env)]);
    // Shut until one of the two has exited: the refused one, never the winner, which waits for history. Its users and
    // channels reach the partial file meanwhile (the sink's checkpoint timer writes them out during a stall).
    gate.shut();
    void Promise.race([first.done, second.done]).then(gate.open);
    first.go();
    if (offset === 'after the lock') await whenFile(join(directory, 'state.json.lock'), 1, first.done);
    if (offset === 'mid-write') await whenFile(join(directory, '.out.ndjson.slack-etl-partial'), 1, first.done);
    second.go();
    const results = [
      { ...(await first.done), pid: first.pid },
      { ...(await second.done), pid: second.pid },
    ];
    const winners = results.filter((result) => result.code === 0);
    const refused = results.filter((result) => result.code === 2);
    t.equal(winners.length, 1, `${offset}: one run completed (${results.map((result) => `${result.code}: ${result.stderr}`).join(' | ')})`);
    t.equal(refused.length, 1, `${offset}: the other exited 2`);
    if (winners.length !== 1 || refused.length !== 1) continue;
    t.match(
      refused[0]!.stderr,
      new RegExp(
        `is in use by another slack-etl run \\(pid ${winners[0]!.pid} on ${hostname()}, ` +
          'since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z\\) — wait for that run to finish',
      ),
      `${offset}: the refusal names the running one`,
    );
    const text = await readFile(out, 'utf8');
    const documents = parseNdjson(text); // throws on a corrupt line
    t.ok(text.endsWith('\n'), `${offset}: whole lines`);
    t.strictSame(idsOf(documents as Array<{ _id: string }>), cleanIds, `${offset}: exactly the workspace's documents, none twice`);
    const state = readState(join(directory, 'state.json'));
    t.equal(Object.keys(state.documents).length, cleanIds.length, `${offset}: the state records what the file holds`);
    t.equal(state.run, null, `${offset}: no unfinished run`);
    t.strictSame((await readdir(directory)).sort(), ['out.ndjson', 'state.json'], `${offset}: no lock, partial or temporary file left`);
  }
});

t.test('a lock left by a killed run is taken over; a live one on another host is not', async (t) => {
  const { slack, nowMs } = await startWorkspace(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const directory = await temporaryDirectory(t);
  const args = [
    'export',
    '--slack-api-url',
    slack.url,
    '--tier-rates',
    scaledTierRatesFlag,
    '--quiet',
    '--state',
    join(directory, 'state.json'),
    '--out',
    join(directory, 'out.ndjson'),
  ];
  const gone = spawn(...nodeCommand(['-e', '']), { env: childEnvironment() });
  await once(gone, 'close');
  const lockPath = join(directory, 'state.json.lock');
  await writeFile(
    lockPath,
    JSON.stringify({ pid: gone.pid, host: hostname(), since: '2026-01-01T00:00:00.000Z', token: '0123456789abcdef' }),
  );
  // Not started through the CLI: the pid above belongs to a process that has exited (node -e '').
  // The takers run in-process: what counts is the pid and host in the lock file, not who reads it.
  const taken = await runCliInProcess(args, { env });
  t.equal(taken.code, 0, taken.stderr);
  await t.rejects(stat(lockPath), 'the lock is released at the end');

  await writeFile(
    lockPath,
    JSON.stringify({ pid: gone.pid, host: 'build-server-2', since: '2026-01-01T00:00:00.000Z', token: '0123456789abcdef' }),
  );
  const refused = await runCliInProcess(args, { env });
  t.equal(refused.code, 2);
  t.match(
    refused.stderr,
    /the state file .*state\.json is in use by another slack-etl run \(pid \d+ on build-server-2, since 2026-01-01T00:00:00\.000Z\) — wait for that run to finish; if it is not running any more, remove .*state\.json\.lock/,
  );
  t.equal(slack.calls.length > 0, true);
});
