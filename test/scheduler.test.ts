// Proves the Slack client's scheduler against the fake's own accounting: per-method budgets, isolation of a 429 storm, Retry-After, the
// restricted regime.

import t from 'tap';
import type { Test } from 'tap';
import { channelTypeOf, generateWorkspace, type Workspace } from '../fixtures/slack-api/generator.js';
import { startFakeSlack, type FakeSlackOptions, type FakeSlackServer } from '../fixtures/slack-api/server.js';
import type { Logger } from '../lib/log.js';
import { SlackApiClient } from '../lib/sources/slack/client.js';
import type { TierRates } from '../lib/sources/slack/pacer.js';
import { slackSource } from '../lib/sources/slack/source.js';

const token = 'xoxb-test-token';
/** The client's rates for a fake whose minute-long windows are `scale` times shorter. */
const ratesAt = (scale: number): TierRates => ({ tier1: scale, tier2: 20 * scale, tier3: 50 * scale, tier4: 100 * scale });
/** One-second windows: Tier 2 = 20, Tier 3 = 50 requests per window in the fake. */
const rateScale = 60;
const budgetPerWindow: Record<string, number> = {
  'users.list': 20,
  'conversations.list': 20,
  'conversations.history': 50,
  'conversations.replies': 50,
};
/**
 * The client and the fake share one event loop here, and the machine may be loaded: a wider margin than the default
 * keeps loopback jitter from deciding the test. The property under test is the same: spacing holds in every window.
 */
const pacingMargin = 0.25;

const workspace = generateWorkspace({ seed: 3, size: 'small' });
const readable = workspace.channels.filter((channel) => channelTypeOf(channel.info) === 'public' && channel.botIsMember);
const threads = readable.flatMap((channel) =>
  channel.messages
    .filter((message) => Number(message.reply_count ?? 0) > 0 && !message.subtype)
    .map((message) => ({ channel: String(channel.info.id), ts: String(message.ts) })),
);

async function serve(
  test: { teardown(fn: () => unknown): void },
  options: Partial<Omit<FakeSlackOptions, 'workspace'>> = {},
  served: Workspace = workspace,
): Promise<FakeSlackServer> {
  const server = await startFakeSlack({ rateScale, ...options, workspace: served });
  test.teardown(() => server.close());
  return server;
}

const clientFor = (server: FakeSlackServer, scale = rateScale) =>
  new SlackApiClient({ token, slackApiUrl: server.url, tierRates: ratesAt(scale), pacingMargin, retryBaseDelayMs: 10 });

/** Many calls of four methods at once (more than a window holds for each); resolves when every one is answered. */
async function callManyAtOnce(client: SlackApiClient): Promise<Record<string, number>> {
  const channel = String(readable[0]!.info.id);
  const requested: Record<string, number> = {
    'users.list': 26,
    'conversations.list': 26,
    'conversations.history': 70,
    'conversations.replies': 70,
  };
  const calls: Array<Promise<unknown>> = [];
  for (let index = 0; index < requested['conversations.history']!; index++) {
    calls.push(client.call('conversations.history', { channel, limit: 5 }));
    const thread = threads[index % threads.length]!;
    calls.push(client.call('conversations.replies', { channel: thread.channel, ts: thread.ts, limit: 5 }));
    if (index < requested['users.list']!) {
      calls.push(client.call('users.list', { limit: 5 }));
      calls.push(client.call('conversations.list', { limit: 5 }));
    }
  }
  await Promise.all(calls);
  return requested;
}

function withinEveryBudget(t: Test, slack: FakeSlackServer, client: SlackApiClient, requested: Record<string, number>): void {
  const stats = slack.stats();
  t.same(stats.rateLimitedByMethod, {}, 'no 429 for any method');
  for (const [method, budget] of Object.entries(budgetPerWindow)) {
    t.equal(stats.okByMethod[method], requested[method], `${method}: every call answered`);
    t.ok(
      (stats.maxInWindowByMethod[method] ?? 0) <= budget,
      `${method}: at most ${budget} in any one window (saw ${stats.maxInWindowByMethod[method]})`,
    );
  }
  // More calls than one window holds were made, so the budget was actually exercised, not just never approached.
  t.ok(
    (stats.maxInWindowByMethod['conversations.history'] ?? 0) > budgetPerWindow['conversations.history']! / 2,
    'history ran near its budget',
  );
  t.same(client.stats().rateLimited, 0);
}

