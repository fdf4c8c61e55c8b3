// Floor of the scale figure: the same Slack pages the source reads (one channel's history, then each thread's replies),
// fetched through the same client and thrown away. Whatever an export costs above this is the pipeline's own.

import { setFlagsFromString } from 'node:v8';
import { SlackApiClient } from '../lib/sources/slack/client.js';
import { figureArguments, reportResult, round } from './common.js';

// The same heap growth as bin/slack-etl.js, so the floor and the CLI are measured under one V8 setting.
setFlagsFromString('--heap-growing-percent=50');
const { values } = figureArguments({ url: { type: 'string' }, channel: { type: 'string' }, token: { type: 'string' } });
const fast = { tier1: 1e6, tier2: 1e6, tier3: 1e6, tier4: 1e6 };
const client = new SlackApiClient({ token: String(values.token), slackApiUrl: String(values.url), tierRates: fast });
const channel = String(values.channel);
const started = performance.now();
const cpuStarted = process.cpuUsage();
let messages = 0;
let replies = 0;
let calls = 0;

async function readAll(method: string, params: Record<string, unknown>, each: (message: Record<string, any>) => Promise<void>) {
  let cursor: string | undefined;
  do {
    const page = await client.call(method, { ...params, limit: method === 'conversations.history' ? 999 : 1000, cursor });
    calls++;
    for (const message of page.messages as Record<string, any>[]) await each(message);
    cursor = (page.response_metadata as { next_cursor?: string } | undefined)?.next_cursor || undefined;
  } while (cursor);
}

await readAll('conversations.history', { channel }, async (message) => {
  messages++;
  if (Number(message.reply_count ?? 0) === 0) return;
  await readAll('conversations.replies', { channel, ts: message.ts }, async (reply) => {
    if (reply.ts !== message.ts) replies++;
  });
});
const cpu = process.cpuUsage(cpuStarted);
reportResult({
  seconds: round((performance.now() - started) / 1000, 2),
  cpuSeconds: round((cpu.user + cpu.system) / 1e6, 2),
  messages,
  replies,
  calls,
});
