// Enrichment: authors, mentions, channel references, links and entities in message text; user lookups once per unknown id; bots, deleted
// users, failures, syncUsers false.

import t from 'tap';
import type { AnyDocument, ChannelDocument, MessageDocument, TombstoneDocument, UserDocument } from '../lib/documents.js';
import { displayName, enrich, rewriteSlackText, type EnrichOptions, type UserLookupResult } from '../lib/transforms/enrich.js';
import { fromArray, messageDocument } from './helpers/documents.js';

function user(id: string, fields: Partial<UserDocument> = {}): UserDocument {
  return {
    _id: id,
    id,
    _timestamp: '2024-01-01T00:00:00.000Z',
    type: 'user',
    real_name_normalized: null,
    profile_real_name: null,
    display_name: null,
    display_name_normalized: null,
    first_name: null,
    last_name: null,
    name: null,
    deleted: false,
    real_name: null,
    is_admin: false,
    is_owner: false,
    is_bot: false,
    tz: null,
    title: null,
    updated: null,
    ...fields,
  };
}

function channel(id: string, name: string, fields: Partial<ChannelDocument> = {}): ChannelDocument {
  return {
    _id: id,
    id,
    _timestamp: '2024-01-01T00:00:00.000Z',
    type: 'channel',
    topic: null,
    topic_author: null,
    topic_last_updated: null,
    purpose: null,
    purpose_author: null,
    purpose_last_updated: null,
    last_updated: null,
    name,
    name_normalized: name,
    created: 1700000000,
    is_private: false,
    is_archived: false,
    num_members: 3,
    url: null,
    ...fields,
  };
}

let sequence = 0;
const message = (fields: Partial<MessageDocument> = {}): MessageDocument =>
  messageDocument({ ts: `1700000000.${String(++sequence).padStart(6, '0')}`, author: 'U1', ...fields });

async function run(documents: AnyDocument[], options?: EnrichOptions) {
  const stage = enrich(options);
  const out: AnyDocument[] = [];
  for await (const document of stage(fromArray(documents))) out.push(document);
  return { out, stats: stage.stats!(), messages: out.filter((document): document is MessageDocument => document.type === 'message') };
}

const users = [
  user('U1', { display_name_normalized: 'ann', real_name_normalized: 'Ann Example', real_name: 'Ann Example', name: 'ann.e' }),
  user('U2', { display_name_normalized: '', real_name_normalized: 'Bob Builder', name: 'bob' }),
  user('U3', { name: 'carol' }),
  user('U4'),
  user('U5', { display_name_normalized: 'dave', deleted: true }),
  user('U6', { real_name: 'Deploy Bot', name: 'deploybot', is_bot: true }),
];

t.test("displayName follows Elastic's order and skips empty strings", async (t) => {
  t.equal(displayName({ id: 'U1', name: 'n', real_name: 'r', profile: { display_name_normalized: 'd', real_name_normalized: 'rn' } }), 'd');
  t.equal(displayName({ id: 'U1', name: 'n', real_name: 'r', profile: { display_name_normalized: '', real_name_normalized: 'rn' } }), 'rn');
  t.equal(displayName({ id: 'U1', name: 'n', real_name: 'r', profile: {} }), 'r');
  t.equal(displayName({ id: 'U1', name: 'n', real_name: '' }), 'n');
  t.equal(displayName({ id: 'U1' }), 'U1');
  t.equal(displayName(users[1]!), 'Bob Builder', 'UserDocument fields are read too');
});