t.test('many concurrent calls of several methods never exceed any method budget in the fake', async (t) => {
  // Three-second windows: the budgets are the same per window, and a loaded machine still fills more than half of one.
  const budgetScale = 20;
  const slack = await serve(t, { rateScale: budgetScale });
  const client = clientFor(slack, budgetScale);
  withinEveryBudget(t, slack, client, await callManyAtOnce(client));
});

t.test('told the window Slack counts in, the client spends each exact budget without a margin and without a 429', async (t) => {
  const slack = await serve(t);
  // No pacingMargin: the budget per window is exact, counted as the fake sees the calls arrive.
  const client = new SlackApiClient({ token, slackApiUrl: slack.url, tierRates: ratesAt(rateScale), rateWindowMs: 60_000 / rateScale });
  withinEveryBudget(t, slack, client, await callManyAtOnce(client));
});

t.test('a 429 storm on one method does not stall another, and Retry-After is honoured', async (t) => {
  const retryAfterSeconds = 1;
  const slack = await serve(t, { retryAfterSeconds });
  const client = clientFor(slack);
  const channel = String(readable[0]!.info.id);
  slack.injectFault('conversations.history', 'burst429', 3);

  // One history caller (its retries run one after another), many replies calls at the same time.
  const history = (async () => {
    await client.call('conversations.history', { channel, limit: 5 });
    await client.call('conversations.history', { channel, limit: 5 });
  })();
  const repliesCount = 40;
  const replies = Array.from({ length: repliesCount }, (_, index) => {
    const thread = threads[index % threads.length]!;
    return client.call('conversations.replies', { channel: thread.channel, ts: thread.ts, limit: 5 });
  });
  await Promise.all([history, ...replies]);

  const historyCalls = slack.calls.filter((call) => call.method === 'conversations.history');
  const throttled = historyCalls.filter((call) => call.status === 429);
  t.equal(throttled.length, 3, 'the storm: three 429s');
  t.equal(historyCalls.filter((call) => call.status === 200).length, 2, 'both history calls succeed after it');

  // (b) replies kept flowing while history was held back.
  const firstThrottle = throttled[0]!.at;
  const firstAcceptedHistory = historyCalls.find((call) => call.status === 200)!.at;
  const repliesDuringStorm = slack.calls.filter(
    (call) => call.method === 'conversations.replies' && call.status === 200 && call.at > firstThrottle && call.at < firstAcceptedHistory,
  );
  t.ok(repliesDuringStorm.length >= 30, `replies answered while history was blocked: ${repliesDuringStorm.length} of ${repliesCount}`);
  t.equal(slack.stats().okByMethod['conversations.replies'], repliesCount, 'every replies call answered');

  // (c) after each 429, the next history request reaches the fake only once Retry-After has passed (the fake's clock).
  for (const [index, call] of historyCalls.entries()) {
    if (call.status !== 429) continue;
    const next = historyCalls[index + 1];
    t.ok(next, 'a request follows the 429');
    t.ok(
      next!.at - call.at >= retryAfterSeconds * 1000,
      `next history request ${Math.round(next!.at - call.at)} ms after a 429 with Retry-After ${retryAfterSeconds}`,
    );
  }
  t.equal(client.stats().rateLimited, 3);
  t.equal(client.stats().failedCalls, 0);
});

