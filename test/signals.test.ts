// Ctrl-C and SIGTERM stop the real CLI promptly even while every request waits a minute or a day for its rate-limit turn.

import { spawn } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import t from 'tap';
import { childEnvironment, nodeCommand, startWorkspace, temporaryDirectory, type TestContext, testToken } from './helpers/slack.js';
import type { FakeSlackServer } from '../fixtures/slack-api/server.js';
import { binPath } from './helpers/paths.js';

/** A liveness guard, not a speed claim: without abortable waits these runs would last a minute or a day. */
const exitsWithinMs = 5_000;

/** Starts an export, sends `signal` once history requests are waiting their turn, and reports how the process ended. */
async function interruptWhileWaiting(t: TestContext, slack: FakeSlackServer, signal: NodeJS.Signals, args: string[] = [], out = '-') {
  const child = spawn(...nodeCommand([binPath, 'export', '--slack-api-url', slack.url, '--out', out, ...args]), {
    env: childEnvironment({ SLACK_TOKEN: testToken }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.resume();
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, endSignal) => resolve({ code, signal: endSignal })),
  );
  // Waiting: Slack has answered at least one history request with 429 (the others queue behind its Retry-After).
  while ((slack.stats().rateLimitedByMethod['conversations.history'] ?? 0) < 1) await new Promise((resolve) => setTimeout(resolve, 20));
  await new Promise((resolve) => setTimeout(resolve, 200));
  const sentAt = performance.now();
  child.kill(signal);
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const result = await ended;
  clearTimeout(guard);
  return { ...result, stderr, afterSignalMs: performance.now() - sentAt };
}

t.test('SIGINT against a restricted workspace (1 request a minute): the CLI stops at once, saying so, exit 1', async (t) => {
  // Slack's real one-minute window (no scaling) and default tier rates, as a user would run it.
  const { slack } = await startWorkspace(t, {}, { rateScale: 1, restricted: true });
  const result = await interruptWhileWaiting(t, slack, 'SIGINT');
  t.equal(result.code, 1, result.stderr);
  t.ok(result.afterSignalMs < exitsWithinMs, `exited ${Math.round(result.afterSignalMs)} ms after SIGINT`);
  t.match(result.stderr, /received SIGINT: stopping; nothing is written under the final name/, 'says what it does with the output');
  t.match(result.stderr, /interrupted by SIGINT/);
});

t.test('SIGTERM while history waits out `Retry-After: 86400`: the CLI stops at once, exit 1', async (t) => {
  const { slack } = await startWorkspace(t, {}, { rateScale: 1, retryAfterSeconds: 86_400 });
  slack.injectFault('conversations.history', 'burst429', 1_000);
  const result = await interruptWhileWaiting(t, slack, 'SIGTERM');
  t.equal(result.code, 1, result.stderr);
  t.ok(result.afterSignalMs < exitsWithinMs, `exited ${Math.round(result.afterSignalMs)} ms after SIGTERM`);
  t.match(
    result.stderr,
    /rate-limiting conversations\.history \(a 429\): waiting 86400 s \(Retry-After\)/,
    'the day-long wait was announced',
  );
  t.match(result.stderr, /received SIGTERM: stopping/);
});

t.test('SIGINT during an export to a file: the previous file stays as it was, no half-written output or temporary file', async (t) => {
  const { slack } = await startWorkspace(t, {}, { rateScale: 1, retryAfterSeconds: 86_400 });
  slack.injectFault('conversations.history', 'burst429', 1_000);
  const directory = await temporaryDirectory(t);
  const out = join(directory, 'slack.ndjson');
  await writeFile(out, '{"previous":"export"}\n');
  // Users and channels are written (to the temporary file) before history waits out its day-long Retry-After.
  const result = await interruptWhileWaiting(t, slack, 'SIGINT', [], out);
  t.equal(result.code, 1, result.stderr);
  t.match(result.stderr, /received SIGINT: stopping; nothing is written under the final name/);
  t.equal(await readFile(out, 'utf8'), '{"previous":"export"}\n', 'the previous export is untouched');
  t.strictSame(await readdir(directory), ['slack.ndjson'], 'no temporary or partial file is left beside it');
});
