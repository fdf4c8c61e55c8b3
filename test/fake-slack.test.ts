// Proves the fake Slack behaves like Slack for the real @slack/web-api client: data variety, pagination, errors, rate limits, faults,
// mutations, ground truth.

import t from 'tap';
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type WebClientOptions,
} from '@slack/web-api';
import { channelTypeOf, generateWorkspace, type SlackObject, type Workspace } from '../fixtures/slack-api/generator.js';
import { expectedIds, type TruthOptions } from '../fixtures/slack-api/ground-truth.js';
import { startFakeSlack, type FakeSlackOptions, type FakeSlackServer } from '../fixtures/slack-api/server.js';

const token = 'xoxb-test-token';
const now = 1_760_000_000;
const DAY = 86_400;

// Mutations and joins change a workspace, so each test that makes them generates its own.
const shared = generateWorkspace({ seed: 1, size: 'small', now });

async function serve(
  t: { teardown(fn: () => unknown): void },
  workspace: Workspace,
  options: Partial<Omit<FakeSlackOptions, 'workspace'>> = {},
): Promise<FakeSlackServer> {
  const server = await startFakeSlack({ rateLimits: false, ...options, workspace });
  t.teardown(() => server.close());
  return server;
}

/** `withToken: null` makes a client that sends no token at all. */
function clientFor(server: FakeSlackServer, options: WebClientOptions = {}, withToken: string | null = token): WebClient {
  return new WebClient(withToken ?? undefined, {
    slackApiUrl: server.url,
    retryConfig: { retries: 0 },
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
    ...options,
  });
}

/** Pages of a listing method as plain Slack objects. */
const pagesOf = (client: WebClient, method: string, options: Record<string, unknown>): AsyncIterable<SlackObject> =>
  client.paginate(method, options) as AsyncIterable<SlackObject>;

/** Slack's `error` code of a call that must fail with `ok: false`. */
async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof WebAPIPlatformError) return String(error.data.error);
    throw error;
  }
  throw new Error('the call succeeded but an ok:false answer was expected');
}

const channelNamed = (workspace: Workspace, name: string) => {
  const channel = workspace.channels.find((candidate) => candidate.info.name === name);
  if (!channel) throw new Error(`no channel ${name}`);
  return channel;
};
const channelOfType = (workspace: Workspace, type: string, botIsMember: boolean) => {
  const channel = workspace.channels.find((candidate) => channelTypeOf(candidate.info) === type && candidate.botIsMember === botIsMember);
  if (!channel) throw new Error(`no ${type} channel with botIsMember=${botIsMember}`);
  return channel;
};
const everyMessage = (workspace: Workspace): SlackObject[] =>
  workspace.channels.flatMap((channel) => [...channel.messages, ...[...channel.replies.values()].flat()]);
const oldThreadWithRecentReplies = (workspace: Workspace) => {
  const general = channelNamed(workspace, 'general');
  const parent = general.messages.find(
    (message) =>
      message.thread_ts === message.ts &&
      Number(message.ts) < workspace.now - 180 * DAY &&
      message.reply_count >= 16 &&
      Number(message.latest_reply) > workspace.now - 30 * DAY,
  );
  if (!parent) throw new Error('no old thread with recent replies');
  return { channel: general, parent, replies: general.replies.get(parent.ts) ?? [] };
};

t.test('the generator is deterministic for a seed, size and now, and differs across seeds', async (t) => {
  const serialize = (workspace: Workspace): string =>
    JSON.stringify({
      team: workspace.team,
      bot: workspace.bot,
      users: workspace.users,
      externalUsers: workspace.externalUsers,
      connectUsers: workspace.connectUsers,
      bots: workspace.bots,
      unknownUserIds: workspace.unknownUserIds,
      channels: workspace.channels.map((channel) => ({ ...channel, replies: [...channel.replies] })),
    });
  const again = generateWorkspace({ seed: 1, size: 'small', now });
  t.equal(serialize(again), serialize(shared), 'same seed, size and now give an identical workspace');
  t.not(serialize(generateWorkspace({ seed: 2, size: 'small', now })), serialize(shared), 'another seed gives another workspace');
  t.equal(shared.users.length, 40, 'small has 40 users.list members');
  t.equal(shared.channels.length, 10, 'small has 10 channels');
  t.equal(new Set(everyMessage(shared)).size, 2000, 'small has 2,000 top-level and reply messages');
  t.equal(generateWorkspace({ userCount: 20, channelCount: 8, messageCount: 100 }).now % DAY, 0, 'now defaults to the start of a UTC day');
});

