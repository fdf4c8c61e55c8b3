// Chaos, SIGKILL: a resumable export killed at 10 random points, each followed by the same command, ends with the clean run's `_id`s and
// `content_hash`es; the last resume skips finished channels, the finished export is never replaced, and a later run finds nothing new.

import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnvironment, parseNdjson, scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from '../helpers/slack.js';
import { binPath } from '../helpers/paths.js';
import { readState } from '../helpers/state.js';
import { runCliInProcess } from '../helpers/cli-in-process.js';

/** Starts the CLI and SIGKILLs it once `partialPath` holds at least `bytes` bytes; resolves whether it was killed. */
function killAt(
  args: string[],
  env: Record<string, string>,
  partialPath: string,
  bytes: number,
): Promise<{ killed: boolean; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], { env: childEnvironment(env), stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    let killed = false;
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const watch = setInterval(() => {
      stat(partialPath).then(
        (info) => {
          if (!killed && info.size >= bytes) {
            killed = true;
            child.kill('SIGKILL');
          }
        },
        () => {},
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

t.test('SIGKILL at 10 random points of a resumable export, each followed by the same command, loses and repeats nothing', async (t) => {
  // Half the small workspace's messages: each killed run pays Node's start-up and re-reads its unfinished channels. Most
  // runs die before the sink's first checkpoint (a one-second timer) and the next starts over; Slack answering in 25 ms
  // lets a late run commit now and then, and the run after it resume from the checkpoint (then checked below).
  const { slack, nowMs } = await startWorkspace(t, { messageCount: 1_000 }, { latencyMs: 25 });
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
  // Seeded, so a failure can be replayed: kill points spread over the output, in increasing order.
  let seed = Number(process.env.SLACK_ETL_KILL_SEED ?? 13);
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  const points = Array.from({ length: 10 }, (_, index) => (index + random()) / 11).map((fraction) =>
    Math.max(1, Math.floor(cleanSize * fraction)),
  );
  let kills = 0;
  for (const bytes of points) {
    const run = await killAt(args, env, partialPath, bytes);
    if (run.killed) kills++;
    else t.equal(run.code, 0, `finished before the kill point at ${bytes} bytes: ${run.stderr}`);
  }
  t.ok(kills >= 10, `killed at ${kills} of 10 points`);
  const historyBefore = slack.stats().callsByMethod['conversations.history'] ?? 0;
  const pendingBefore = readState(statePath).run !== null;
  const last = await runCliInProcess(args, { env });
  t.equal(last.code, 0, last.stderr);
  // Only when the last kill left an unfinished run (a kill point the partial file had already passed kills a run at start).
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
