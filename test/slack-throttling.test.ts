// The Slack client under Slack's documented rate-limit answers: 429 without Retry-After, HTTP 200 `ratelimited`, short
// pages, long Retry-After, the restricted regime entered only on repeated evidence and left when it stops; HTTP 401.

import t from 'tap';
import { channelTypeOf, generateWorkspace } from '../fixtures/slack-api/generator.js';
import { startFakeSlack, type FakeSlackOptions, type FakeSlackServer } from '../fixtures/slack-api/server.js';
import type { Logger } from '../lib/log.js';
import { SlackApiClient } from '../lib/sources/slack/client.js';
import { rateScale, scaledTierRates, scaledTierRatesFlag, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const workspace = generateWorkspace({ seed: 5, size: 'small', messageCount: 1000 });
const channel = workspace.channels
  .filter((candidate) => channelTypeOf(candidate.info) === 'public' && candidate.botIsMember)
  .sort((left, right) => right.messages.length - left.messages.length)[0]!;
const channelId = String(channel.info.id);

async function serve(
  t: { teardown(fn: () => unknown): void },
  options: Partial<Omit<FakeSlackOptions, 'workspace'>> = {},
): Promise<FakeSlackServer> {
  const server = await startFakeSlack({ rateScale, ...options, workspace });
  t.teardown(() => server.close());
  return server;
}

function capture(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  return {
    warnings,
    logger: { debug() {}, info() {}, warn: (message) => warnings.push(message), error: (message) => warnings.push(message) },
  };
}

const clientFor = (server: FakeSlackServer, logger: Logger, options: { maxAttempts?: number } = {}) =>
  new SlackApiClient({
    token: testToken,
    slackApiUrl: server.url,
    tierRates: scaledTierRates,
    retryBaseDelayMs: 5,
    retryMaxDelayMs: 20,
    logger,
    ...options,
  });

t.test('a 429 without Retry-After and an HTTP 200 `ratelimited` are rate limits: retried, never failed attempts', async (t) => {
  const slack = await serve(t);
  const { logger, warnings } = capture();
  // Two attempts only: were these failures, the call would fail.
  const client = clientFor(slack, logger, { maxAttempts: 2 });
  slack.injectFault('users.list', 'burst429NoRetryAfter', 3);
  slack.injectFault('users.list', 'ratelimited200', 2);
  const page = await client.call('users.list', { limit: 5 });
  t.equal((page.members as unknown[]).length, 5, 'the call succeeded after five rate-limited answers');
  const stats = client.stats();
  t.equal(stats.rateLimited, 5);
  t.equal(stats.retries, 0, 'no attempt was used up');
  t.equal(stats.failedCalls, 0);
  const sustained = warnings.filter((warning) => warning.includes('rate-limiting users.list'));
  t.ok(sustained.length >= 1, 'sustained 429s print a warning');
  t.match(sustained[0], /users\.list .*waiting \d+ ms \(no Retry-After given\)/, 'naming the method and the wait');
});

t.test('one long Retry-After or one page of 15 with a cursor does not switch to 1 request a minute', async (t) => {
  const slack = await serve(t, { retryAfterSeconds: 0 });
  const { logger, warnings } = capture();
  const client = clientFor(slack, logger);
  slack.injectFault('conversations.history', 'shortPage', 2);
  const first = await client.call('conversations.history', { channel: channelId, limit: 100 });
  t.equal((first.messages as unknown[]).length, 15, 'Slack returned fewer than asked, with a cursor (documented)');
  t.ok(first.response_metadata.next_cursor);
  await client.call('conversations.history', { channel: channelId, limit: 100, cursor: first.response_metadata.next_cursor });
  await client.call('conversations.history', { channel: channelId, limit: 100 });
  t.equal(client.stats().restrictedRegime, false, 'two short pages then a full one: still the normal regime');
  t.same(
    warnings.filter((warning) => warning.includes('2025')),
    [],
  );
});

t.test('three pages of 15 in a row enter the restricted regime, saying so; a full page leaves it, saying so', async (t) => {
  const slack = await serve(t, { retryAfterSeconds: 0 });
  const { logger, warnings } = capture();
  const client = clientFor(slack, logger);
  slack.injectFault('conversations.history', 'shortPage', 3);
  let cursor: string | undefined;
  for (let page = 0; page < 3; page++) {
    const answer = await client.call('conversations.history', { channel: channelId, limit: 100, ...(cursor ? { cursor } : {}) });
    cursor = answer.response_metadata.next_cursor;
  }
  t.equal(client.stats().restrictedRegime, true, 'entered after repeated evidence');
  const entering = warnings.filter((warning) => warning.includes('2025 limits'));
  t.equal(entering.length, 1);
  t.match(entering[0], /conversations\.history \(3 pages in a row of 15 items with more to come\)/, 'naming the evidence');
  const full = await client.call('conversations.history', { channel: channelId, limit: 100, cursor });
  t.ok((full.messages as unknown[]).length > 15);
  t.match(
    warnings.at(-1),
    /restricted limits no longer apply \(conversations\.history returned a page of \d+ items\)/,
    'leaving is logged',
  );
  t.equal(client.stats().restrictedRegimeEntered, 1);
});

t.test('repeated long Retry-After on history enters the regime; one does not', async (t) => {
  const slack = await serve(t, { retryAfterSeconds: 30 });
  const { logger, warnings } = capture();
  // The pacer would hold the retry for 30 s: only the classification is under test, so abort once it has seen both.
  const controller = new AbortController();
  const aborting = new SlackApiClient({
    token: testToken,
    slackApiUrl: slack.url,
    tierRates: scaledTierRates,
    logger,
    signal: controller.signal,
  });
  slack.injectFault('conversations.history', 'burst429', 1);
  const one = aborting.call('conversations.history', { channel: channelId, limit: 100 });
  await waitFor(() => aborting.stats().rateLimited === 1);
  t.equal(aborting.stats().restrictedRegime, false, 'one 429 with Retry-After 30 is not evidence enough');
  t.match(warnings.join('\n'), /rate-limiting conversations\.history/, 'but a long wait is announced, naming the method');
  controller.abort(new Error('done'));
  await t.rejects(one, { message: 'done' });

  const second = new AbortController();
  const twice = new SlackApiClient({ token: testToken, slackApiUrl: slack.url, tierRates: scaledTierRates, logger, signal: second.signal });
  slack.injectFault('conversations.history', 'burst429', 1);
  slack.injectFault('conversations.replies', 'burst429', 1);
  const history = twice.call('conversations.history', { channel: channelId, limit: 100 });
  const replies = twice.call('conversations.replies', { channel: channelId, ts: String(channel.messages[0]!.ts), limit: 100 });
  await waitFor(() => twice.stats().rateLimited === 2);
  t.equal(twice.stats().restrictedRegime, true, 'two long 429s in a row on history/replies enter it');
  second.abort(new Error('done'));
  await Promise.allSettled([history, replies]);
});

t.test('CLI: HTTP 401 from auth.test is a token problem (exit 2); Slack unreachable is a failed run (exit 1)', async (t) => {
  const slack = await serve(t);
  slack.injectFault('auth.test', 'http401', 1);
  const rejected = await runCliInProcess(['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--out', '-'], {
    env: { SLACK_TOKEN: testToken },
  });
  t.equal(rejected.code, 2, rejected.stderr);
  t.match(rejected.stderr, /Slack rejected the token \(HTTP 401\)/);
  t.equal(rejected.stdout, '');
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