t.test('a small workspace holds every variety of data the pipeline must handle', async (t) => {
  const workspace = shared;
  const messages = everyMessage(workspace);
  const texts = messages.map((message) => String(message.text ?? ''));
  const someText = (pattern: RegExp): boolean => texts.some((text) => pattern.test(text));
  const userIds = new Set(workspace.users.map((user) => user.id));

  t.ok(workspace.team.url === `https://${workspace.team.domain}.slack.com/`, 'team url is https://<domain>.slack.com/');
  for (const channel of workspace.channels) {
    const seen = new Set<string>();
    for (const message of [...channel.messages, ...[...channel.replies.values()].flat()]) {
      if (!/^\d{10}\.\d{6}$/.test(message.ts)) t.fail(`bad ts ${message.ts}`);
      if (Number(message.ts) > workspace.now) t.fail(`ts ${message.ts} after now`);
      seen.add(message.ts);
    }
    const sorted = channel.messages.map((message) => message.ts as string);
    t.same(sorted, [...sorted].sort(), `history of ${channel.info.id} ascends`);
    t.equal(seen.size, new Set([...channel.messages, ...[...channel.replies.values()].flat()]).size, `ts unique in ${channel.info.id}`);
  }
  const ages = messages.map((message) => workspace.now - Number(message.ts));
  t.ok(ages.filter((age) => age > 180 * DAY).length > messages.length / 2, 'most messages are older than 180 days');
  t.ok(
    ages.some((age) => age > 600 * DAY),
    'history reaches back about two years',
  );
  t.ok(ages.filter((age) => age >= DAY && age <= 30 * DAY).length > 20, 'some messages are 1–30 days old');

  const { parent, replies } = oldThreadWithRecentReplies(workspace);
  t.equal(parent.reply_count, replies.length, 'the parent counts its replies');
  t.equal(parent.latest_reply, replies[replies.length - 1]?.ts, 'latest_reply is the last reply');
  t.same(parent.reply_users, [...new Set(replies.map((reply) => reply.user))], 'reply_users lists the repliers');
  const broadcast = replies.find((reply) => reply.subtype === 'thread_broadcast');
  t.ok(broadcast && channelNamed(workspace, 'general').messages.includes(broadcast), 'a thread_broadcast is in both replies and history');

  t.ok(
    messages.some((message) => message.edited?.user && message.edited?.ts > message.ts),
    'edited messages carry edited {user, ts}',
  );
  t.ok(
    messages.some(
      (message) =>
        message.subtype === 'bot_message' && message.bot_id && message.username && message.bot_profile?.id && message.bot_profile?.name,
    ),
    'bot_message with bot_id, username and bot_profile',
  );
  const botUserIds = new Set(workspace.users.filter((user) => user.is_bot).map((user) => user.id));
  t.ok(
    messages.some((message) => botUserIds.has(message.user) && !message.subtype),
    'messages posted by bot users',
  );
  t.ok(
    messages.some((message) => message.subtype === 'channel_join'),
    'channel_join',
  );
  t.ok(
    messages.some((message) => message.subtype === 'channel_leave'),
    'channel_leave',
  );
  const file = messages.find((message) => message.files?.length)?.files[0];
  t.ok(file, 'messages with files');
  t.same(
    Object.keys(file ?? {})
      .filter((key) => ['id', 'name', 'title', 'mimetype', 'filetype', 'size', 'url_private', 'permalink'].includes(key))
      .sort(),
    ['filetype', 'id', 'mimetype', 'name', 'permalink', 'size', 'title', 'url_private'],
    'files carry the metadata fields',
  );
  const attachment = messages.find((message) => message.attachments?.length)?.attachments[0];
  t.ok(
    attachment?.fallback && attachment?.text && attachment?.title && attachment?.title_link,
    'attachments with fallback, text, title, title_link',
  );
  const reaction = messages.find((message) => message.reactions?.length)?.reactions[0];
  t.ok(reaction?.name && reaction?.count === reaction?.users?.length, 'reactions with name, count and users');
  t.ok(
    messages.some((message) => message.text === '' && message.files?.length),
    'a file-only message with empty text',
  );

  const mentioned = texts.flatMap((text) => [...text.matchAll(/<@([UW][A-Z0-9]+)(\|[^>]*)?>/g)]);
  t.ok(
    mentioned.some((match) => userIds.has(match[1]) && !match[2]),
    'plain mentions of known users',
  );
  t.ok(
    mentioned.some((match) => userIds.has(match[1]) && match[2]),
    'labelled mentions of known users',
  );
  t.ok(
    mentioned.some((match) => workspace.externalUsers.some((user) => user.id === match[1])),
    'mentions of external users',
  );
  t.ok(
    mentioned.some((match) => workspace.unknownUserIds.includes(match[1] as string)),
    'mentions of unknown user ids',
  );
  t.ok(someText(/<#C[A-Z0-9]+\|[^>]+>/), 'labelled channel references');
  t.ok(someText(/<#C[A-Z0-9]+>/), 'bare channel references');
  t.ok(someText(/<https:\/\/[^|>]+\|[^>]+>/), 'labelled links');
  t.ok(someText(/<https:\/\/[^|>]+>/), 'bare links');
  t.ok(someText(/<!here>/) && someText(/<!channel>/), '<!here> and <!channel>');
  t.ok(someText(/&lt;/) && someText(/&gt;/) && someText(/&amp;/), 'escaped &lt; &gt; &amp;');
  t.ok(someText(/\p{Extended_Pictographic}/u) && someText(/[À-ɏ]/) && someText(/\p{Script=Han}/u), 'emoji, accents and CJK text');

  const kinds = workspace.channels.map(
    (channel) => `${channelTypeOf(channel.info)}:${channel.botIsMember}:${Boolean(channel.info.is_archived)}`,
  );
  for (const kind of [
    'public:true:false',
    'public:false:false',
    'public:false:true',
    'private:true:false',
    'private:false:false',
    'im:true:false',
    'mpim:true:false',
  ]) {
    t.ok(kinds.includes(kind), `a channel of kind ${kind}`);
  }
  t.ok(
    workspace.channels.every((channel) => /^[CD][A-Z0-9]+$/.test(channel.info.id)),
    'channel ids start with C, ims with D',
  );
  t.ok(
    workspace.channels.some((channel) => channel.info.topic?.value && userIds.has(channel.info.topic.creator)),
    'topics set by users',
  );
  t.ok(
    workspace.channels.some((channel) => channel.info.purpose?.value && userIds.has(channel.info.purpose.creator)),
    'purposes set by users',
  );
  t.ok(
    workspace.users.some((user) => user.deleted),
    'deleted users',
  );
  t.ok(
    workspace.users.some((user) => user.is_bot && user.profile?.bot_id?.startsWith('B')),
    'bot users with B… bot ids',
  );
  t.ok(
    workspace.users.some((user) => user.id === workspace.bot.userId && user.is_bot),
    'the bot itself is a member',
  );
  t.ok(
    workspace.users.some((user) => !user.profile.display_name_normalized && !user.profile.real_name_normalized && user.real_name),
    'users falling back to real_name',
  );
  t.ok(
    workspace.users.some((user) => !user.profile.display_name_normalized && !user.profile.real_name_normalized && !user.real_name),
    'users falling back to name',
  );
  t.ok(
    workspace.users.every((user) => /^U[A-Z0-9]+$/.test(user.id)),
    'user ids start with U',
  );
});

t.test('auth.test, users.info and every error code Slack answers with ok:false', async (t) => {
  const workspace = generateWorkspace({ seed: 1, size: 'small', now });
  const server = await serve(t, workspace, {
    tokens: { [token]: { scopes: ['channels:read', 'channels:history', 'users:read'] }, 'xoxb-no-users': { scopes: ['channels:read'] } },
  });
  const client = clientFor(server);

  const auth = await client.auth.test();
  t.match(auth, {
    ok: true,
    url: workspace.team.url,
    team: workspace.team.name,
    team_id: workspace.team.id,
    user_id: workspace.bot.userId,
    bot_id: workspace.bot.botId,
  });
  t.same(
    auth.response_metadata?.scopes,
    ['channels:read', 'channels:history', 'users:read'],
    'x-oauth-scopes header lists the token scopes',
  );
  t.equal(await slackError(clientFor(server, {}, null).auth.test()), 'not_authed', 'no token → not_authed');
  t.equal(await slackError(clientFor(server, {}, 'xoxb-wrong').auth.test()), 'invalid_auth', 'unknown token → invalid_auth');
  t.equal(await slackError(client.apiCall('chat.teleport', {})), 'unknown_method');

  const noUsers = clientFor(server, {}, 'xoxb-no-users');
  try {
    await noUsers.users.list({});
    t.fail('users.list without users:read must fail');
  } catch (error) {
    t.ok(error instanceof WebAPIPlatformError);
    t.match((error as WebAPIPlatformError).data, { error: 'missing_scope', needed: 'users:read', provided: 'channels:read' });
  }
  t.equal(
    await slackError(client.conversations.list({ types: 'public_channel,private_channel' })),
    'missing_scope',
    'listing private channels needs groups:read',
  );
  const privateWithBot = channelOfType(workspace, 'private', true);
  t.equal(
    await slackError(client.conversations.history({ channel: privateWithBot.info.id })),
    'missing_scope',
    'private history needs groups:history',
  );

  const external = workspace.externalUsers[0] as SlackObject;
  t.equal((await client.users.info({ user: external.id })).user?.id, external.id, 'users.info resolves external users');
  t.equal((await client.users.info({ user: workspace.users[3]?.id })).user?.id, workspace.users[3]?.id, 'users.info resolves members');
  t.equal(await slackError(client.users.info({ user: workspace.unknownUserIds[0] as string })), 'user_not_found');

  const general = channelNamed(workspace, 'general');
  const engineering = channelNamed(workspace, 'engineering');
  const hidden = channelOfType(workspace, 'private', false);
  t.equal(await slackError(client.conversations.history({ channel: 'C0NOTHERE00' })), 'channel_not_found');
  t.equal(
    await slackError(client.conversations.history({ channel: hidden.info.id })),
    'channel_not_found',
    'a private channel without the bot does not exist for it',
  );
  t.equal(await slackError(client.conversations.history({ channel: engineering.info.id })), 'not_in_channel');
  t.equal(await slackError(client.conversations.replies({ channel: general.info.id, ts: '1234567890.123456' })), 'thread_not_found');
  t.equal(await slackError(client.conversations.history({ channel: general.info.id, cursor: 'not-a-cursor' })), 'invalid_cursor');
  t.equal(await slackError(client.users.list({ cursor: Buffer.from('user:U0NOBODY').toString('base64') })), 'invalid_cursor');
  t.equal(await slackError(client.conversations.history({ channel: general.info.id, oldest: 'yesterday' })), 'invalid_ts_oldest');
});

t.test('conversations.join: success makes the bot a member, and Slack refusals', async (t) => {
  const workspace = generateWorkspace({ seed: 1, size: 'small', now });
  const server = await serve(t, workspace);
  const client = clientFor(server);
  const engineering = channelNamed(workspace, 'engineering');
  const archived = channelNamed(workspace, 'old-project');
  const general = channelNamed(workspace, 'general');

  const joined = await client.conversations.join({ channel: engineering.info.id });
  t.match(joined, { ok: true, channel: { id: engineering.info.id, is_member: true } });
  t.notOk(joined.warning, 'a first join has no warning');
  t.ok(engineering.botIsMember, 'the workspace now has the bot in the channel');
  t.ok((await client.conversations.history({ channel: engineering.info.id })).messages?.length, 'history works after joining');
  const again = await client.conversations.join({ channel: general.info.id });
  t.equal(again.warning, 'already_in_channel');
  t.same(again.response_metadata?.warnings, ['already_in_channel']);
  t.equal(await slackError(client.conversations.join({ channel: archived.info.id })), 'is_archived');
  t.equal(
    await slackError(client.conversations.join({ channel: channelOfType(workspace, 'private', true).info.id })),
    'method_not_supported_for_channel_type',
  );
  t.equal(
    await slackError(client.conversations.join({ channel: channelOfType(workspace, 'im', true).info.id })),
    'method_not_supported_for_channel_type',
  );
  t.equal(
    await slackError(client.conversations.join({ channel: channelOfType(workspace, 'private', false).info.id })),
    'channel_not_found',
  );
  t.equal(await slackError(client.conversations.join({ channel: 'C0NOTHERE00' })), 'channel_not_found');
});

t.test('listing methods paginate with cursors and cap page sizes as Slack does', async (t) => {
  const wide = generateWorkspace({ seed: 3, now, userCount: 1_100, channelCount: 1_005, messageCount: 1_005 });
  const deep = generateWorkspace({ seed: 4, now, channelCount: 8, messageCount: 6_000 });
  const wideServer = await serve(t, wide);
  const deepServer = await serve(t, deep);
  const wideClient = clientFor(wideServer);
  const deepClient = clientFor(deepServer);

  const capped = await wideClient.users.list({ limit: 5_000 });
  t.equal(capped.members?.length, 1_000, 'users.list caps a page at 1000');
  t.ok(capped.response_metadata?.next_cursor, 'with a cursor to the rest');
  t.equal((await wideClient.users.list({})).members?.length, 100, 'users.list defaults to 100');
  const userIds: string[] = [];
  let pages = 0;
  for await (const page of pagesOf(wideClient, 'users.list', { limit: 300 })) {
    pages += 1;
    for (const member of (page.members ?? []) as SlackObject[]) userIds.push(member.id);
  }
  t.equal(pages, 4, 'four pages of 300 for 1,100 users');
  t.same(
    userIds,
    wide.users.map((user) => user.id),
    'pages join up to users.list in order, without gaps or repeats',
  );

  const allTypes = 'public_channel,private_channel,im,mpim';
  const bigPage = await wideClient.conversations.list({ types: allTypes, limit: 5_000 });
  t.ok(bigPage.response_metadata?.next_cursor, 'conversations.list treats limit ≥ 1000 as 999: 1,005 channels need a second page');
  t.ok((bigPage.channels?.length ?? 0) <= 999);
  const visible = wide.channels
    .filter((channel) => channelTypeOf(channel.info) === 'public' || channel.botIsMember)
    .map((channel) => channel.info.id);
  const listed: string[] = [];
  let shortPages = 0;
  for await (const page of pagesOf(wideClient, 'conversations.list', { types: allTypes, limit: 10 })) {
    const channels = (page.channels ?? []) as SlackObject[];
    if (channels.length < 10 && page.response_metadata?.next_cursor) shortPages += 1;
    for (const channel of channels) {
      listed.push(channel.id);
      if (!channel.is_im && channel.is_member !== wide.channels.find((candidate) => candidate.info.id === channel.id)?.botIsMember) {
        t.fail(`is_member of ${channel.id} does not reflect membership`);
      }
    }
  }
  t.same(listed, visible, 'all visible channels, private/im/mpim only with the bot in them');
  t.ok(shortPages > 0, 'filters apply after the virtual page, so some pages come back short');
  const publicOnly = await wideClient.conversations.list({ limit: 999, exclude_archived: true });
  t.ok(
    (publicOnly.channels ?? []).every((channel) => !channel.is_private && !channel.is_archived),
    'types defaults to public_channel; exclude_archived drops archived ones',
  );

  const general = channelNamed(deep, 'general');
  t.ok(general.messages.length > 1_200, 'the deep channel has more than one full history page');
  const first = await deepClient.conversations.history({ channel: general.info.id, limit: 5_000 });
  t.equal(first.messages?.length, 999, 'history caps a page at 999');
  t.equal(first.has_more, true);
  t.equal((await deepClient.conversations.history({ channel: general.info.id })).messages?.length, 100, 'history defaults to 100');
  const history: string[] = [];
  let lastPage: SlackObject = {};
  for await (const page of pagesOf(deepClient, 'conversations.history', { channel: general.info.id, limit: 999 })) {
    for (const message of (page.messages ?? []) as SlackObject[]) history.push(message.ts);
    lastPage = page;
  }
  t.same(
    history,
    general.messages.map((message) => message.ts).reverse(),
    'history pages run newest first over every top-level message and broadcast',
  );
  t.equal(lastPage.has_more, false);
  t.equal(lastPage.response_metadata?.next_cursor, '', 'the last page has an empty next_cursor');

  const { parent, replies } = oldThreadWithRecentReplies(shared);
  const sharedServer = await serve(t, shared);
  const sharedClient = clientFor(sharedServer);
  const whole = await sharedClient.conversations.replies({ channel: channelNamed(shared, 'general').info.id, ts: parent.ts });
  t.same(
    whole.messages?.map((message) => message.ts),
    [parent.ts, ...replies.map((reply) => reply.ts)],
    'replies: parent first, then replies ascending',
  );
  const paged: string[] = [];
  for await (const page of pagesOf(sharedClient, 'conversations.replies', {
    channel: channelNamed(shared, 'general').info.id,
    ts: parent.ts,
    limit: 5,
  })) {
    const messages = (page.messages ?? []) as SlackObject[];
    t.equal(messages[0]?.ts, parent.ts, 'every replies page starts with the parent');
    t.ok(messages.length <= 5);
    paged.push(...messages.slice(1).map((message) => message.ts as string));
  }
  t.same(
    paged,
    replies.map((reply) => reply.ts),
    'replies pages join up',
  );
  const byReply = await sharedClient.conversations.replies({
    channel: channelNamed(shared, 'general').info.id,
    ts: replies[3]?.ts as string,
  });
  t.equal(byReply.messages?.[0]?.ts, parent.ts, 'a reply ts answers with its whole thread');
  const lonely = channelNamed(shared, 'general').messages.find((message) => !message.thread_ts && !message.subtype) as SlackObject;
  const single = await sharedClient.conversations.replies({ channel: channelNamed(shared, 'general').info.id, ts: lonely.ts });
  t.same(
    single.messages?.map((message) => message.ts),
    [lonely.ts],
    'a message without replies is a thread of one',
  );
});

t.test('history honours oldest, latest and inclusive, and matches nothing for bounds with more than 6 decimals', async (t) => {
  const server = await serve(t, shared);
  const client = clientFor(server);
  const general = channelNamed(shared, 'general');
  const [a, b, c] = general.messages.slice(40, 43).map((message) => message.ts as string) as [string, string, string];
  const tsList = async (options: Record<string, string | boolean>): Promise<string[]> =>
    ((await client.conversations.history({ channel: general.info.id, ...options })).messages ?? []).map((message) => message.ts as string);

  t.same(await tsList({ oldest: a, latest: c }), [b], 'bounds are exclusive by default');
  t.same(await tsList({ oldest: a, latest: c, inclusive: true }), [c, b, a], 'inclusive keeps both bounds');
  t.same(await tsList({ oldest: a, latest: c, inclusive: '1' } as never), [c, b, a], 'inclusive=1 works too');
  const window = await tsList({ oldest: String(now - 30 * DAY) });
  t.same(
    window,
    general.messages
      .filter((message) => Number(message.ts) > now - 30 * DAY)
      .map((message) => message.ts)
      .reverse(),
    'whole-second oldest',
  );
  t.same(
    await tsList({ oldest: `${a}0`, latest: c, inclusive: true }),
    [],
    'an oldest with 7 decimals matches nothing (Elastic bug #3032)',
  );
  t.same(await tsList({ latest: `${String(now)}.0000001` }), [], 'a latest with 7 decimals matches nothing');
  t.same(await tsList({ oldest: (Number(a) - 0.5).toFixed(6), latest: c }), [b, a], 'six decimals work');
});

t.test('rate limits: per-method sliding windows of the scaled tier budget, 429 with Retry-After', async (t) => {
  // rateScale 6: the one-minute window is 10 s, so a burst surely lands inside one window.
  const server = await serve(t, shared, { rateLimits: true, rateScale: 6 });
  const client = clientFor(server);
  const general = channelNamed(shared, 'general');
  const burst = await Promise.allSettled(
    Array.from({ length: 60 }, () => client.conversations.history({ channel: general.info.id, limit: 1 })),
  );
  const limited = burst
    .filter((result) => result.status === 'rejected')
    .map((result) => (result as PromiseRejectedResult).reason as unknown);
  t.equal(burst.length - limited.length, 50, 'Tier 3 allows 50 per window');
  t.equal(limited.length, 10);
  t.ok(
    limited.every((error) => error instanceof WebAPIRateLimitedError),
    'the rest get HTTP 429',
  );
  const retryAfter = (limited[0] as WebAPIRateLimitedError).retryAfter;
  t.ok(retryAfter >= 1 && retryAfter <= 10, `Retry-After is whole seconds within the scaled window (${retryAfter})`);

  const users = await Promise.allSettled(Array.from({ length: 25 }, () => client.users.list({ limit: 5 })));
  t.equal(users.filter((result) => result.status === 'fulfilled').length, 20, 'Tier 2 allows 20 per window, counted apart from history');
  t.equal((await client.auth.test()).ok, true, 'other methods keep their own budget');
  const stats = server.stats();
  t.equal(stats.maxInWindowByMethod['conversations.history'], 50, 'maxInWindow counts accepted requests only');
  t.equal(stats.rateLimitedByMethod['conversations.history'], 10);
  t.equal(stats.okByMethod['conversations.history'], 50);
  t.equal(stats.rateLimitedByMethod['users.list'], 5);
  t.equal(server.calls.filter((call) => call.status === 429).length, 15, 'every 429 is recorded');

  const forced = await serve(t, shared, { rateLimits: true, rateScale: 6, retryAfterSeconds: 0, tierRates: { 4: 2 } });
  const forcedClient = clientFor(forced);
  await forcedClient.auth.test();
  await forcedClient.auth.test();
  try {
    await forcedClient.auth.test();
    t.fail('the third call is over a budget of 2');
  } catch (error) {
    t.equal((error as WebAPIRateLimitedError).retryAfter, 0, 'retryAfterSeconds forces Retry-After; tierRates overrides the budget');
  }

  const unlimited = await serve(t, shared, { rateScale: 6 });
  const unlimitedClient = clientFor(unlimited);
  await Promise.all(Array.from({ length: 60 }, () => unlimitedClient.conversations.history({ channel: general.info.id, limit: 1 })));
  t.equal(
    unlimited.stats().maxInWindowByMethod['conversations.history'],
    60,
    'with rateLimits off nothing is refused but windows are still measured',
  );
  unlimited.resetStats();
  t.same(unlimited.stats().callsByMethod, {}, 'resetStats clears counters');
  t.equal(unlimited.calls.length, 0, 'and calls');
});

t.test('the 2025 restricted regime: pages of 15 and Tier 1 for history and replies', async (t) => {
  const server = await serve(t, shared, { rateLimits: true, rateScale: 6, restricted: true, tierRates: { 1: 2 } });
  const client = clientFor(server);
  const general = channelNamed(shared, 'general');
  const asked = await client.conversations.history({ channel: general.info.id, limit: 200 });
  t.equal(asked.messages?.length, 15, 'asking for 200 gets 15');
  t.ok(asked.has_more && asked.response_metadata?.next_cursor, 'with a cursor to more');
  t.equal((await client.conversations.history({ channel: general.info.id })).messages?.length, 15, 'the default page is 15 too');
  try {
    await client.conversations.history({ channel: general.info.id });
    t.fail('history is over its Tier 1 budget');
  } catch (error) {
    t.ok(error instanceof WebAPIRateLimitedError);
    t.equal((error as WebAPIRateLimitedError).retryAfter, 10, 'Retry-After is 60 s scaled');
  }
  const { parent } = oldThreadWithRecentReplies(shared);
  const replies = await client.conversations.replies({ channel: general.info.id, ts: parent.ts, limit: 1000 });
  t.equal(replies.messages?.length, 15, 'replies pages hold 15 (the parent and 14 replies)');
  t.equal((await client.users.list({ limit: 200 })).members?.length, 40, 'other methods are not restricted');
});

t.test('each fault kind is what the client observes', async (t) => {
  const server = await serve(t, shared, { slowMs: 300 });
  const client = clientFor(server);
  const failure = async (kind: Parameters<FakeSlackServer['injectFault']>[1]): Promise<unknown> => {
    server.injectFault('auth.test', kind);
    try {
      await client.auth.test();
    } catch (error) {
      return error;
    }
    return undefined;
  };
  for (const [kind, status] of [
    ['http500', 500],
    ['http502', 502],
    ['http503', 503],
  ] as const) {
    const error = await failure(kind);
    t.ok(error instanceof WebAPIHTTPError && error.statusCode === status, `${kind} → WebAPIHTTPError ${status}`);
  }
  const reset = await failure('reset');
  // Headers arrive before the socket dies, so fetch has resolved and the body read fails: @slack/web-api lets undici's TypeError through.
  t.ok(
    reset instanceof WebAPIRequestError || (reset instanceof TypeError && reset.message === 'terminated'),
    'reset → a transport error, not a Slack answer',
  );
  const truncated = await failure('truncated');
  t.ok(
    truncated instanceof WebAPIPlatformError && String(truncated.data.error).startsWith('{"ok":true'),
    'truncated → unparseable half JSON reported as an error',
  );
  const malformed = await failure('malformed');
  t.ok(
    malformed instanceof WebAPIPlatformError && String(malformed.data.error).includes('<html>'),
    'malformed → non-JSON body reported as an error',
  );
  const burst = await failure('burst429');
  t.ok(burst instanceof WebAPIRateLimitedError && burst.retryAfter === 1, 'burst429 → 429 with Retry-After 1');
  t.equal(await failure('slow'), undefined, 'slow still answers correctly, later');
  const timedOut = await (async () => {
    server.injectFault('auth.test', 'slow');
    try {
      await clientFor(server, { timeout: 50 }).auth.test();
    } catch (error) {
      return error;
    }
    return undefined;
  })();
  t.ok(
    timedOut instanceof WebAPIRequestError && timedOut.original.name === 'TimeoutError',
    'slow against a client timeout → WebAPIRequestError(TimeoutError)',
  );
  server.injectFault('users.list', 'http503', 2);
  t.ok((await failure('http500')) instanceof WebAPIHTTPError, 'injected faults are per method');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await client.users.list({});
      t.fail('users.list should fail twice');
    } catch (error) {
      t.ok(error instanceof WebAPIHTTPError && error.statusCode === 503);
    }
  }
  t.equal((await client.users.list({})).ok, true, 'and last `count` calls');
  t.same(
    server.calls.filter((call) => call.fault).map((call) => call.fault),
    ['http500', 'http502', 'http503', 'reset', 'truncated', 'malformed', 'burst429', 'slow', 'slow', 'http500', 'http503', 'http503'],
    'every call records its fault',
  );
  const stats = server.stats();
  t.equal(stats.faultsByKind.slow, 2);
  t.equal(stats.okByMethod['users.list'], 1, 'faulted calls are not counted as ok');

  const sequence = async (): Promise<(string | undefined)[]> => {
    const random = await serve(t, shared, {
      faults: { rate: 0.4, seed: 5, kinds: ['http500', 'malformed', 'burst429'], methods: ['auth.test'] },
    });
    const randomClient = clientFor(random);
    for (let index = 0; index < 30; index += 1) {
      await randomClient.auth.test().catch(() => undefined);
      await randomClient.users.list({ limit: 1 });
    }
    t.ok(
      random.calls.filter((call) => call.method === 'users.list').every((call) => !call.fault),
      'faults.methods limits random faults',
    );
    return random.calls.filter((call) => call.method === 'auth.test').map((call) => call.fault);
  };
  const first = await sequence();
  const faulted = first.filter((fault) => fault !== undefined).length;
  t.ok(faulted > 0 && faulted < 30, `random faults hit some calls (${faulted}/30)`);
  t.same(await sequence(), first, 'random faults repeat for the same seed');
});

t.test('mutations show through the API with consistent thread fields', async (t) => {
  const workspace = generateWorkspace({ seed: 1, size: 'small', now });
  const server = await serve(t, workspace);
  const client = clientFor(server);
  const general = channelNamed(workspace, 'general');
  const channel = general.info.id;
  const historyAround = async (ts: string): Promise<SlackObject | undefined> =>
    (await client.conversations.history({ channel, oldest: ts, latest: ts, inclusive: true })).messages?.[0];

  const old = general.messages.find(
    (message) => !message.thread_ts && !message.subtype && Number(message.ts) < now - 300 * DAY,
  ) as SlackObject;
  const reply = workspace.postReply(channel, old.ts, { text: 'late answer to an old question' });
  t.ok(Number(reply.ts) > now - 1 && reply.ts > general.messages[general.messages.length - 1]?.ts, 'a new reply is newer than everything');
  t.match(
    await historyAround(old.ts),
    { thread_ts: old.ts, reply_count: 1, latest_reply: reply.ts, reply_users_count: 1 },
    'an old plain message became a thread parent',
  );
  const second = workspace.postReply(channel, old.ts, {
    text: 'and a broadcast',
    subtype: 'thread_broadcast',
    user: workspace.users[5]?.id,
  });
  t.match(await historyAround(old.ts), { reply_count: 2, latest_reply: second.ts, reply_users_count: 2 });
  const newest = await client.conversations.history({ channel, limit: 1 });
  t.equal(newest.messages?.[0]?.ts, second.ts, 'a broadcast reply shows in history');
  const thread = await client.conversations.replies({ channel, ts: old.ts });
  t.same(
    thread.messages?.map((message) => message.ts),
    [old.ts, reply.ts, second.ts],
  );

  const posted = workspace.postMessage(channel, { text: 'fresh' });
  t.ok(posted.ts > second.ts, 'timestamps keep increasing');
  t.equal((await client.conversations.history({ channel, limit: 1 })).messages?.[0]?.text, 'fresh');
  workspace.editMessage(channel, old.ts, 'edited question');
  t.match(await historyAround(old.ts), { text: 'edited question', edited: { user: old.user } });
  t.ok(Number((await historyAround(old.ts))?.edited.ts) > now - 1, 'edited.ts is the time of the edit');

  workspace.deleteMessage(channel, reply.ts);
  t.match(await historyAround(old.ts), { reply_count: 1, latest_reply: second.ts }, 'deleting a reply updates the parent');
  workspace.deleteMessage(channel, old.ts);
  t.match(await historyAround(old.ts), { subtype: 'tombstone', reply_count: 1 }, 'a parent with replies leaves a tombstone');
  workspace.deleteMessage(channel, second.ts);
  t.equal(await historyAround(old.ts), undefined, 'the tombstone goes with its last reply');
  t.equal(await historyAround(second.ts), undefined, 'a deleted broadcast leaves history');
  workspace.deleteMessage(channel, posted.ts);
  t.equal(await historyAround(posted.ts), undefined, 'a deleted plain message is gone');
  t.equal(await slackError(client.conversations.replies({ channel, ts: old.ts })), 'thread_not_found');
  t.throws(() => workspace.postReply(channel, '1000000000.000000'), 'replying to nothing throws');
});

const baseTruth: TruthOptions = {
  now,
  fetchLastNDays: 180,
  threads: true,
  syncUsers: true,
  autoJoinChannels: false,
  channelTypes: ['public'],
};

t.test('expectedIds follows the documented selection, window and thread rules', async (t) => {
  const ids = (options: Partial<TruthOptions>) => expectedIds(shared, { ...baseTruth, ...options });
  const subset = (small: Iterable<string>, large: Set<string>): boolean => [...small].every((id) => large.has(id));
  const withThreads = ids({});
  const withoutThreads = ids({ threads: false });
  t.ok(
    withoutThreads.messages.length < withThreads.messages.length && subset(withoutThreads.messages, withThreads.all),
    'threads off ⊂ threads on',
  );
  const everything = ids({ fetchLastNDays: 0 });
  t.ok(withThreads.messages.length < everything.messages.length && subset(withThreads.messages, everything.all), 'window 0 ⊇ window 180');
  const { parent, replies } = oldThreadWithRecentReplies(shared);
  const general = channelNamed(shared, 'general');
  t.notOk(withThreads.all.has(`${general.info.id}-${parent.ts}`), 'an old parent is outside the window');
  t.notOk(withThreads.all.has(`${general.info.id}-${replies[replies.length - 1]?.ts}`), 'so its recent replies are not fetched');
  t.ok(everything.all.has(`${general.info.id}-${replies[0]?.ts}`), 'with all history its replies are in, however old');
  t.equal(withThreads.users.length, shared.users.length, 'every users.list member when syncUsers');
  t.same(ids({ syncUsers: false }).users, [], 'no users otherwise');
  t.ok(
    shared.externalUsers.every((user) => !everything.all.has(user.id)),
    'external users never',
  );

  const excluded = ids({ fetchLastNDays: 0, excludeChannels: ['general'] });
  t.ok(
    [...excluded.all].every((id) => !id.startsWith(general.info.id)),
    'exclude removes the channel and its messages',
  );
  t.ok(
    ids({ fetchLastNDays: 0, channels: ['general', 'random'], excludeChannels: [general.info.id] }).channels.length === 1,
    'exclude by id wins over include by name',
  );
  const engineering = channelNamed(shared, 'engineering');
  const archived = channelNamed(shared, 'old-project');
  const joined = ids({ fetchLastNDays: 0, autoJoinChannels: true });
  t.notOk(everything.channels.includes(engineering.info.id), 'a public channel without the bot is skipped without auto-join');
  t.ok(
    joined.channels.includes(engineering.info.id) && joined.messages.some((id) => id.startsWith(engineering.info.id)),
    'auto-join reads it',
  );
  t.ok(joined.channels.includes(archived.info.id), 'an archived channel is still a channel document with auto-join');
  t.notOk(
    joined.messages.some((id) => id.startsWith(archived.info.id)),
    'but its messages cannot be read',
  );
  const allTypes = ids({ fetchLastNDays: 0, channelTypes: ['public', 'private', 'im', 'mpim'] });
  const hidden = channelOfType(shared, 'private', false);
  t.notOk(
    [...allTypes.all].some((id) => id.startsWith(hidden.info.id)),
    'a private channel without the bot never appears',
  );
  t.ok(allTypes.channels.includes(channelOfType(shared, 'im', true).info.id), 'im and mpim with the bot are read on request');
});

/** Reads the fake the way the spec tells the source to, to check that ground truth and server agree. */
async function crawl(client: WebClient, options: TruthOptions): Promise<Set<string>> {
  const found = new Set<string>();
  if (options.syncUsers)
    for await (const page of pagesOf(client, 'users.list', { limit: 1000 }))
      for (const user of (page.members ?? []) as SlackObject[]) found.add(user.id);
  const typeNames = { public: 'public_channel', private: 'private_channel', im: 'im', mpim: 'mpim' } as const;
  const oldest = options.fetchLastNDays > 0 ? String(Math.floor(options.now) - options.fetchLastNDays * DAY) : undefined;
  for await (const page of pagesOf(client, 'conversations.list', {
    types: options.channelTypes.map((type) => typeNames[type]).join(','),
    limit: 999,
  })) {
    for (const channel of (page.channels ?? []) as SlackObject[]) {
      const named = (list: string[] | undefined) => list?.includes(channel.id) || list?.includes(channel.name);
      if ((options.channels && !named(options.channels)) || named(options.excludeChannels)) continue;
      let member = channel.is_im || channel.is_member;
      if (!member && !options.autoJoinChannels) continue;
      found.add(channel.id);
      if (!member)
        member = await client.conversations.join({ channel: channel.id }).then(
          () => true,
          () => false,
        );
      if (!member) continue;
      for await (const history of pagesOf(client, 'conversations.history', {
        channel: channel.id,
        limit: 999,
        ...(oldest ? { oldest, inclusive: true } : {}),
      })) {
        for (const message of (history.messages ?? []) as SlackObject[]) {
          found.add(`${channel.id}-${message.ts}`);
          if (!options.threads || !(message.reply_count > 0) || message.thread_ts !== message.ts) continue;
          for await (const thread of pagesOf(client, 'conversations.replies', { channel: channel.id, ts: message.ts, limit: 1000 })) {
            for (const reply of ((thread.messages ?? []) as SlackObject[]).slice(1)) found.add(`${channel.id}-${reply.ts}`);
          }
        }
      }
    }
  }
  return found;
}

t.test('a crawl of the fake over HTTP finds exactly the ground-truth ids', async (t) => {
  const cases: Partial<TruthOptions>[] = [
    {},
    { fetchLastNDays: 0, threads: false },
    { fetchLastNDays: 30, syncUsers: false, channelTypes: ['public', 'private', 'im', 'mpim'] },
    { fetchLastNDays: 0, autoJoinChannels: true, excludeChannels: ['random'] },
  ];
  for (const overrides of cases) {
    const workspace = generateWorkspace({ seed: 9, size: 'small', now });
    const options = { ...baseTruth, ...overrides };
    const truth = expectedIds(workspace, options);
    const server = await serve(t, workspace);
    const found = await crawl(clientFor(server), options);
    t.same([...found].sort(), [...truth.all].sort(), `ground truth for ${JSON.stringify(overrides)}`);
  }
});
