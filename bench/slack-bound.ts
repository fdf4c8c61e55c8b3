// Figure 2: slackSource against the fake Slack (tiers ×scale, latency) beside its rate/latency floor and a sequential 200-per-page reader.

import { generateWorkspace, channelTypeOf, type Workspace } from '../fixtures/slack-api/generator.js';
import { startFakeSlack, METHOD_TIERS, type FakeSlackStats } from '../fixtures/slack-api/server.js';
import { SlackApiClient } from '../lib/sources/slack/client.js';
import { slackSource } from '../lib/sources/slack/source.js';
import type { TierRates } from '../lib/sources/slack/pacer.js';
import { figureArguments, reportResult, round } from './common.js';

const token = 'xoxb-test-token';
const { quick, values } = figureArguments({
  scale: { type: 'string' },
  size: { type: 'string' },
  'skip-baseline': { type: 'boolean' },
  variant: { type: 'string' },
});
/**
 * `rate` (default): the medium workspace with 20 ms per call, where the tier budgets are the floor. `threads-latency`:
 * a thread-heavy workspace with Slack's 100–300 ms per call, where only reading replies while history pages are still
 * coming (and several threads at once) stays near the floor.
 */
const variant = (values.variant as 'rate' | 'threads-latency' | undefined) ?? 'rate';
if (variant !== 'rate' && variant !== 'threads-latency') throw new Error(`unknown --variant ${String(variant)} (rate or threads-latency)`);
const threadHeavy = variant === 'threads-latency';
const scale = Number(values.scale ?? 60);
const size = (values.size as 'small' | 'medium' | undefined) ?? (quick || threadHeavy ? 'small' : 'medium');
const latency = threadHeavy ? { latencyMs: 100, latencyJitterMs: 200 } : { latencyMs: 20, latencyJitterMs: 0 };
const meanLatencySeconds = (latency.latencyMs + latency.latencyJitterMs / 2) / 1000;
const tierRates: TierRates = { tier1: scale, tier2: 20 * scale, tier3: 50 * scale, tier4: 100 * scale };
const perSecond = (method: string): number => tierRates[`tier${METHOD_TIERS[method] ?? 3}` as keyof TierRates] / 60;

/** Fewest calls per method at the largest page sizes, from the workspace data itself. */
function minimumCalls(workspace: Workspace, pageSize: { list: number; history: number; replies: number }): Record<string, number> {
  const calls: Record<string, number> = {
    'auth.test': 1,
    'users.list': Math.max(1, Math.ceil(workspace.users.length / pageSize.list)),
    // The fake (like Slack) cuts list pages over all conversations before filtering by type.
    'conversations.list': Math.max(1, Math.ceil(workspace.channels.length / pageSize.list)),
    'conversations.history': 0,
    'conversations.replies': 0,
  };
  for (const channel of readChannels(workspace)) {
    calls['conversations.history']! += Math.max(1, Math.ceil(channel.messages.length / pageSize.history));
    for (const message of channel.messages) {
      if (!isThreadParent(message)) continue;
      // Every replies page repeats the parent, so a page holds `limit − 1` replies.
      const replies = channel.replies.get(String(message.ts))?.length ?? 0;
      calls['conversations.replies']! += Math.max(1, Math.ceil(replies / (pageSize.replies - 1)));
    }
  }
  return calls;
}

const readChannels = (workspace: Workspace) =>
  workspace.channels.filter((channel) => channelTypeOf(channel.info) === 'public' && channel.botIsMember);
const isThreadParent = (message: Record<string, any>): boolean =>
  Number(message.reply_count ?? 0) > 0 && (!message.thread_ts || message.thread_ts === message.ts);

