// Resume: an export with --state killed (SIGKILL) at several points and started again ends with a clean run's documents, once each; SIGTERM
// stops with a resume hint.

import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readState } from './helpers/state.js';
import { childEnvironment, parseNdjson, scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { binPath } from './helpers/paths.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

/** A quarter of the medium workspace: still 14 channels read, about 1,100 documents in 90 days, 12 write chunks to kill between. */
const workspaceSize = { channelCount: 24, messageCount: 12_000, userCount: 120 };

/** Starts the CLI and sends `signal` once the partial file holds at least `bytes` bytes; resolves with the exit. */
function runUntil(
  args: string[],
  env: Record<string, string>,
  partialPath: string,
  bytes: number,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string; sent: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { env: childEnvironment(env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let sent = false;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const watch = setInterval(() => {
      stat(partialPath).then(
        (info) => {
          if (!sent && info.size >= bytes) {
            sent = true;
            child.kill(signal);
          }
        },
        () => {},
      );
    }, 20);
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, exitSignal) => {
      clearInterval(watch);
      clearTimeout(deadline);
      resolve({ code, signal: exitSignal, stderr, sent });
    });
  });
}

function checkedIds(t: Test, text: string, label: string): string[] {
  const documents = parseNdjson(text);
  const ids = documents.map((document) => String(document._id));
  t.equal(new Set(ids).size, ids.length, `${label}: no id twice`);
  return ids.sort();
}

t.test('an export killed with SIGKILL at several points and resumed each time ends with exactly a clean run’s documents', async (t) => {
  const { slack, nowMs } = await startWorkspace(t, workspaceSize);
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--fetch-last-n-days', '90', '--quiet'];

  // Only the runs that are killed need a process of their own.
  const clean = await runCliInProcess([...common, '--out', join(directory, 'clean.ndjson')], { env });
  const historyOfClean = slack.stats().callsByMethod['conversations.history'] ?? 0;
  t.equal(clean.code, 0, clean.stderr);
  const cleanIds = checkedIds(t, await readFile(join(directory, 'clean.ndjson'), 'utf8'), 'clean run');
  const cleanSize = (await stat(join(directory, 'clean.ndjson'))).size;
  t.ok(cleanIds.length > 1_000, `a real export (${cleanIds.length} documents)`);

  const out = join(directory, 'resumed.ndjson');
  const partialPath = join(directory, '.resumed.ndjson.slack-etl-partial');
  const args = [...common, '--state', join(directory, 'state.json'), '--out', out];
  let kills = 0;
  // Kill points by how much of the output exists: early, around a third, around two thirds.
  for (const fraction of [0.05, 0.35, 0.7]) {
    const killed = await runUntil(args, env, partialPath, Math.floor(cleanSize * fraction), 'SIGKILL');
    if (killed.sent) {
      kills++;
      t.equal(killed.signal, 'SIGKILL', `killed at ${fraction * 100}% of the output`);
    } else t.equal(killed.code, 0, `finished before the ${fraction * 100}% kill point: ${killed.stderr}`);
  }
  t.ok(kills >= 2, `the run was killed mid-way at least twice (${kills})`);
  const historyBefore = slack.stats().callsByMethod['conversations.history'] ?? 0;
  const pendingBefore = readState(join(directory, 'state.json')).run !== null;
  const last = await runCliInProcess(args, { env });
  t.equal(last.code, 0, last.stderr);
  // Only when the last kill left an unfinished run (on a fast machine the run may finish before the kill point).
  if (pendingBefore) {
    const done = /resuming: (\d+) channels already done/.exec(last.stderr);
    t.ok(done && Number(done[1]) > 0, `the resumed run says what it skips: ${last.stderr.trim()}`);
    const historyOfResume = (slack.stats().callsByMethod['conversations.history'] ?? 0) - historyBefore;
    t.ok(
      historyOfResume < historyOfClean,
      `finished channels are not read again (${historyOfResume} history calls, a clean run ${historyOfClean})`,
    );
  }
  const text = await readFile(out, 'utf8');
  t.ok(text.endsWith('\n'), 'the file ends with a whole line');
  const resumedIds = checkedIds(t, text, 'resumed run');
  t.strictSame(resumedIds, cleanIds, 'the same document ids as a clean run');
  const state = readState(join(directory, 'state.json'));
  t.equal(state.run, null, 'the finished run is no longer recorded as pending');
  await t.rejects(stat(partialPath), 'no partial file left');

  const again = await runCliInProcess(args, { env });
  t.equal(again.code, 2, 'the same command again is refused: it would replace the finished export');
  t.match(
    again.stderr,
    /resumed\.ndjson holds the export finished at .* that the state file .*state\.json records as written.* — move .*resumed\.ndjson away first, or give each run its own --out/,
  );
  t.equal(await readFile(out, 'utf8'), text, 'the finished export is untouched');
  const next = join(directory, 'next.ndjson');
  const incremental = await runCliInProcess([...common, '--state', join(directory, 'state.json'), '--out', next], { env });
  t.equal(incremental.code, 0, incremental.stderr);
  t.equal(await readFile(next, 'utf8'), '', 'a run after completion, to a new file, finds nothing new');
});

t.test('SIGTERM stops gracefully: exit 1, a resume hint naming the state file, and the written part kept', async (t) => {
  const { slack, nowMs } = await startWorkspace(t, workspaceSize);
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const statePath = join(directory, 'state.json');
  const out = join(directory, 'out.ndjson');
  const partialPath = join(directory, '.out.ndjson.slack-etl-partial');
  const args = [
    'export',
    '--slack-api-url',
    slack.url,
    '--tier-rates',
    scaledTierRatesFlag,
    '--fetch-last-n-days',
    '90',
    '--quiet',
    '--state',
    statePath,
    '--out',
    out,
  ];
  const stopped = await runUntil(args, env, partialPath, 1, 'SIGTERM');
  t.ok(stopped.sent, 'the signal was sent mid-run');
  t.equal(stopped.code, 1, 'exit 1');
  t.match(stopped.stderr, /interrupted: run the same command again to resume \(state kept in .*state\.json\)/);
  const state = readState(statePath);
  t.ok(state.run, 'the unfinished run is recorded');
  t.equal((await stat(partialPath)).size, state.run?.committedBytes, 'the partial file holds exactly the committed bytes');
  t.equal(
    parseNdjson(await readFile(partialPath, 'utf8')).length,
    Object.keys(state.documents).length,
    'every committed line is in the state',
  );
  await t.rejects(stat(out), 'nothing under the final name yet');
  const resumed = await runCliInProcess(args, { env });
  t.equal(resumed.code, 0, resumed.stderr);
  t.ok(parseNdjson(await readFile(out, 'utf8')).length > Object.keys(state.documents).length, 'the resumed run completed the file');
});
