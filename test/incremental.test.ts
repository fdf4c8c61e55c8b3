// Incremental runs with --state: the second run emits exactly the new, changed and deleted documents for the fewest Slack calls; bad state
// files exit 2 untouched.

import t from 'tap';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { messageId } from '../lib/documents.js';
import { channelTypeOf, type FakeChannel, type SlackObject } from '../fixtures/slack-api/generator.js';
import { readState } from './helpers/state.js';
import { idsOf, readNdjson, scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

const windowDays = 180;
const activeThreadDays = 30;

type Calls = Record<string, number>;
const difference = (after: Calls, before: Calls): Calls => {
  const calls: Calls = {};
  for (const [method, count] of Object.entries(after)) if (count - (before[method] ?? 0) > 0) calls[method] = count - (before[method] ?? 0);
  return calls;
};

/** Top-level thread parents (reply_count > 0) of a channel's window: ts → "latest_reply/reply_count". */
function threadsOf(channel: FakeChannel, oldest: number): Map<string, string> {
  const threads = new Map<string, string>();
  for (const message of channel.messages) {
    if (Number(message.ts) < oldest || !(Number(message.reply_count ?? 0) > 0) || (message.thread_ts && message.thread_ts !== message.ts))
      continue;
    threads.set(message.ts as string, `${String(message.latest_reply)}/${String(message.reply_count)}`);
  }
  return threads;
}

t.test(
  'a second run emits exactly the new, edited and deleted documents, ' +
    'with one history call per channel and only the changed or active threads',
  async (t) => {
    const { workspace, slack, nowMs } = await startWorkspace(t);
    const directory = await temporaryDirectory(t);
    const statePath = join(directory, 'state.json');
    const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
    const args = [
      'export',
      '--slack-api-url',
      slack.url,
      '--tier-rates',
      scaledTierRatesFlag,
      '--fetch-last-n-days',
      String(windowDays),
      '--state',
      statePath,
      '--quiet',
    ];
    const oldest = workspace.now - windowDays * 86_400;
    const activeSince = workspace.now - activeThreadDays * 86_400;
    const readChannels = workspace.channels.filter((channel) => channel.botIsMember && channelTypeOf(channel.info) === 'public');

    const first = await runCliInProcess([...args, '--out', join(directory, 'first.ndjson')], { env });
    t.equal(first.code, 0, first.stderr);
    const firstCalls = slack.stats().callsByMethod;
    const firstDocuments = await readNdjson(join(directory, 'first.ndjson'));
    const state = readState(statePath);
    t.equal(state.format, 'slack-etl-state');
    t.equal(state.version, 2, 'a SQLite state (version 2)');
    t.equal((await stat(statePath)).mode & 0o777, 0o600, 'the state file is private (0600)');
    t.equal(state.team?.id, workspace.team.id, 'the state names its team');
    t.equal(state.run, null, 'no unfinished run recorded');
    t.equal(Object.keys(state.documents).length, firstDocuments.length, 'every written document is in the state');
    t.strictSame(
      await readdir(directory).then((names) => names.sort()),
      ['first.ndjson', 'state.json'],
      'no partial or temporary file left',
    );

    const threadsBefore = new Map(readChannels.map((channel) => [channel.info.id as string, threadsOf(channel, oldest)]));

    // Mutations: new messages in two channels, a late reply to an old thread, an edit, a deletion.
    const [general, other] = readChannels as [FakeChannel, FakeChannel];
    const newOne = workspace.postMessage(general.info.id, { text: 'first new message' });
    const newTwo = workspace.postMessage(other.info.id, { text: 'second new message' });
    const plainInWindow = (channel: FakeChannel): SlackObject[] =>
      channel.messages.filter((message) => Number(message.ts) >= oldest && !message.subtype && !message.reply_count && !message.thread_ts);
    const oldThreadChannel = readChannels.find((channel) =>
      channel.messages.some(
        (message) =>
          Number(message.ts) >= oldest &&
          message.thread_ts === message.ts &&
          Number(message.reply_count) > 0 &&
          Number(message.latest_reply) < activeSince,
      ),
    )!;
    const oldParent = oldThreadChannel.messages.find(
      (message) =>
        Number(message.ts) >= oldest &&
        message.thread_ts === message.ts &&
        Number(message.reply_count) > 0 &&
        Number(message.latest_reply) < activeSince,
    )!;
    const newestOfChannel = oldThreadChannel.messages.at(-1)!.ts as string;
    t.ok(Number(oldParent.ts) < Number(newestOfChannel), 'the replied-to parent is older than the newest message of its channel');
    const lateReply = workspace.postReply(oldThreadChannel.info.id, oldParent.ts, { text: 'a late reply' });
    const edited = plainInWindow(other)[3]!;
    workspace.editMessage(other.info.id, edited.ts, 'edited text');
    const deleted = plainInWindow(general)[5]!;
    workspace.deleteMessage(general.info.id, deleted.ts);

    // Threads the second run must re-read: new or moved ones, and those with a reply in the last 30 days.
    let expectedThreadReads = 0;
    for (const channel of readChannels) {
      const before = threadsBefore.get(channel.info.id as string)!;
      for (const [ts, summary] of threadsOf(channel, oldest)) {
        const latestReply = Number(summary.split('/')[0]);
        if (before.get(ts) !== summary || latestReply >= activeSince) expectedThreadReads++;
      }
    }
    const expectedHistoryCalls = readChannels.reduce(
      (sum, channel) => sum + Math.max(1, Math.ceil(channel.messages.filter((message) => Number(message.ts) >= oldest).length / 999)),
      0,
    );

    const second = await runCliInProcess([...args, '--out', join(directory, 'second.ndjson')], { env });
    t.equal(second.code, 0, second.stderr);
    const secondCalls = difference(slack.stats().callsByMethod, firstCalls);
    const secondDocuments = await readNdjson(join(directory, 'second.ndjson'));
    const expected = [
      messageId(general.info.id, newOne.ts),
      messageId(other.info.id, newTwo.ts),
      messageId(oldThreadChannel.info.id, lateReply.ts),
      messageId(oldThreadChannel.info.id, oldParent.ts),
      messageId(other.info.id, edited.ts),
      messageId(general.info.id, deleted.ts),
    ].sort();
    for (const document of secondDocuments)
      if (!expected.includes(document._id))
        t.comment(JSON.stringify(document), JSON.stringify(firstDocuments.find((old) => old._id === document._id)));
    t.strictSame(idsOf(secondDocuments as Array<{ _id: string }>), expected, 'exactly the new, changed and deleted documents');
    const byId = new Map(secondDocuments.map((document) => [document._id, document]));
    t.match(byId.get(messageId(general.info.id, deleted.ts)), {
      type: 'tombstone',
      deleted_type: 'message',
      channel_id: general.info.id,
      ts: deleted.ts,
    });
    t.match(byId.get(messageId(oldThreadChannel.info.id, oldParent.ts)), {
      type: 'message',
      reply_count: oldParent.reply_count,
      latest_reply: lateReply.ts,
    });
    t.match(byId.get(messageId(other.info.id, edited.ts)), { text: 'edited text', edited_ts: edited.edited.ts });
    t.match(byId.get(messageId(oldThreadChannel.info.id, lateReply.ts)), { thread_ts: oldParent.ts, text: 'a late reply' });

    t.equal(secondCalls['conversations.history'], expectedHistoryCalls, 'history: one call per channel (per 999 messages)');
    t.equal(expectedHistoryCalls, readChannels.length, 'every small-workspace channel fits one history page');
    t.equal(secondCalls['conversations.replies'] ?? 0, expectedThreadReads, 'replies: only the changed and recently active threads');
    t.ok(expectedThreadReads < (firstCalls['conversations.replies'] ?? 0), 'fewer thread reads than the full run');
    t.ok((secondCalls['users.info'] ?? 0) <= (firstCalls['users.info'] ?? 0), 'no more users.info than the first run');
    t.comment(`first run calls ${JSON.stringify(firstCalls)}; second run calls ${JSON.stringify(secondCalls)}`);

    const afterSecond = slack.stats().callsByMethod;
    const third = await runCliInProcess([...args, '--out', join(directory, 'third.ndjson')], { env });
    t.equal(third.code, 0, third.stderr);
    t.strictSame(await readNdjson(join(directory, 'third.ndjson')), [], 'a run without changes emits nothing');
    const thirdCalls = difference(slack.stats().callsByMethod, afterSecond);
    t.ok((thirdCalls['conversations.replies'] ?? 0) <= expectedThreadReads, 'no thread read beyond the active ones');
    const finalState = readState(statePath);
    t.notOk(messageId(general.info.id, deleted.ts) in finalState.documents, 'the deleted message left the state');
    t.ok(messageId(oldThreadChannel.info.id, lateReply.ts) in finalState.documents, 'the late reply is in the state');
  },
);

t.test('a corrupt, foreign or unknown-version state file exits 2 naming the file and is left byte for byte', async (t) => {
  const { slack, nowMs } = await startWorkspace(t);
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const args = ['export', '--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--channels', 'general', '--quiet'];
  const goodPath = join(directory, 'good.json');
  const made = await runCliInProcess([...args, '--state', goodPath, '--out', join(directory, 'made.ndjson')], { env });
  t.equal(made.code, 0, made.stderr);
  // Version-1 (JSON) files are still read (and migrated): these cases are written in that format.
  const good = {
    format: 'slack-etl-state',
    version: 1,
    team: readState(goodPath).team,
    savedAt: new Date().toISOString(),
    documents: {},
    replies: {},
    threads: {},
    channels: {},
    run: null,
  };

  const cases: Array<[string, string, RegExp]> = [
    ['garbage', 'this is { not json', /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['another format', JSON.stringify({ format: 'something-else', version: 1 }), /not a slack-etl state file/],
    ['a future version', JSON.stringify({ ...good, version: 99 }), /version 99/],
    ['a missing map', JSON.stringify({ ...good, documents: undefined }), /"documents"/],
    [
      'another team',
      JSON.stringify({ ...good, team: { id: 'T0OTHER', url: 'https://other.slack.com/' } }),
      /belongs to Slack team T0OTHER/,
    ],
  ];
  for (const [name, text, message] of cases) {
    const path = join(directory, `${name.replace(/ /g, '-')}.json`);
    await writeFile(path, text);
    const out = join(directory, `${name.replace(/ /g, '-')}.ndjson`);
    const historyBefore = slack.stats().callsByMethod['conversations.history'] ?? 0;
    const result = await runCliInProcess([...args, '--state', path, '--out', out], { env });
    t.equal(result.code, 2, `${name}: exit 2`);
    t.match(result.stderr, message, `${name}: says what is wrong`);
    t.ok(result.stderr.includes(path), `${name}: names the file`);
    t.equal(await readFile(path, 'utf8'), text, `${name}: the file is unchanged`);
    t.equal(slack.stats().callsByMethod['conversations.history'] ?? 0, historyBefore, `${name}: no history read`);
    t.notOk(
      (await readdir(directory)).some(
        (file) => file.startsWith(`${name.replace(/ /g, '-')}.ndjson`) || file.startsWith(`.${name.replace(/ /g, '-')}.ndjson`),
      ),
      `${name}: no output written`,
    );
  }
});
