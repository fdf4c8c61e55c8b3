// Resume: SIGTERM stops an export with --state with a resume hint, the committed part kept, and the same command finishes it. (SIGKILL at
// many points, each resumed, and what a finished export refuses: test/chaos/sigkill.test.ts.)

import t from 'tap';
import { spawn } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { readState } from './helpers/state.js';
import {
  childEnvironment,
  nodeCommand,
  parseNdjson,
  scaledTierRatesFlag,
  startWorkspace,
  temporaryDirectory,
  testToken,
} from './helpers/slack.js';
import { binPath } from './helpers/paths.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

/** A quarter of the medium workspace: 14 channels read, about 1,100 documents in 90 days, far more than is written at the signal. */
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
    const child = spawn(...nodeCommand([binPath, ...args]), { env: childEnvironment(env), stdio: ['ignore', 'ignore', 'pipe'] });
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
