// Stopping promptly: a reader that stalls stops the Slack reads (bounded prefetch), and one that leaves (`| head -1`) ends the run with no
// further Slack call.

import t from 'tap';
import { spawn } from 'node:child_process';
import { devNull } from 'node:os';
import { childEnvironment, exportArgs, nodeCommand, startWorkspace, testToken } from './helpers/slack.js';
import type { FakeSlackServer } from '../fixtures/slack-api/server.js';
import { binPath } from './helpers/paths.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const totalCalls = (slack: FakeSlackServer): number => slack.calls.length;

/** Resolves once the fake has received no call for `quietMs`. */
async function quiescent(slack: FakeSlackServer, quietMs: number): Promise<number> {
  let last = totalCalls(slack);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, quietMs));
    const now = totalCalls(slack);
    if (now === last) return now;
    last = now;
  }
}

t.test('export | head -1: a stalled reader stops the reads, and once it leaves no Slack call is made', async (t) => {
  // Enough that a channel is several history pages and many threads: far more calls than the bounded prefetch.
  const { slack, nowMs } = await startWorkspace(t, { channelCount: 8, messageCount: 8_000 });
  const concurrency = 2;
  const threadConcurrency = 4; // the source's default
  const child = spawn(...nodeCommand([binPath, ...exportArgs(slack, '--concurrency', String(concurrency), '--quiet')]), {
    env: childEnvironment({ SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));

  // Like `head -1`: read the first line, then stop reading.
  const firstLine = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (chunk: Buffer) => {
      text += chunk.toString('utf8');
      if (text.includes('\n')) {
        child.stdout.off('data', onData);
        child.stdout.pause();
        resolve(text.slice(0, text.indexOf('\n')));
      }
    };
    child.stdout.on('data', onData);
  });
  t.match(JSON.parse(firstLine), { type: 'user' }, 'the first line is a document');

  const whileStalled = await quiescent(slack, 1500);
  const listCalls =
    (slack.stats().callsByMethod['auth.test'] ?? 0) +
    (slack.stats().callsByMethod['users.list'] ?? 0) +
    (slack.stats().callsByMethod['conversations.list'] ?? 0);
  // Per channel read at once: the page handed on, one page fetched ahead, and the first page of each thread in flight.
  const bound = listCalls + concurrency * (2 + threadConcurrency) + (slack.stats().callsByMethod['users.info'] ?? 0);
  t.ok(whileStalled <= bound, `reads stop while the reader stalls: ${whileStalled} calls ≤ ${bound}`);

  child.stdout.destroy();
  const code = await exited;
  t.equal(code, 0, `a reader leaving is a normal end: ${stderr}`);
  t.equal(totalCalls(slack), whileStalled, 'no Slack call after the pipe closed');

  // What the whole export takes, for scale: the stop saved nearly all of it.
  const before = totalCalls(slack);
  const fullRun = await runCliInProcess(exportArgs(slack, '--quiet', '--out', devNull), {
    env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) },
  });
  t.equal(fullRun.code, 0, fullRun.stderr);
  const full = totalCalls(slack) - before;
  t.ok(full > whileStalled * 3, `a full export makes ${full} calls`);
});