/** What Elastic's connector does: one request at a time, 200 per page, one replies call per thread, each paced at its tier rate. */
async function sequentialBaseline(client: SlackApiClient): Promise<number> {
  let documents = 0;
  async function pages(
    method: string,
    params: Record<string, unknown>,
    key: string,
    each: (items: Record<string, any>[]) => Promise<void>,
  ): Promise<void> {
    let cursor: string | undefined;
    do {
      const page = await client.call(method, { ...params, limit: 200, ...(cursor ? { cursor } : {}) });
      await each((page[key] as Record<string, any>[] | undefined) ?? []);
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor);
  }
  await client.call('auth.test');
  await pages('users.list', {}, 'members', async (members) => {
    documents += members.length;
  });
  const channels: Record<string, any>[] = [];
  await pages('conversations.list', { types: 'public_channel' }, 'channels', async (listed) => {
    channels.push(...listed);
  });
  for (const channel of channels) {
    documents++;
    if (channel.is_member !== true) continue;
    await pages('conversations.history', { channel: channel.id }, 'messages', async (messages) => {
      for (const message of messages) {
        documents++;
        if (!isThreadParent(message)) continue;
        await pages('conversations.replies', { channel: channel.id, ts: message.ts }, 'messages', async (replies) => {
          documents += replies.filter((reply) => reply.ts !== message.ts && reply.subtype !== 'thread_broadcast').length;
        });
      }
    });
  }
  return documents;
}

function summary(stats: FakeSlackStats) {
  const sum = (table: Record<string, number>) => Object.values(table).reduce((total, count) => total + count, 0);
  return {
    calls: sum(stats.callsByMethod),
    callsByMethod: stats.callsByMethod,
    rateLimited: sum(stats.rateLimitedByMethod),
    maxInWindowByMethod: stats.maxInWindowByMethod,
  };
}

/**
 * Threads on half of the top-level messages of the channels read (1–4 replies each, as many threads are short), so
 * replies calls outnumber history calls many times over.
 */
function makeThreadHeavy(workspace: Workspace): void {
  for (const channel of readChannels(workspace)) {
    const topLevel = channel.messages.filter((message) => !message.thread_ts && !message.subtype);
    topLevel.forEach((message, position) => {
      if (position % 2 !== 0) return;
      for (let reply = 0; reply <= position % 4; reply++) workspace.postReply(channel.info.id as string, String(message.ts));
    });
  }
}

/**
 * The calls that must follow one another whatever the concurrency: auth, the conversations.list pages, then in the
 * longest channel its history pages and, after the last one, its longest replies chain. Each costs the mean latency.
 */
function latencyChainCalls(workspace: Workspace, pageSize: { list: number; history: number; replies: number }): number {
  let longestChannel = 0;
  for (const channel of readChannels(workspace)) {
    const historyPages = Math.max(1, Math.ceil(channel.messages.length / pageSize.history));
    let longestThread = 0;
    for (const message of channel.messages) {
      if (!isThreadParent(message)) continue;
      const replies = channel.replies.get(String(message.ts))?.length ?? 0;
      longestThread = Math.max(longestThread, Math.ceil(replies / (pageSize.replies - 1)));
    }
    longestChannel = Math.max(longestChannel, historyPages + longestThread);
  }
  return 1 + Math.max(1, Math.ceil(workspace.channels.length / pageSize.list)) + longestChannel;
}

const generated = performance.now();
const workspace = threadHeavy
  ? generateWorkspace({ size, seed: 1, messageCount: 600, channelCount: 10 })
  : generateWorkspace({ size, seed: 1 });
if (threadHeavy) makeThreadHeavy(workspace);
const generateMs = performance.now() - generated;
const pageSizes = { list: 999, history: 999, replies: 1000 };
const minimum = minimumCalls(workspace, pageSizes);
/**
 * Calls that must return before a method's first call can be sent: auth.test, then the conversation list, then a
 * history page holding the thread's parent. Each costs the mean latency, and so does the method's own last call.
 */
