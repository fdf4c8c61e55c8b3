// The fake's lazily computed channel (for million-message benchmarks) answers exactly as the same channel held in memory:
// history pages with oldest/latest/inclusive/cursor, and conversations.replies for a parent, a reply, a plain message.

import t from 'tap';
import { generateWorkspace, type FakeChannel, type SlackObject } from '../fixtures/slack-api/generator.js';
import { addLazyChannel } from '../fixtures/slack-api/lazy-channel.js';
import { startFakeSlack } from '../fixtures/slack-api/server.js';

const token = 'xoxb-test-token';
const count = 3_000;
const lazyWorkspace = generateWorkspace({ size: 'small', seed: 3, channelCount: 8 });
const lazy = addLazyChannel(lazyWorkspace, { messageCount: count, seed: 5, threadShare: 0.05 });

// The same channel, every message made up front into the arrays the fake serves small channels from.
const heldWorkspace = generateWorkspace({ size: 'small', seed: 3, channelCount: 8 });
const held: FakeChannel = { info: { ...lazy.info }, botIsMember: true, messages: [], replies: new Map() };
for (let index = 0; index < count; index++) {
  const message = lazy.lazy.message(index);
  held.messages.push(message);
  if (message.reply_count) held.replies.set(message.ts, lazy.lazy.replies(index));
}
heldWorkspace.channels.push(held);

const servers = await Promise.all([lazyWorkspace, heldWorkspace].map((workspace) => startFakeSlack({ workspace, rateLimits: false })));
t.teardown(() => Promise.all(servers.map((server) => server.close())));

async function call(url: string, method: string, params: Record<string, string>): Promise<SlackObject> {
  const response = await fetch(`${url}${method}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ channel: String(lazy.info.id), ...params }),
  });
  return (await response.json()) as SlackObject;
}

const both = (method: string, params: Record<string, string>) => Promise.all(servers.map((server) => call(server.url, method, params)));

t.test('history: every page and bound gives the same answer as the channel held in memory', async (t) => {
  const ts = (index: number): string => String(lazy.lazy.message(index).ts);
  const cases: Record<string, string>[] = [
    {},
    { limit: '200' },
    { oldest: ts(100), latest: ts(700), limit: '999' },
    { oldest: ts(100), latest: ts(700), inclusive: 'true', limit: '150' },
    { oldest: ts(count - 1), inclusive: 'true' },
    { latest: ts(0) },
    { oldest: `${ts(50).split('.')[0]}.0000001` },
  ];
  for (const params of cases) {
    const [fromLazy, fromHeld] = await both('conversations.history', params);
    t.strictSame(fromLazy, fromHeld, JSON.stringify(params));
  }
  // Walk the whole window by cursor: every message once, newest first.
  const seen: string[] = [];
  let cursor = '';
  do {
    const [page, same] = await both('conversations.history', { limit: '333', cursor });
    t.strictSame(page, same);
    for (const message of page!.messages as SlackObject[]) seen.push(String(message.ts));
    cursor = String(page!.response_metadata.next_cursor);
  } while (cursor !== '');
  t.equal(seen.length, count, 'every top-level message');
  t.equal(new Set(seen).size, count, 'none twice');
  t.strictSame(seen, [...seen].sort().reverse(), 'newest first');
});

t.test('replies: a thread from its parent or any reply, paged; a plain message is a thread of one', async (t) => {
  const parentIndex = Array.from({ length: count }, (_, index) => index).find((index) => lazy.lazy.replyCount(index) >= 3)!;
  const parent = lazy.lazy.message(parentIndex);
  const replies = lazy.lazy.replies(parentIndex);
  t.equal(parent.reply_count, replies.length);
  t.equal(parent.latest_reply, replies.at(-1)!.ts);
  const plain = lazy.lazy.message(Array.from({ length: count }, (_, index) => index).find((index) => lazy.lazy.replyCount(index) === 0)!);
  const threadCases: Record<string, string>[] = [
    { ts: String(parent.ts) },
    { ts: String(replies[1]!.ts) },
    { ts: String(parent.ts), limit: '2' },
    { ts: String(parent.ts), oldest: String(replies[0]!.ts), inclusive: 'false' },
    { ts: String(plain.ts) },
    { ts: '1000000000.000001' },
  ];
  for (const params of threadCases) {
    const [fromLazy, fromHeld] = await both('conversations.replies', params);
    t.strictSame(fromLazy, fromHeld, JSON.stringify(params));
  }
  const [whole] = await both('conversations.replies', { ts: String(replies[0]!.ts) });
  t.strictSame(
    (whole!.messages as SlackObject[]).map((message) => message.ts),
    [parent.ts, ...replies.map((reply) => reply.ts)],
  );
  const [missing] = await both('conversations.replies', { ts: '1000000000.000001' });
  t.equal(missing!.error, 'thread_not_found');
});

t.test('the same seed and size always make the same channel', async (t) => {
  const again = addLazyChannel(generateWorkspace({ size: 'small', seed: 3, channelCount: 8 }), {
    messageCount: count,
    seed: 5,
    threadShare: 0.05,
  });
  for (const index of [0, 1, 1234, count - 1]) t.strictSame(again.lazy.message(index), lazy.lazy.message(index));
  t.not(JSON.stringify(lazy.lazy.message(1)), JSON.stringify(lazy.lazy.message(2)), 'messages differ from one another');
});
