// `sync --delete-stale` never deletes what Slack still has (later windows, --no-threads), deletes what Slack deleted, and removes what the
// rules exclude.

import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken, type TestContext } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const DAY_MS = 86_400_000;

async function setup(t: TestContext) {
  const { workspace, slack, nowMs } = await startWorkspace(t);
  const elasticsearch = await startFakeElasticsearch();
  t.teardown(() => elasticsearch.close());
  const directory = await temporaryDirectory(t);
  const sync = (at: number, ...extra: string[]) =>
    runCliInProcess(
      [
        'sync',
        '--index',
        'slack',
        '--dead-letter',
        join(directory, 'dead.ndjson'),
        '--slack-api-url',
        slack.url,
        '--tier-rates',
        scaledTierRatesFlag,
        ...extra,
      ],
      {
        env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(at), ELASTICSEARCH_URL: elasticsearch.url },
      },
    );
  const ids = () => [...elasticsearch.indices.get('slack')!.documents.keys()].sort();
  const messages = () => [...elasticsearch.indices.get('slack')!.documents.values()].filter((document) => document.type === 'message');
  return { workspace, slack, nowMs, elasticsearch, directory, sync, ids, messages };
}

t.test('run again 15 and 40 days later, and with --no-threads: nothing Slack still has is deleted', async (t) => {
  const { nowMs, sync, ids, messages } = await setup(t);
  const first = await sync(nowMs);
  t.equal(first.code, 0, first.stderr);
  const before = ids();
  t.ok(before.length > 100, 'the first sync indexed the workspace');

  for (const days of [15, 40]) {
    const at = nowMs + days * DAY_MS;
    const windowStart = (at - 180 * DAY_MS) / 1000;
    const orphaned = messages().filter(
      (message) =>
        message.thread_ts &&
        message.thread_ts !== message.ts &&
        Number(message.thread_ts) < windowStart &&
        Number(message.ts) >= windowStart,
    );
    t.ok(orphaned.length > 0, `${days} days later some indexed replies are in the window while their parent is not (${orphaned.length})`);
    const later = await sync(at, '--delete-stale');
    t.equal(later.code, 0, later.stderr);
    t.strictSame(ids(), before, `${days} days later: every document is still indexed`);
    t.match(later.stderr, /deleted 0 /, 'the summary says nothing was deleted');
  }

  const replies = messages().filter((message) => message.thread_ts && message.thread_ts !== message.ts).length;
  t.ok(replies > 0, 'the index holds replies');
  const noThreads = await sync(nowMs, '--no-threads', '--delete-stale');
  t.equal(noThreads.code, 0, noThreads.stderr);
  t.strictSame(ids(), before, '--no-threads --delete-stale keeps every reply');
});

t.test(
  'a message and a reply deleted in Slack are deleted; messages the rules now exclude are removed and reported as such; nothing else',
  async (t) => {
    const { workspace, nowMs, sync, ids, messages, directory } = await setup(t);
    const first = await sync(nowMs);
    t.equal(first.code, 0, first.stderr);
    const before = ids();
    const windowStart = workspace.now - 180 * 86_400;
    const channel = workspace.channels.find(
      (candidate) =>
        candidate.botIsMember &&
        !candidate.info.is_private &&
        !candidate.info.is_archived &&
        [...candidate.replies.entries()].some(([ts, replies]) => replies.length > 1 && Number(ts) >= windowStart),
    )!;
    t.ok(channel, 'a public channel with a thread in the window');
    const channelId = String(channel.info.id);
    const plain = channel.messages.find((message) => Number(message.ts) >= windowStart && !message.thread_ts && !message.subtype)!;
    const [, replies] = [...channel.replies.entries()].find(([ts, list]) => list.length > 1 && Number(ts) >= windowStart)!;
    const reply = replies.find((candidate) => candidate.subtype !== 'thread_broadcast')!;
    const goneIds = [`${channelId}-${String(plain.ts)}`, `${channelId}-${String(reply.ts)}`];
    t.ok(
      goneIds.every((id) => before.includes(id)),
      'the message and the reply were indexed',
    );

    // The busiest author among the rest (not an author of the deleted two, whose deletion must count as "gone"), excluded by a rule.
    const goneAuthors = new Set(
      messages()
        .filter((message) => goneIds.includes(String(message.id)))
        .map((message) => String(message.author)),
    );
    const authorCounts = new Map<string, number>();
    for (const message of messages())
      if (!goneIds.includes(String(message.id)) && !goneAuthors.has(String(message.author)))
        authorCounts.set(String(message.author), (authorCounts.get(String(message.author)) ?? 0) + 1);
    const [author] = [...authorCounts.entries()].sort((left, right) => right[1] - left[1])[0]!;
    const excludedIds = messages()
      .filter((message) => message.author === author && !goneIds.includes(String(message.id)))
      .map((message) => String(message.id));
    t.ok(excludedIds.length > 0);
    const rulesPath = join(directory, 'rules.json');
    await writeFile(
      rulesPath,
      JSON.stringify([{ id: 'no-author', order: 1, policy: 'exclude', field: 'author', rule: 'equals', value: author }]),
    );

    workspace.deleteMessage(channelId, String(plain.ts));
    workspace.deleteMessage(channelId, String(reply.ts));
    const second = await sync(nowMs, '--rules', rulesPath, '--delete-stale');
    t.equal(second.code, 0, second.stderr);
    t.strictSame(
      ids(),
      before.filter((id) => !goneIds.includes(id) && !excludedIds.includes(id)),
      'exactly those are gone',
    );
    t.match(
      second.stderr,
      new RegExp(`gone from Slack 2 · excluded by rules ${excludedIds.length.toLocaleString('en-US')}`),
      'each counted under its reason',
    );
  },
);
