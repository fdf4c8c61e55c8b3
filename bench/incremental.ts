// Figure 4: a first sync with --state, then a re-sync of the unchanged workspace: Slack calls per method, wall time, documents emitted.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { channelTypeOf, generateWorkspace } from '../fixtures/slack-api/generator.js';
import { startFakeSlack, type FakeSlackServer } from '../fixtures/slack-api/server.js';
import { figureArguments, reportResult, round } from './common.js';

const token = 'xoxb-test-token';
const { quick, values } = figureArguments({ scale: { type: 'string' }, size: { type: 'string' }, days: { type: 'string' } });
const scale = Number(values.scale ?? 60);
const size = (values.size as 'small' | 'medium' | undefined) ?? (quick ? 'small' : 'medium');
const days = Number(values.days ?? 180);
/** The source re-reads threads with a reply this recent on every run (its default). */
const activeThreadDays = 30;
const latencyMs = 20;
const binPath = fileURLToPath(new URL('../../bin/slack-etl.js', import.meta.url));

const workspace = generateWorkspace({ size, seed: 1 });
const nowSeconds = workspace.now;
const windowOldest = nowSeconds - days * 86_400;
const activeSince = nowSeconds - activeThreadDays * 86_400;
const tsSeconds = (ts: unknown): number => Number(String(ts).split('.')[0]);
const channelsRead = workspace.channels.filter((channel) => channelTypeOf(channel.info) === 'public' && channel.botIsMember);

let historyCallsAllowed = 0;
let windowMessages = 0;
const inactiveThreads = new Set<string>();
for (const channel of channelsRead) {
  const inWindow = channel.messages.filter((message) => tsSeconds(message.ts) >= windowOldest);
  windowMessages += inWindow.length;
  historyCallsAllowed += Math.max(1, Math.ceil(inWindow.length / 999));
  for (const message of inWindow) {
    const isParent = Number(message.reply_count ?? 0) > 0 && (!message.thread_ts || message.thread_ts === message.ts);
    if (isParent && tsSeconds(message.latest_reply) < activeSince) inactiveThreads.add(`${String(channel.info.id)}/${String(message.ts)}`);
  }
}

function runCli(args: string[]): Promise<{ code: number | null; stderr: string; seconds: number }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [binPath, ...args], {
      env: { ...process.env, SLACK_TOKEN: token },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stderr, seconds: (performance.now() - started) / 1000 }));
  });
}

async function syncOnce(slack: FakeSlackServer, directory: string, name: string) {
  slack.resetStats();
  const out = join(directory, `${name}.ndjson`);
  const result = await runCli([
    'export',
    '--out',
    out,
    '--state',
    join(directory, 'state.json'),
    '--slack-api-url',
    slack.url,
    '--fetch-last-n-days',
    String(days),
    '--tier-rates',
    `${20 * scale},${50 * scale},${100 * scale}`,
    '--quiet',
  ]);
  if (result.code !== 0) throw new Error(`${name} sync exited ${result.code}: ${result.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const lines = (await readFile(out, 'utf8')).split('\n').filter((line) => line.length > 0);
  const stats = slack.stats();
  const inactiveRepliesCalls = slack.calls.filter(
    (call) => call.method === 'conversations.replies' && inactiveThreads.has(`${call.params.channel}/${call.params.ts}`),
  ).length;
  return {
    seconds: round(result.seconds, 3),
    documents: lines.length,
    callsByMethod: stats.callsByMethod,
    rateLimited: Object.values(stats.rateLimitedByMethod).reduce((total, count) => total + count, 0),
    inactiveRepliesCalls,
  };
}

const directory = await mkdtemp(join(tmpdir(), 'slack-etl-bench-'));
const slack = await startFakeSlack({ workspace, rateScale: scale, latencyMs });
try {
  const first = await syncOnce(slack, directory, 'first');
  const again = await syncOnce(slack, directory, 'again');
  reportResult({
    figure: 'incremental',
    size,
    scale,
    days,
    activeThreadDays,
    channelsRead: channelsRead.length,
    windowMessages,
    historyCallsAllowed,
    inactiveThreads: inactiveThreads.size,
    first,
    again,
  });
} finally {
  await slack.close();
  await rm(directory, { recursive: true, force: true });
}
