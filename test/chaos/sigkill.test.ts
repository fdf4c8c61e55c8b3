// Chaos, SIGKILL: a resumable export killed at 10 random points, each followed by the same command, ends with the clean run's `_id`s and
// `content_hash`es.

import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { childEnvironment, parseNdjson, scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from '../helpers/slack.js';
import { binPath } from '../helpers/paths.js';
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
  // Half the small workspace's messages: each killed run pays Node's start-up and re-reads its unfinished channels.
  const { slack, nowMs } = await startWorkspace(t, { messageCount: 1_000 });
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--fetch-last-n-days', '0', '--quiet'];
  // The clean and the final run need no process of their own: only the killed ones do.
  const clean = await runCliInProcess([...common, '--out', join(directory, 'clean.ndjson')], { env });
  t.equal(clean.code, 0, clean.stderr);
  const cleanText = await readFile(join(directory, 'clean.ndjson'), 'utf8');
  const cleanSize = Buffer.byteLength(cleanText);

  const out = join(directory, 'resumed.ndjson');
  const partialPath = join(directory, '.resumed.ndjson.slack-etl-partial');
  const args = [...common, '--state', join(directory, 'state.json'), '--out', out];
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
  const last = await runCliInProcess(args, { env });
  t.equal(last.code, 0, last.stderr);
  const text = await readFile(out, 'utf8');
  const lines = parseNdjson(text);
  t.equal(new Set(lines.map((document) => document._id)).size, lines.length, 'no _id twice');
  t.strictSame([...hashesOf(text)].sort(), [...hashesOf(cleanText)].sort(), 'exactly the clean run’s _ids and content_hashes');
});