t.test('every token form of Slack text', async (t) => {
  const names: Record<string, string> = { U1: 'ann', W9: 'grid user' };
  const channels: Record<string, string> = { C2: 'random' };
  const rewrite = (text: string) =>
    rewriteSlackText(
      text,
      (id) => names[id],
      (id) => channels[id],
    );
  const cases: Array<[string, string]> = [
    ['hi <@U1>', 'hi @ann'],
    ['hi <@U1|old-name>', 'hi @ann'],
    ['hi <@W9>', 'hi @grid user'],
    ['hi <@U404>', 'hi @U404'],
    ['hi <@U404|someone>', 'hi @U404'],
    ['see <#C9|general>', 'see #general'],
    ['see <#C2>', 'see #random'],
    ['see <#C2|>', 'see #random'],
    ['see <#C404>', 'see #C404'],
    ['<https://example.com/a?b=1&amp;c=2|the docs>', 'the docs (https://example.com/a?b=1&c=2)'],
    ['<https://example.com>', 'https://example.com'],
    ['<https://example.com|https://example.com>', 'https://example.com'],
    ['mail <mailto:ann@example.com|ann@example.com>', 'mail ann@example.com'],
    ['mail <mailto:ann@example.com|Ann>', 'mail Ann (ann@example.com)'],
    ['mail <mailto:ann@example.com>', 'mail ann@example.com'],
    ['<!here> <!channel> <!everyone>', '@here @channel @everyone'],
    ['<!here|@here> look', '@here look'],
    ['ping <!subteam^S123|@platform-team>', 'ping @platform-team'],
    ['ping <!subteam^S123>', 'ping @S123'],
    ['due <!date^1700000000^{date_short}|Nov 14, 2023>', 'due Nov 14, 2023'],
    ['a &lt;b&gt; &amp;&amp; c', 'a <b> && c'],
    ['&lt;@U1&gt; is escaped text, not a token', '<@U1> is escaped text, not a token'],
    ['&amp;lt; stays &lt; once', '&lt; stays < once'],
    ['<https://x.test|R&amp;D &lt;team&gt;>', 'R&D <team> (https://x.test)'],
    ['plain text, no tokens', 'plain text, no tokens'],
    ['unclosed <@U1 stays', 'unclosed <@U1 stays'],
    ['', ''],
    ['emoji 🎉 and ünïcödé <@U1>', 'emoji 🎉 and ünïcödé @ann'],
  ];
  for (const [input, expected] of cases) t.equal(rewrite(input), expected, JSON.stringify(input));
  t.equal(
    rewriteSlackText(
      '<@U1>',
      () => 'R&amp;D',
      () => undefined,
    ),
    '@R&amp;D',
    'names inserted by a rewrite are never unescaped again',
  );
});

t.test('messages: author and text from the user map learned from user documents', async (t) => {
  const { out, messages, stats } = await run([
    ...users,
    channel('C1', 'general'),
    message({
      author_id: 'U1',
      author: 'U1',
      text: '<@U2> and <@U3> meet <@U4> &amp; <@U5> in <#C1>',
      attachments_text: 'from <@U1>: <https://a.test|A>',
    }),
    message({ author_id: 'U5', author: 'U5' }),
    message({ author_id: 'U6', author: 'U6', text: 'deployed' }),
    message({ author_type: 'bot', author_id: 'B1', author: 'CI Bot', text: 'build <!here>' }),
  ]);
  t.equal(out.filter((document) => document.type === 'user').length, 6, 'user documents pass through');
  t.same(
    messages.map((document) => document.author),
    ['ann', 'dave', 'Deploy Bot', 'CI Bot'],
    'users by name, deleted users too, bot users resolved, bot_profile name kept',
  );
  t.equal(messages[0]!.text, '@Bob Builder and @carol meet @U4 & @dave in #general');
  t.equal(messages[0]!.attachments_text, 'from @ann: A (https://a.test)');
  t.equal(messages[3]!.text, 'build @here');
  t.equal(messages[3]!.author_id, 'B1', 'ids stay in author_id');
  t.match(stats, { usersLearned: 6, lookups: 0, lookupFailures: 0, unknownUsers: 0, usersDropped: 0 });
  const original = message({ author_id: 'U1', author: 'U1' });
  const [, enriched] = (await run([users[0]!, original])).out as [UserDocument, MessageDocument];
  t.same(
    Object.keys(enriched).filter((key) => key !== 'content_hash'),
    Object.keys(original),
    'every field kept, same order',
  );
  t.equal(original.author, 'U1', 'the input document is not modified');
});

t.test('unknown users: lookupUser once per id across many messages, then cached; unknown stays the id', async (t) => {
  const calls: string[] = [];
  const directory: Record<string, UserLookupResult | null> = {
    U7: { id: 'U7', name: 'eve', profile: { display_name_normalized: '', real_name_normalized: 'Eve Late' } },
    U8: null,
  };
  const lookupUser = async (id: string) => {
    calls.push(id);
    await new Promise((resolve) => setTimeout(resolve, 1));
    return directory[id] ?? null;
  };
  const { messages, stats } = await run(
    [
      users[0]!,
      message({ author_id: 'U7', author: 'U7', text: 'hi <@U8> <@U8> <@U1>' }),
      message({ author_id: 'U8', author: 'U8', text: '<@U7> <@U7|eve>' }),
      message({ author_id: 'U7', author: 'U7', text: '<@U8>' }),
      message({ author_id: 'U1', author: 'U1', text: 'cc <@U7>' }),
    ],
    { lookupUser },
  );
  t.same(calls.sort(), ['U7', 'U8'], 'one call per unknown id, misses cached too');
  t.same(
    messages.map((document) => document.author),
    ['Eve Late', 'U8', 'Eve Late', 'ann'],
  );
  t.same(
    messages.map((document) => document.text),
    ['hi @U8 @U8 @ann', '@Eve Late @Eve Late', '@U8', 'cc @Eve Late'],
  );
  t.match(stats, { lookups: 2, lookupFailures: 0, unknownUsers: 1 });
});

