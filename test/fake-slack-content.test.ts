// The fake Slack's content shapes and naming methods: blocks, attachments, unfurls, bots without bot_profile, Slack Connect users;
// bots.info and conversations.info as Slack documents them.

import t from 'tap';
import { LogLevel, WebAPIPlatformError, WebClient } from '@slack/web-api';
import { generateWorkspace, type SlackObject, type Workspace } from '../fixtures/slack-api/generator.js';
import { ALL_SCOPES, METHOD_TIERS, startFakeSlack } from '../fixtures/slack-api/server.js';
import { methodTiers } from '../lib/sources/slack/pacer.js';

const now = 1_760_000_000;
const token = 'xoxb-test-token';
const workspace = generateWorkspace({ seed: 3, size: 'small', now });

function everyMessage(workspace: Workspace): SlackObject[] {
  const messages: SlackObject[] = [];
  for (const channel of workspace.channels) {
    messages.push(...channel.messages);
    for (const replies of channel.replies.values()) messages.push(...replies.filter((reply) => reply.subtype !== 'thread_broadcast'));
  }
  return messages;
}

async function slackError(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    if (error instanceof WebAPIPlatformError) return String(error.data.error);
    throw error;
  }
  throw new Error('the call succeeded but an ok:false answer was expected');
}

t.test('a small workspace holds every content and author shape Slack sends', async (t) => {
  const messages = everyMessage(workspace);
  const blockTypes = new Set(messages.flatMap((message) => (message.blocks ?? []).map((block: SlackObject) => block.type)));
  for (const type of ['rich_text', 'section', 'header', 'context']) t.ok(blockTypes.has(type), `blocks of type ${type}`);
  const richTypes = new Set(
    messages.flatMap((message) =>
      (message.blocks ?? [])
        .filter((block: SlackObject) => block.type === 'rich_text')
        .flatMap((block: SlackObject) => block.elements.map((element: SlackObject) => element.type)),
    ),
  );
  for (const type of ['rich_text_section', 'rich_text_list', 'rich_text_quote', 'rich_text_preformatted'])
    t.ok(richTypes.has(type), `rich text ${type}`);
  t.ok(
    messages.some((message) => message.text === '' && message.blocks),
    'text only in blocks',
  );
  t.ok(
    messages.some((message) => message.text === "This content can't be displayed." && message.blocks),
    "Slack's placeholder text",
  );
  t.ok(
    messages.filter((message) => message.blocks?.[0]?.type === 'rich_text' && message.text !== '').length > 20,
    'rich_text mirroring text, as the composer sends it',
  );
  const attachments = messages.flatMap((message) => message.attachments ?? []);
  t.ok(
    attachments.some((attachment) => attachment.pretext && attachment.fields?.length && attachment.footer && attachment.title),
    'attachments with pretext, title, fields and footer',
  );
  t.ok(
    attachments.some((attachment) => attachment.from_url && attachment.service_name && attachment.title),
    'link unfurls',
  );
  t.ok(
    messages.some((message) => message.user && message.bot_id && !message.bot_profile),
    'app messages with user + bot_id and no bot_profile',
  );
  t.ok(
    messages.some((message) => message.subtype === 'bot_message' && message.bot_id && !message.bot_profile && !message.username),
    'bot_messages with only bot_id',
  );
  const memberIds = new Set(workspace.users.map((user) => user.id));
  for (const connect of workspace.connectUsers) {
    t.notOk(memberIds.has(connect.id), 'a Slack Connect user is not in users.list');
    const posted = messages.filter((message) => message.user === connect.id);
    t.ok(
      posted.length > 0 &&
        posted.every((message) => message.user_profile?.team === connect.team_id && typeof message.user_profile.real_name === 'string'),
      'their messages carry user_profile',
    );
  }
  const again = generateWorkspace({ seed: 3, size: 'small', now });
  t.equal(JSON.stringify(everyMessage(again)), JSON.stringify(messages), 'deterministic');
  t.equal(JSON.stringify(again.bots), JSON.stringify(workspace.bots));
});

t.test('bots.info and conversations.info answer as Slack documents, errors and scopes included, at Tier 3', async (t) => {
  const server = await startFakeSlack({
    workspace,
    rateLimits: false,
    tokens: { [token]: { scopes: [...ALL_SCOPES] }, 'xoxb-public': { scopes: ['channels:read'] } },
  });
  t.teardown(() => server.close());
  const client = new WebClient(token, { slackApiUrl: server.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });
  const publicOnly = new WebClient('xoxb-public', { slackApiUrl: server.url, retryConfig: { retries: 0 }, logLevel: LogLevel.ERROR });

  const botUser = workspace.users.find((user) => user.is_bot && user.profile.bot_id)!;
  const botOfUser = (await client.bots.info({ bot: botUser.profile.bot_id })).bot as SlackObject;
  t.match(botOfUser, {
    id: botUser.profile.bot_id,
    deleted: false,
    name: botUser.real_name,
    user_id: botUser.id,
    app_id: String,
    updated: Number,
  });
  t.match(botOfUser.icons, { image_36: String, image_48: String, image_72: String });
  const integration = workspace.bots.find((bot) => bot.user_id === undefined)!;
  t.notOk('user_id' in ((await client.bots.info({ bot: integration.id })).bot as SlackObject), 'a legacy integration has no user_id');
  t.equal(await slackError(client.bots.info({ bot: 'B0NOTHERE00' })), 'bot_not_found');
  t.equal(await slackError(publicOnly.bots.info({ bot: integration.id })), 'missing_scope', 'bots.info needs users:read');

  const byName = (name: string) => workspace.channels.find((channel) => channel.info.name === name)!;
  t.match((await client.conversations.info({ channel: byName('engineering').info.id })).channel, {
    id: byName('engineering').info.id,
    name: 'engineering',
    is_member: false,
  });
  t.match((await client.conversations.info({ channel: byName('leadership').info.id })).channel, {
    name: 'leadership',
    is_private: true,
    is_member: true,
  });
  const im = workspace.channels.find((channel) => channel.info.is_im)!;
  t.match((await client.conversations.info({ channel: im.info.id })).channel, { id: im.info.id, is_im: true, user: im.info.user });
  t.equal(
    await slackError(client.conversations.info({ channel: byName('hr-private').info.id })),
    'channel_not_found',
    'a private channel without the bot does not exist for it',
  );
  t.equal(await slackError(client.conversations.info({ channel: 'C0NOTHERE00' })), 'channel_not_found');
  t.equal(
    await slackError(publicOnly.conversations.info({ channel: byName('leadership').info.id })),
    'missing_scope',
    'a private channel needs groups:read',
  );

  for (const method of ['bots.info', 'conversations.info']) {
    t.equal(METHOD_TIERS[method], 3, `the fake serves ${method} at Tier 3`);
    t.equal(methodTiers[method], 3, `the client paces ${method} at Tier 3`);
  }
});