const callsBefore: Record<string, number> = {
  'auth.test': 0,
  'users.list': 1,
  'conversations.list': 1,
  'conversations.history': 2,
  'conversations.replies': 3,
};
const floorByMethod: Record<string, number> = {};
for (const [method, calls] of Object.entries(minimum)) {
  floorByMethod[method] = calls / perSecond(method) + ((callsBefore[method] ?? 0) + 1) * meanLatencySeconds;
}
// The longest chain of calls that depend on one another is a floor too; the floor is the largest of these.
const latencyFloorSeconds = latencyChainCalls(workspace, pageSizes) * meanLatencySeconds;
floorByMethod['latency chain'] = latencyFloorSeconds;
const [floorMethod, floorSeconds] = Object.entries(floorByMethod).sort((left, right) => right[1] - left[1])[0]!;

async function readWithSource() {
  const slack = await startFakeSlack({ workspace, rateScale: scale, ...latency });
  try {
    const source = slackSource({
      token,
      slackApiUrl: slack.url,
      fetchLastNDays: 0,
      threads: true,
      tierRates,
      // The fake counts Slack's per-minute budgets in windows `scale` times shorter.
      rateWindowMs: 60_000 / scale,
      now: workspace.now * 1000,
    });
    const started = performance.now();
    let documents = 0;
    for await (const document of source) if (document) documents++;
    const seconds = (performance.now() - started) / 1000;
    const api = source.stats().api;
    return {
      seconds,
      documents,
      failedCalls: api.failedCalls,
      clientRateLimited: api.rateLimited,
      retries: api.retries,
      ...summary(slack.stats()),
    };
  } finally {
    await slack.close();
  }
}

// The thread-heavy read is short and latency-bound, so it runs 3 times (median and spread); the rate-bound one once.
const readings = [];
for (let round = 0; round < (threadHeavy && !quick ? 3 : 1); round++) readings.push(await readWithSource());
const ours = [...readings].sort((left, right) => left.seconds - right.seconds)[Math.floor(readings.length / 2)]!;

const baseline = values['skip-baseline']
  ? null
  : await (async () => {
      const slack = await startFakeSlack({ workspace, rateScale: scale, ...latency });
      try {
        const client = new SlackApiClient({ token, slackApiUrl: slack.url, tierRates });
        const started = performance.now();
        const documents = await sequentialBaseline(client);
        const seconds = (performance.now() - started) / 1000;
        return { seconds, documents, failedCalls: client.stats().failedCalls, ...summary(slack.stats()) };
      } finally {
        await slack.close();
      }
    })();

reportResult({
  figure: 'slack-bound',
  variant,
  size,
  scale,
  latencyMs: latency.latencyMs,
  latencyJitterMs: latency.latencyJitterMs,
  generateMs: Math.round(generateMs),
  workspace: {
    users: workspace.users.length,
    channels: workspace.channels.length,
    channelsRead: readChannels(workspace).length,
    messages: readChannels(workspace).reduce((total, channel) => total + channel.messages.length, 0),
    threads: readChannels(workspace).reduce((total, channel) => total + channel.messages.filter(isThreadParent).length, 0),
  },
  minimumCalls: minimum,
  floorByMethodSeconds: Object.fromEntries(Object.entries(floorByMethod).map(([method, seconds]) => [method, round(seconds, 3)])),
  floorMethod,
  floorSeconds: round(floorSeconds, 3),
  ours: {
    ...ours,
    seconds: round(ours.seconds, 3),
    ratioToFloor: round(ours.seconds / floorSeconds, 3),
    rounds: readings.length,
    ratioToFloorSpread: [
      round(Math.min(...readings.map((reading) => reading.seconds)) / floorSeconds, 3),
      round(Math.max(...readings.map((reading) => reading.seconds)) / floorSeconds, 3),
    ],
  },
  baseline: baseline && { ...baseline, seconds: round(baseline.seconds, 3), speedUp: round(baseline.seconds / ours.seconds, 2) },
});