t.test('without lookupUser, unknown ids stay ids and are counted once', async (t) => {
  const { messages, stats } = await run([
    message({ author_id: 'U9', author: 'U9', text: '<@U9> <@U10>' }),
    message({ author_id: 'U9', author: 'U9', text: '<@U10>' }),
  ]);
  t.same(
    messages.map((document) => [document.author, document.text]),
    [
      ['U9', '@U9 @U10'],
      ['U9', '@U10'],
    ],
  );
  t.match(stats, { lookups: 0, unknownUsers: 2 });
});

t.test('users.info failures are unknown, counted, and never fail the run', async (t) => {
  let calls = 0;
  const { messages, stats } = await run(
    [message({ author_id: 'U11', author: 'U11', text: '<@U12>' }), message({ author_id: 'U11', author: 'U11', text: '<@U11>' })],
    {
      lookupUser: async (id) => {
        calls++;
        if (id === 'U11') throw new Error('ratelimited');
        return { id, profile: { display_name_normalized: 'zed' } };
      },
    },
  );
  t.equal(calls, 2, 'a failed id is not retried for every message');
  t.same(
    messages.map((document) => [document.author, document.text]),
    [
      ['U11', '@zed'],
      ['U11', '@U11'],
    ],
  );
  t.match(stats, { lookups: 2, lookupFailures: 1, unknownUsers: 1 });
});

t.test('syncUsers false: user documents teach names, then are dropped', async (t) => {
  const { out, stats } = await run([...users.slice(0, 2), message({ author_id: 'U2', author: 'U2', text: 'hi <@U1>' })], {
    syncUsers: false,
  });
  t.same(
    out.map((document) => document.type),
    ['message'],
  );
  t.equal((out[0] as MessageDocument).author, 'Bob Builder');
  t.equal((out[0] as MessageDocument).text, 'hi @ann');
  t.match(stats, { usersLearned: 2, usersDropped: 2 });
});

t.test('channels: topic and purpose authors become names; channel references resolve from channel documents', async (t) => {
  const lookups: string[] = [];
  const { out } = await run(
    [
      users[0]!,
      channel('C1', 'general', { topic: 'Launch', topic_author: 'U1', purpose: 'Chat', purpose_author: 'U13' }),
      channel('C2', 'no-topic', { topic_author: '', purpose_author: null }),
      message({ text: 'moved to <#C2>, see <#C3>' }),
    ],
    {
      lookupUser: async (id) => {
        lookups.push(id);
        return { id, real_name: 'Former Member', deleted: true };
      },
    },
  );
  const [general, noTopic] = out.filter((document): document is ChannelDocument => document.type === 'channel');
  t.equal(general!.topic_author, 'ann');
  t.equal(general!.purpose_author, 'Former Member', 'a deleted user found by users.info resolves by name');
  t.equal(noTopic!.topic_author, '', 'empty creator stays empty');
  t.equal(noTopic!.purpose_author, null);
  t.same(lookups, ['U13']);
  t.equal((out.at(-1) as MessageDocument).text, 'moved to #no-topic, see #C3');
});

t.test('other documents pass through untouched; stage name and stats', async (t) => {
  const tombstone: TombstoneDocument = {
    _id: 'C1-1',
    id: 'C1-1',
    type: 'tombstone',
    deleted_type: 'message',
    channel_id: 'C1',
    ts: '1',
    _timestamp: '2024-01-01T00:00:00.000Z',
  };
  const stage = enrich();
  const out: AnyDocument[] = [];
  for await (const document of stage(fromArray([tombstone]))) out.push(document);
  t.equal(out[0], tombstone, 'same object');
  t.equal(stage.stageName, 'enrich');
  t.same(stage.stats!(), {
    usersLearned: 0,
    lookups: 0,
    lookupFailures: 0,
    unknownUsers: 0,
    usersDropped: 0,
    botLookups: 0,
    channelLookups: 0,
    unknownBots: 0,
    unknownChannels: 0,
    usersFromProfiles: 0,
  });
});

