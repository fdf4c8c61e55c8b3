// Slack → NDJSON end to end: the exported ids equal the fake workspace's ground truth for every option combination.

import t from 'tap';
import { readFile, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { expectedIds, type TruthOptions } from '../fixtures/slack-api/ground-truth.js';
import { slackSource, type SlackSourceOptions } from '../lib/sources/slack/source.js';
import { ndjsonSink } from '../lib/sinks/ndjson.js';
import { pipeline } from '../lib/pipeline.js';
import type { AnyDocument, MessageDocument } from '../lib/documents.js';
import {
  exportArgs,
  idsOf,
  readNdjson,
  runCli,
  scaledTierRates,
  scaledTierRatesFlag,
  serveWorkspace,
  startWorkspace,
  temporaryDirectory,
  testToken,
} from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

// Every channel kind and message shape at half the small size. Generated once: tests that read it without joining
// channels each get their own fake (own call log) for it.
const workspaceOptions = { size: 'small', seed: 7, messageCount: 1000 } as const;
const sharedWorkspace = generateWorkspace(workspaceOptions);

const defaults: Omit<TruthOptions, 'now'> = {
  fetchLastNDays: 180,
  threads: true,
  syncUsers: true,
  autoJoinChannels: false,
  channelTypes: ['public'],
};

async function collect(source: AsyncIterable<AnyDocument>): Promise<AnyDocument[]> {
  const documents: AnyDocument[] = [];
  for await (const document of source) documents.push(document);
  return documents;
}

t.test('the library source exports exactly the ground-truth ids for each option combination', async (t) => {
  const combinations: Array<[string, Partial<TruthOptions>]> = [
    ['defaults (180 days, threads, users, public, no join)', {}],
    ['all history (--fetch-last-n-days 0)', { fetchLastNDays: 0 }],
    ['30-day window', { fetchLastNDays: 30 }],
    ['threads off', { threads: false }],
    ['users off', { syncUsers: false }],
    ['auto-join on', { autoJoinChannels: true }],
    ['all channel types with auto-join', { channelTypes: ['public', 'private', 'im', 'mpim'], autoJoinChannels: true, fetchLastNDays: 0 }],
    ['private only', { channelTypes: ['private'], fetchLastNDays: 0 }],
  ];
  for (const [name, overrides] of combinations) {
    // Auto-join changes membership for later runs: those get a fresh workspace.
    const { workspace, slack, nowMs } = overrides.autoJoinChannels
      ? await startWorkspace(t, workspaceOptions)
      : await serveWorkspace(t, sharedWorkspace);
    const options = { ...defaults, ...overrides };
    const documents = await collect(
      slackSource({ token: testToken, slackApiUrl: slack.url, tierRates: scaledTierRates, now: nowMs, ...options } as SlackSourceOptions),
    );
    const truth = expectedIds(workspace, { ...options, now: workspace.now });
    t.strictSame(idsOf(documents), [...truth.all].sort(), name);
    t.equal(new Set(documents.map((document) => document._id)).size, documents.length, `${name}: no id twice`);
  }
});

t.test('include and exclude select channels by name or id, exclude winning', async (t) => {
  const { workspace, slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const memberChannels = workspace.channels.filter(
    (channel) => channel.botIsMember && !channel.info.is_private && !channel.info.is_im && !channel.info.is_mpim,
  );
  t.ok(memberChannels.length >= 3, 'the workspace has public channels the bot is in');
  const [first, second, third] = memberChannels as [(typeof memberChannels)[0], (typeof memberChannels)[0], (typeof memberChannels)[0]];
  const channels = [first.info.name as string, second.info.id as string, third.info.name as string];
  const excludeChannels = [third.info.id as string];
  const documents = await collect(
    slackSource({
      token: testToken,
      slackApiUrl: slack.url,
      tierRates: scaledTierRates,
      now: nowMs,
      ...defaults,
      channels,
      excludeChannels,
    }),
  );
  const truth = expectedIds(workspace, { ...defaults, now: workspace.now, channels, excludeChannels });
  t.strictSame(idsOf(documents), [...truth.all].sort());
  const channelIds = new Set(documents.filter((document) => document.type === 'channel').map((document) => document._id));
  t.strictSame([...channelIds].sort(), [first.info.id, second.info.id].sort(), 'only the included, not excluded channels');
});

t.test(
  'a thread_broadcast reply is exported once; the ordering guarantee: users, then channels, ' +
    'then per channel pages in ts order with each thread after its parent',
  async (t) => {
    const { workspace, slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
    const documents = await collect(
      slackSource({ token: testToken, slackApiUrl: slack.url, tierRates: scaledTierRates, now: nowMs, fetchLastNDays: 0 }),
    );
    const broadcasts = documents.filter((document) => document.type === 'message' && document.subtype === 'thread_broadcast');
    t.ok(broadcasts.length > 0, 'the sample has thread broadcasts');
    const ids = documents.map((document) => document._id);
    t.equal(new Set(ids).size, ids.length, 'no document id appears twice');
    const isReply = (document: AnyDocument): boolean =>
      document.type === 'message' &&
      document.thread_ts !== null &&
      document.thread_ts !== document.ts &&
      document.subtype !== 'thread_broadcast';
    t.ok(documents.some(isReply), 'replies were read');
    const types = documents.map((document) => document.type);
    t.ok(types.lastIndexOf('user') < types.indexOf('channel'), 'every user before any channel');
    t.ok(types.lastIndexOf('channel') < types.indexOf('message'), 'every channel before any message');

    const position = new Map(ids.map((id, index) => [id, index]));
    const byChannel = new Map<string, MessageDocument[]>();
    for (const document of documents)
      if (document.type === 'message') byChannel.set(document.channel_id, [...(byChannel.get(document.channel_id) ?? []), document]);
    for (const [channel, messages] of byChannel) {
      // A small workspace's channel is one history page: its top-level messages come in ts order.
      const topLevel = messages.filter((message) => !isReply(message)).map((message) => message.ts);
      t.strictSame(
        topLevel,
        [...topLevel].sort((left, right) => Number(left) - Number(right)),
        `channel ${channel}: the page is in ts order`,
      );
      const runs: string[] = [];
      for (const reply of messages.filter(isReply)) {
        const parentAt = position.get(`${channel}-${reply.thread_ts}`);
        if (parentAt !== undefined && parentAt > position.get(reply._id)!) t.fail(`reply ${reply._id} comes before its parent`);
        if (runs.at(-1) !== reply.thread_ts) runs.push(reply.thread_ts!);
      }
      t.equal(new Set(runs).size, runs.length, `channel ${channel}: each thread's replies come together`);
      const replies = messages.filter(isReply);
      for (const thread of new Set(runs)) {
        const tsList = replies.filter((reply) => reply.thread_ts === thread).map((reply) => reply.ts);
        if (tsList.join() !== [...tsList].sort((left, right) => Number(left) - Number(right)).join())
          t.fail(`thread ${thread}: replies out of ts order`);
      }
    }
    t.ok(workspace.channels.length > 0);
  },
);

t.test('pipeline(source, sink) returns stats and writes the NDJSON file atomically', async (t) => {
  const { slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const directory = await temporaryDirectory(t);
  const path = join(directory, 'out.ndjson.gz');
  const source = slackSource({ token: testToken, slackApiUrl: slack.url, tierRates: scaledTierRates, now: nowMs });
  const stats = await pipeline(source, ndjsonSink({ path }));
  const documents = await readNdjson(path);
  t.equal(documents.length, stats.sink.documents, 'every document written is in the gzip file');
  t.equal(
    Object.values(stats.documents).reduce((sum, count) => sum + count, 0),
    documents.length,
    'per-type counts add up',
  );
  t.ok((stats.source.api as { calls: number }).calls > 0, 'API calls counted');
  t.strictSame((await readdir(directory)).sort(), ['out.ndjson.gz'], 'no temporary file left behind');
  t.ok(stats.report?.complete, 'the source reports a complete run');
});

t.test('CLI export: ids equal the ground truth, enriched, and two runs give identical lines', async (t) => {
  const { workspace, slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const args = exportArgs(slack, '--no-sync-users', '--quiet');
  const first = await runCli([...args, '--out', join(directory, 'first.ndjson')], { env });
  t.equal(first.code, 0, first.stderr);
  // The same run in-process (main with captured io) must give the same lines as through bin/slack-etl.js.
  const second = await runCliInProcess([...args, '--out', join(directory, 'second.ndjson')], { env });
  t.equal(second.code, 0, second.stderr);
  const firstLines = (await readFile(join(directory, 'first.ndjson'), 'utf8')).split('\n').sort();
  const secondLines = (await readFile(join(directory, 'second.ndjson'), 'utf8')).split('\n').sort();
  t.strictSame(firstLines, secondLines, 'byte-identical line sets');
  const documents = await readNdjson(join(directory, 'first.ndjson'));
  const truth = expectedIds(workspace, { ...defaults, fetchLastNDays: 0, syncUsers: false, now: workspace.now });
  t.strictSame(idsOf(documents as Array<{ _id: string }>), [...truth.all].sort());
  t.notOk(
    documents.some((document) => document.type === 'user'),
    '--no-sync-users leaves user documents out',
  );
  t.ok(
    documents.every((document) => typeof document.content_hash === 'string'),
    'every document has a content_hash',
  );
  const mention = documents.find((document) => document.type === 'message' && /<@U/.test(String(document.text)));
  t.notOk(mention, 'known mentions are rewritten to names');
});

t.test('CLI export to stdout streams NDJSON and --help documents every option', async (t) => {
  const { slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const result = await runCli(['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--channels', 'general'], {
    env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) },
  });
  t.equal(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.ok(lines.length > 1 && lines.every((line) => JSON.parse(line)._id), 'stdout is NDJSON');
  t.match(result.stderr, /exported \d+ documents/, 'a summary on stderr');
  const help = await runCliInProcess(['export', '--help']);
  t.equal(help.code, 0);
  for (const flag of [
    '--out',
    '--token',
    '--slack-api-url',
    '--fetch-last-n-days',
    '--auto-join-channels',
    '--no-sync-users',
    '--no-threads',
    '--channel-types',
    '--channels',
    '--exclude-channels',
    '--rules',
    '--state',
    '--concurrency',
    '--tier-rates',
    '--quiet',
    '--log-format',
  ]) {
    t.match(help.stdout, flag, `help lists ${flag}`);
  }
});

t.test('a wrong token exits 2 within a second naming invalid_auth, and leaves no output file', async (t) => {
  const { slack } = await serveWorkspace(t, sharedWorkspace);
  const directory = await temporaryDirectory(t);
  const out = join(directory, 'never.ndjson');
  const result = await runCliInProcess(['export', '--slack-api-url', slack.url, '--out', out], {
    env: { SLACK_TOKEN: 'xoxb-wrong-token-123' },
  });
  t.equal(result.code, 2);
  t.match(result.stderr, /invalid_auth/);
  t.notMatch(result.stderr, /xoxb-wrong-token-123/, 'the token is never printed');
  t.equal(result.stderr.trim().split('\n').length, 1, 'one line');
  t.strictSame(slack.stats().callsByMethod, { 'auth.test': 1 }, 'it stopped after the one auth.test call');
  t.strictSame(await readdir(directory), [], 'no output and no temporary file');
});

t.test('usage errors exit 2 naming the flag', async (t) => {
  const unknown = await runCliInProcess(['export', '--bogus-flag']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /--bogus-flag/);
  const notNumber = await runCliInProcess(['export', '--fetch-last-n-days', 'ten'], { env: { SLACK_TOKEN: testToken } });
  t.equal(notNumber.code, 2);
  t.match(notNumber.stderr, /--fetch-last-n-days/);
  const noToken = await runCliInProcess(['export'], { env: { SLACK_TOKEN: '' } });
  t.equal(noToken.code, 2);
  t.match(noToken.stderr, /SLACK_TOKEN/);
  const unknownCommand = await runCliInProcess(['exprot']);
  t.equal(unknownCommand.code, 2);
  t.match(unknownCommand.stderr, /unknown command 'exprot'/);
});

t.test('an unreachable --slack-api-url fails naming the URL, never the token', async (t) => {
  const { slack } = await serveWorkspace(t, sharedWorkspace);
  const url = slack.url;
  await slack.close();
  const token = 'xoxb-secret-value-987';
  const result = await runCliInProcess(['export', '--slack-api-url', url, '--out', '-'], { env: { SLACK_TOKEN: token } });
  t.equal(result.code, 1, 'Slack unreachable is a failed run (exit 1), not a configuration error');
  t.match(result.stderr, url.replace(/\/$/, ''));
  t.notMatch(result.stderr, token);
  t.equal(result.stdout, '', 'nothing on stdout');
});

t.test('the demo command writes the sample workspace to an NDJSON file', async (t) => {
  const directory = await temporaryDirectory(t);
  const result = await runCliInProcess(['demo', '--out', 'demo.ndjson'], { cwd: directory });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /demo\.ndjson/);
  const documents = await readNdjson(join(directory, 'demo.ndjson'));
  const types = new Set(documents.map((document) => document.type));
  t.ok(types.has('user') && types.has('channel') && types.has('message'), 'users, channels and messages');
  t.ok((await stat(join(directory, 'demo.ndjson'))).size > 10_000, 'a real file');
});
