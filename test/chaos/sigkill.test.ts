// Chaos, SIGKILL: a resumable export stopped once, then killed at 10 random points of its resumed runs, each followed by the same command,
// ends with the clean run's `_id`s and `content_hash`es; the last resume skips finished channels, the finished export is never replaced,
// and a later run finds nothing new.

import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  childEnvironment,
  nodeCommand,
  parseNdjson,
  scaledTierRatesFlag,
  startWorkspace,
  temporaryDirectory,
  testToken,
} from '../helpers/slack.js';
import { binPath } from '../helpers/paths.js';
import { readState } from '../helpers/state.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';

/** Starts the CLI and sends `signal` once `partialPath` holds at least `bytes` bytes; resolves whether it was sent. */
function killAt(
  args: string[],
  env: Record<string, string>,
  partialPath: string,
  bytes: number,
  signal: NodeJS.Signals = 'SIGKILL',
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(...nodeCommand([binPath, ...args]), { env: childEnvironment(env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    // Only once this run is seen below the point: a resumed run first cuts the partial file back to its checkpoint, and
    // what an earlier killed run wrote past it must not trigger the signal before this one has done anything.
    let below = false;
    const watch = setInterval(() => {
      stat(partialPath).then(
        (info) => {
          if (info.size < bytes) below = true;
          else if (below && !killed) {
            killed = true;
            child.kill(signal);
          }
        },
        () => void (below = true),
      );
    }, 5);
    const deadline = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearInterval(watch);
      clearTimeout(deadline);
      resolve({ killed, code, stderr });
    });
  });
}

const hashesOf = (text: string): Map<string, string> =>
  new Map(parseNdjson(text).map((document) => [String(document._id), String(document.content_hash)]));

t.test('SIGKILL at 10 random points of a resumed export, each followed by the same command, loses and repeats nothing', async (t) => {
  // Half the small workspace's messages: each killed run pays Node's start-up and re-reads its unfinished channels.
  const { slack, nowMs } = await startWorkspace(t, { messageCount: 1_000 });
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--fetch-last-n-days', '0', '--quiet'];
  // The clean and the final run need no process of their own: only the killed ones do.
  const clean = await runCliInProcess([...common, '--out', join(directory, 'clean.ndjson')], { env });
  const historyOfClean = slack.stats().callsByMethod['conversations.history'] ?? 0;
  t.equal(clean.code, 0, clean.stderr);
  const cleanText = await readFile(join(directory, 'clean.ndjson'), 'utf8');
  const cleanSize = Buffer.byteLength(cleanText);

  const out = join(directory, 'resumed.ndjson');
  const partialPath = join(directory, '.resumed.ndjson.slack-etl-partial');
  const statePath = join(directory, 'state.json');
  const args = [...common, '--state', statePath, '--out', out];
  // A killed run rarely lives to the sink's first checkpoint (a one-second timer): without one, each run would start over.
  // A graceful stop once it has written something commits it, so every run killed below resumes from a checkpoint.
  const stopped = await killAt(args, env, partialPath, 1, 'SIGTERM');
  t.ok(stopped.killed && stopped.code === 1, `stopped by SIGTERM mid-run (exit ${stopped.code}): ${stopped.stderr}`);
  const committed = readState(statePath).run?.committedBytes ?? 0;
  t.ok(committed > 0, `the stop left a checkpoint (${committed} bytes committed)`);
  // Seeded, so a failure can be replayed: kill points spread over the rest of the output, in increasing order.
  let seed = Number(process.env.SLACK_ETL_KILL_SEED ?? 13);
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const points = Array.from({ length: 10 }, (_, index) => (index + random()) / 11).map((fraction) =>
    Math.floor(committed + (cleanSize - committed) * fraction),
  );
  let kills = 0;
  for (const bytes of points) {
    const run = await killAt(args, env, partialPath, bytes);
    if (run.killed) kills++;
    else t.equal(run.code, 0, `finished before the kill point at ${bytes} bytes: ${run.stderr}`);
  }
  t.ok(kills >= 10, `killed at ${kills} of 10 points`);
  const historyBefore = slack.stats().callsByMethod['conversations.history'] ?? 0;
  const pending = readState(statePath);
  t.ok(pending.run, 'an unfinished run is recorded');
  const last = await runCliInProcess(args, { env });
  t.equal(last.code, 0, last.stderr);
  // Channels are read concurrently: whether one was finished and committed before the last checkpoint varies from run to run.
  if (pending.runChannels.length > 0) {
    t.match(last.stderr, `resuming: ${pending.runChannels.length} channels already done`, 'the resumed run says what it skips');
    const historyOfResume = (slack.stats().callsByMethod['conversations.history'] ?? 0) - historyBefore;
    t.ok(
      historyOfResume < historyOfClean,
      `finished channels are not read again (${historyOfResume} history calls, a clean run ${historyOfClean})`,
    );
  } else t.notMatch(last.stderr, /resuming: /, 'no channel was finished: none is skipped');
  const text = await readFile(out, 'utf8');
  t.ok(text.endsWith('\n'), 'the file ends with a whole line');
  const lines = parseNdjson(text);
  t.equal(new Set(lines.map((document) => document._id)).size, lines.length, 'no _id twice');
  t.strictSame([...hashesOf(text)].sort(), [...hashesOf(cleanText)].sort(), 'exactly the clean run’s _ids and content_hashes');
  t.equal(readState(statePath).run, null, 'the finished run is no longer recorded as pending');
  await t.rejects(stat(partialPath), 'no partial file left');

  const again = await runCliInProcess(args, { env });
  t.equal(again.code, 2, 'the same command again is refused: it would replace the finished export');
  t.match(
    again.stderr,
    /resumed\.ndjson holds the export finished at .* that the state file .*state\.json records as written.* — move .*resumed\.ndjson away first, or give each run its own --out/,
  );
  t.equal(await readFile(out, 'utf8'), text, 'the finished export is untouched');
  const next = join(directory, 'next.ndjson');
  const incremental = await runCliInProcess([...common, '--state', statePath, '--out', next], { env });
  t.equal(incremental.code, 0, incremental.stderr);
  t.equal(await readFile(next, 'utf8'), '', 'a run after completion, to a new file, finds nothing new');
});