t.test('bot authors: the name the message carries, else the bot user through the user map, else bots.info once per bot id', async (t) => {
  const botCalls: string[] = [];
  const { messages, stats } = await run(
    [
      ...users,
      message({ author_type: 'bot', author_id: 'B1', author: 'Jenkins' }),
      message({ author_type: 'bot', author_id: 'U6', author: 'U6' }),
      message({ author_type: 'bot', author_id: 'B2', author: 'B2' }),
      message({ author_type: 'bot', author_id: 'B2', author: 'B2' }),
      message({ author_type: 'bot', author_id: 'B3', author: 'B3' }),
    ],
    {
      lookupBot: async (id) => {
        botCalls.push(id);
        return id === 'B2' ? { id, name: 'Nightly Backup', user_id: 'U99' } : null;
      },
    },
  );
  t.same(
    messages.map((document) => document.author),
    ['Jenkins', 'Deploy Bot', 'Nightly Backup', 'Nightly Backup', 'B3'],
  );
  t.same(botCalls, ['B2', 'B3'], 'one bots.info per bot id, misses cached');
  t.match(stats, { botLookups: 2, unknownBots: 1, lookups: 0 });
});

t.test('Slack Connect authors: users.list wins, else the user_profile name their message carried, without users.info', async (t) => {
  const lookups: string[] = [];
  const { messages, stats } = await run(
    [
      users[0]!,
      message({ author_id: 'U1', author: 'Old Profile Name' }),
      message({ author_id: 'W7', author: 'W7', text: 'order must not matter: <@W7>' }),
      message({ author_id: 'W7', author: 'Partner Pat' }),
      message({ author_id: 'U1', author: 'U1', text: 'welcome <@W7>' }),
    ],
    {
      lookupUser: async (id) => {
        lookups.push(id);
        return id === 'W7' ? { id, real_name: 'Patricia Partner' } : null;
      },
    },
  );
  t.same(
    messages.map((document) => document.author),
    ['ann', 'Patricia Partner', 'Partner Pat', 'ann'],
    'a users.info answer does not override the name a message carries',
  );
  t.equal(messages[3]!.text, 'welcome @Patricia Partner', 'mentions resolve through users.info, the same in any order');
  t.same(lookups, ['W7']);
  t.match(stats, { usersFromProfiles: 1 });
});

t.test('DMs are named after the other member, group DMs keep their readable name, both for the channel and its messages', async (t) => {
  const { out } = await run([
    users[0]!,
    channel('D1', 'U1', { name_normalized: null, is_private: true }),
    channel('C9', 'ann.e, bob, slack-etl', { name_normalized: 'mpdm-ann.e--bob--slack-etl-1', is_private: true }),
    message({ channel_id: 'D1', channel: 'U1' }),
    message({ channel_id: 'D2', channel: 'U404' }),
    message({ channel_id: 'C9', channel: 'ann.e, bob, slack-etl' }),
    message({ text: 'see <#D1> and <#C9>' }),
  ]);
  const channels = out.filter((document): document is ChannelDocument => document.type === 'channel');
  t.same(
    channels.map((document) => document.name),
    ['ann', 'ann.e, bob, slack-etl'],
  );
  const messages = out.filter((document): document is MessageDocument => document.type === 'message');
  t.same(
    messages.map((document) => document.channel),
    ['ann', 'U404', 'ann.e, bob, slack-etl', 'general'],
  );
  t.equal(messages[3]!.text, 'see #ann and #ann.e, bob, slack-etl');
});

t.test('#channel mentions without a label resolve through lookupChannel once per id, whatever channel documents passed', async (t) => {
  const calls: string[] = [];
  const lookupChannel = async (id: string) => {
    calls.push(id);
    return id === 'C7' ? { id, name: 'finance' } : null;
  };
  const { messages, stats } = await run(
    [message({ text: 'budget in <#C7>, <#C7|>, <#C7|old-name> and <#C8>' }), message({ text: '<#C7> <#C8>' })],
    { lookupChannel },
  );
  t.same(
    messages.map((document) => document.text),
    ['budget in #finance, #finance, #old-name and #C8', '#finance #C8'],
  );
  t.same(calls, ['C7', 'C8']);
  t.match(stats, { channelLookups: 2, unknownChannels: 1 });
});

t.test('blocks_text and attachments_text are rewritten like text', async (t) => {
  const { messages } = await run([
    users[0]!,
    message({ text: '', blocks_text: 'Owner <@U1> in <#C1|general>', attachments_text: 'Spec &amp; notes <https://x.test|spec>' }),
  ]);
  t.equal(messages[0]!.blocks_text, 'Owner @ann in #general');
  t.equal(messages[0]!.attachments_text, 'Spec & notes spec (https://x.test)');
});