t.test('the restricted regime is detected once, reported, and the run completes', async (t) => {
  const small = generateWorkspace({ seed: 5, size: 'small', messageCount: 1000 });
  // More than three pages of 15: the regime is entered on three such pages in a row, not on one.
  const candidates = small.channels.filter(
    (channel) => channelTypeOf(channel.info) === 'public' && channel.botIsMember && channel.messages.length > 60,
  );
  const channel = [...candidates].sort((left, right) => left.messages.length - right.messages.length)[0]!;
  // 600× windows keep the one-request-per-window tier short; Retry-After 0 keeps a stray 429 cheap. A 100 ms window is
  // near a loaded machine's stalls: paced at twice the interval, a request that reaches the fake late still has a window
  // of its own.
  const fastScale = 600;
  const restrictedPacingMargin = 1;
  const slack = await serve(t, { restricted: true, rateScale: fastScale, retryAfterSeconds: 0 }, small);
  const warnings: string[] = [];
  const logger: Logger = { debug() {}, info() {}, warn: (message: string) => warnings.push(message), error() {} };
  const source = slackSource({
    token,
    slackApiUrl: slack.url,
    fetchLastNDays: 0,
    channels: [String(channel.info.id)],
    tierRates: ratesAt(fastScale),
    pacingMargin: restrictedPacingMargin,
    retryBaseDelayMs: 10,
    logger,
    now: small.now * 1000,
  });
  const messages: string[] = [];
  for await (const document of source)
    if (document.type === 'message' && document.channel_id === channel.info.id) messages.push(document._id);

  const restrictedWarnings = warnings.filter((warning) => warning.includes('2025 limits'));
  t.equal(restrictedWarnings.length, 1, 'reported exactly once');
  t.match(restrictedWarnings[0], /pages in a row of 15 items.*1 request per minute, 15 messages per page/);
  t.equal(source.stats().api.restrictedRegime, true);
  t.equal(source.stats().api.failedCalls, 0, 'no call failed');
  t.ok(source.report().complete, 'the channel was read completely');
  const topLevel = channel.messages.length;
  t.ok(messages.length >= topLevel, `every top-level message arrived (${messages.length} documents, ${topLevel} top-level)`);
  const historyPages = slack.calls.filter((call) => call.method === 'conversations.history' && call.status === 200).length;
  t.equal(historyPages, Math.ceil(topLevel / 15), 'history read in pages of 15');
  // Once detected (three pages of 15 in a row), history and replies are paced at Tier 1 (one per window) instead of
  // bouncing off 429s. Requests released before the switch may still meet one: they reach the fake within a paced
  // interval of the third page (how many depends on timing). Every request after that was paced at Tier 1.
  const paced = new Set(['conversations.history', 'conversations.replies']);
  const thirdPage = slack.calls.filter((call) => call.method === 'conversations.history' && call.status === 200)[2]!;
  const pacedIntervalMs = (60_000 / fastScale) * (1 + restrictedPacingMargin);
  const afterSwitch = slack.calls.filter((call) => paced.has(call.method) && call.at > thirdPage.at + pacedIntervalMs);
  t.ok(afterSwitch.length >= 10, `history and replies went on after the switch (${afterSwitch.length} calls)`);
  const throttledAfter = afterSwitch.filter((call) => call.status === 429).length;
  t.ok(throttledAfter <= 1, `at most one 429 among the ${afterSwitch.length} calls after the switch (saw ${throttledAfter})`);
});

t.test('users are asked for while the conversations are listed: both wait only for auth.test', async (t) => {
  const latencyMs = 150;
  const slack = await serve(t, { latencyMs });
  const source = slackSource({
    token,
    slackApiUrl: slack.url,
    fetchLastNDays: 0,
    threads: false,
    channels: [String(readable[0]!.info.id)],
    tierRates: ratesAt(rateScale),
    now: workspace.now * 1000,
  });
  const types: string[] = [];
  for await (const document of source) types.push(document.type);
  const arrival = (method: string) => slack.calls.find((call) => call.method === method)!.at;
  t.ok(
    arrival('users.list') < arrival('conversations.list') + latencyMs,
    'users.list reached Slack before the conversations.list answer was sent',
  );
  t.ok(types.lastIndexOf('user') < types.indexOf('channel'), 'every user document still comes before any channel');
});
