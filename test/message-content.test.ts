// What messages say and who wrote them, on the whole fake workspace: block, attachment and unfurl text kept once, authors and conversations
// named, #channel mentions independent of the selection, malformed messages skipped.

import t from 'tap';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { generateWorkspace, type SlackObject, type Workspace } from '../fixtures/slack-api/generator.js';
import type { AnyDocument, ChannelDocument, MessageDocument } from '../lib/documents.js';
import { slackSource } from '../lib/sources/slack/source.js';
import { enrich } from '../lib/transforms/enrich.js';
import type { Logger } from '../lib/log.js';
import { readNdjson, scaledTierRates, scaledTierRatesFlag, serveWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

// Read by both tests, changed by neither: generated once.
const sharedWorkspace = generateWorkspace({ size: 'small', seed: 7 });

const rawId = /^[UWBDCG][A-Z0-9]{6,}$/;

/** Every raw message of the workspace (top level, replies, broadcasts once) by document id. */
function rawMessages(workspace: Workspace): Map<string, SlackObject> {
  const byId = new Map<string, SlackObject>();
  for (const channel of workspace.channels) {
    for (const message of channel.messages) byId.set(`${channel.info.id}-${message.ts}`, message);
    for (const replies of channel.replies.values()) for (const reply of replies) byId.set(`${channel.info.id}-${reply.ts}`, reply);
  }
  return byId;
}

const words = (text: string): string[] => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? [];

t.test(
  'the whole workspace through the CLI: every author and conversation is a name, block and attachment text is searchable once',
  async (t) => {
    const { workspace, slack } = await serveWorkspace(t, sharedWorkspace);
    const directory = await temporaryDirectory(t);
    const out = join(directory, 'all.ndjson');
    const result = await runCliInProcess(
      [
        'export',
        '--out',
        out,
        '--fetch-last-n-days',
        '0',
        '--channel-types',
        'public,private,im,mpim',
        '--tier-rates',
        scaledTierRatesFlag,
        '--quiet',
      ],
      { env: { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url, SLACK_ETL_NOW: String(workspace.now * 1000) } },
    );
    t.equal(result.code, 0, result.stderr);
    const documents = await readNdjson(out);
    const messages = documents.filter((document) => document.type === 'message') as MessageDocument[];
    const channels = documents.filter((document) => document.type === 'channel') as ChannelDocument[];
    t.ok(messages.length > 1000, 'a whole workspace was read');

    // Item 5: authors and conversations are names.
    t.same(
      messages.filter((message) => message.author === null || rawId.test(message.author)).map((message) => [message._id, message.author]),
      [],
      'no author is a raw id',
    );
    t.same(
      channels.filter((channel) => channel.name === null || rawId.test(channel.name)).map((channel) => channel._id),
      [],
      'no conversation is named by an id',
    );
    t.same(
      messages.filter((message) => rawId.test(message.channel)).map((message) => message._id),
      [],
      'no message names its conversation by an id',
    );
    const imChannel = workspace.channels.find((channel) => channel.info.is_im)!;
    const partner = workspace.users.find((user) => user.id === imChannel.info.user)!;
    t.equal(
      channels.find((channel) => channel._id === imChannel.info.id)?.name,
      partner.profile.display_name_normalized || partner.profile.real_name_normalized || partner.real_name || partner.name,
      'the DM is named after the other person',
    );
    const mpim = workspace.channels.find((channel) => channel.info.is_mpim)!;
    t.equal(
      channels.find((channel) => channel._id === mpim.info.id)?.name,
      (mpim.info.name as string)
        .replace(/^mpdm-/, '')
        .replace(/-\d+$/, '')
        .split('--')
        .join(', '),
      'a group DM reads as its members',
    );

    const raw = rawMessages(workspace);
    const rawOf = (message: MessageDocument): SlackObject => raw.get(message._id)!;
    const bareBots = messages.filter(
      (message) => rawOf(message).subtype === 'bot_message' && !rawOf(message).bot_profile && !rawOf(message).username,
    );
    t.ok(bareBots.length > 0, 'the workspace has bot_messages with only a bot_id');
    for (const message of bareBots)
      t.equal(message.author, workspace.bots.find((bot) => bot.id === message.author_id)?.name, 'bots.info names a bare bot_message');
    const appsWithoutProfile = messages.filter((message) => rawOf(message).bot_id && rawOf(message).user && !rawOf(message).bot_profile);
    t.ok(appsWithoutProfile.length > 0, 'the workspace has app messages without bot_profile');
    for (const message of appsWithoutProfile)
      t.equal(message.author, workspace.users.find((user) => user.id === message.author_id)?.real_name, 'users.list names the bot user');
    const botInfoCalls = slack.calls.filter((call) => call.method === 'bots.info').map((call) => call.params.bot);
    t.ok(botInfoCalls.length > 0, 'bots.info was called');
    t.equal(new Set(botInfoCalls).size, botInfoCalls.length, 'bots.info at most once per bot id');
    for (const connect of workspace.connectUsers) {
      const posted = messages.filter((message) => message.author_id === connect.id);
      t.ok(posted.length > 0, 'a Slack Connect user posted');
      for (const message of posted)
        t.equal(message.author, connect.profile.display_name || connect.profile.real_name, 'named by the user_profile of the message');
    }
    const connectIds = new Set(workspace.connectUsers.map((user) => user.id as string));
    const connectLookups = slack.calls
      .filter((call) => call.method === 'users.info' && connectIds.has(call.params.user as string))
      .map((call) => call.params.user);
    t.equal(
      new Set(connectLookups).size,
      connectLookups.length,
      'users.info at most once per Slack Connect id (for their mentions; their messages name them)',
    );

    // Item 4: text in blocks, attachments and unfurls is searchable, and never repeated.
    const mirrored = messages.filter(
      (message) =>
        rawOf(message).blocks && rawOf(message).text !== '' && !rawOf(message).bot_id && rawOf(message).blocks[0].type === 'rich_text',
    );
    t.ok(mirrored.length > 50, 'many user messages carry rich_text blocks mirroring their text');
    t.same(
      mirrored.filter((message) => message.blocks_text !== null).map((message) => [message.text, message.blocks_text]),
      [],
      'rich text that mirrors text is not repeated',
    );
    const blocksOnly = messages.find((message) => rawOf(message).text === '' && rawOf(message).blocks)!;
    t.match(
      blocksOnly.text,
      /^Release checklist for #engineering owned by @.+ :rocket:\nFreeze the branch\nTag v2\.4\.0 \(https:\/\/example\.com\/releases\/v2\.4\.0\)\nShip small, ship often\nnpm run release -- --tag latest\n@here sign-off by Dec 31, 2026$/,
    );
    const placeholder = messages.find((message) => rawOf(message).text === "This content can't be displayed.")!;
    t.match(
      placeholder.text,
      /^Deploy finished\n\*api\* is live on production \(https:\/\/status\.example\.com\), approved by @.+\n\*Version\*\n2\.4\.0\n\*Region\*\neu-west-1\nTriggered from #engineering$/,
    );
    const summary = messages.find((message) => message.text === 'Incident INC-7 resolved')!;
    t.equal(
      summary.blocks_text,
      'Root cause: expired TLS certificate on the edge proxy\n*Duration*\n42 minutes',
      'only what the text does not say',
    );
    let attachments = 0;
    for (const message of messages) {
      for (const attachment of rawOf(message).attachments ?? []) {
        attachments++;
        const searchable = ` ${words(`${message.text} ${message.blocks_text ?? ''} ${message.attachments_text ?? ''}`).join(' ')} `;
        const parts = [
          attachment.pretext,
          attachment.title,
          attachment.text,
          attachment.footer,
          attachment.service_name,
          ...(attachment.fields ?? []).flatMap((field: SlackObject) => [field.title, field.value]),
        ];
        for (const part of parts.filter((value): value is string => typeof value === 'string')) {
          if (!searchable.includes(` ${words(part).join(' ')} `)) t.fail(`${message._id}: attachment text "${part}" is not searchable`);
        }
      }
    }
    t.ok(attachments > 10, 'attachments and unfurls were checked');

    // created_at: the posting time in ISO-8601 UTC, to the millisecond.
    t.same(
      messages
        .filter(
          (message) =>
            message.created_at !==
            new Date(Number(message.ts.split('.')[0]) * 1000 + Number(message.ts.split('.')[1]!.slice(0, 3))).toISOString(),
        )
        .map((message) => message._id),
      [],
      'created_at is ts as ISO-8601 with milliseconds',
    );
  },
);

async function enrichedRun(
  slackUrl: string,
  nowMs: number,
  channels?: string[],
): Promise<{ documents: AnyDocument[]; callsByMethod: Record<string, number> }> {
  const source = slackSource({
    token: testToken,
    slackApiUrl: slackUrl,
    tierRates: scaledTierRates,
    now: nowMs,
    fetchLastNDays: 0,
    channels,
  });
  const documents: AnyDocument[] = [];
  for await (const document of enrich(source.lookups)(source)) documents.push(document);
  return { documents, callsByMethod: source.stats().api.callsByMethod };
}

t.test(
  '#channel mentions read the same whatever the selection: every listed conversation, then conversations.info once per id',
  async (t) => {
    const { workspace, slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
    const full = await enrichedRun(slack.url, nowMs);
    const generalOnly = await enrichedRun(slack.url, nowMs, ['general']);
    const general = workspace.channels.find((channel) => channel.info.name === 'general')!;
    const inGeneral = (documents: AnyDocument[]) =>
      documents.filter((document): document is MessageDocument => document.type === 'message' && document.channel_id === general.info.id);
    const fromFull = inGeneral(full.documents);
    t.ok(
      fromFull.some((message) => /\(moved from #[a-z]/.test(message.text) || /See #engineering and #random/.test(message.text)),
      'unlabelled mentions of other channels are in #general',
    );
    t.strictSame(inGeneral(generalOnly.documents), fromFull, '--channels general gives #general the same documents as a full run');
    const asking = fromFull.find((message) => message.text.includes('Ask in'))!;
    const hidden = workspace.channels.find((channel) => channel.info.name === 'hr-private')!;
    t.match(
      asking.text,
      new RegExp(`Ask in #leadership or #${hidden.info.id}$`),
      'a private channel not listed resolves through conversations.info; one the token cannot see stays an id',
    );
    const infoCalls = slack.calls.filter((call) => call.method === 'conversations.info').map((call) => call.params.channel);
    t.ok(infoCalls.length > 0 && infoCalls.length <= 4, 'conversations.info only for conversations not listed');
    t.equal(full.callsByMethod['conversations.info'], 2, 'once per unlisted id in a run (leadership, hr-private)');
  },
);

t.test(
  'a message without a usable ts or with 50,000-deep blocks is skipped, counted and named in a warning; the rest is kept',
  async (t) => {
    const deep = '['.repeat(50_000) + ']'.repeat(50_000);
    const bodies: Record<string, string> = {
      'auth.test': '{"ok":true,"team_id":"T1","url":"https://x.slack.com/","user_id":"U0"}',
      'conversations.list': JSON.stringify({
        ok: true,
        channels: [{ id: 'C1', name: 'general', is_channel: true, is_member: true, created: 1 }],
        response_metadata: { next_cursor: '' },
      }),
      'users.list': JSON.stringify({
        ok: true,
        members: [{ id: 'U1', name: 'ann', profile: { display_name_normalized: 'ann' } }],
        response_metadata: { next_cursor: '' },
      }),
      'conversations.history': JSON.stringify({
        ok: true,
        messages: [
          { type: 'message', user: 'U1', text: 'deep', ts: '1700000003.000100', blocks: '@DEEP@' },
          { type: 'message', user: 'U1', text: 'no ts' },
          { type: 'message', user: 'U1', text: 'number ts', ts: 1700000002.5 },
          { type: 'message', user: 'U1', text: 'word ts', ts: 'yesterday' },
          null,
          { type: 'message', user: 'U1', text: 'fine', ts: '1700000001.000100' },
        ],
        has_more: false,
      }).replace('"@DEEP@"', `[{"type":"rich_text","elements":${deep}}]`),
    };
    const server = createServer((request, response) => {
      const method = (request.url ?? '').split('?')[0]!.split('/').pop()!;
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(bodies[method] ?? '{"ok":false,"error":"unknown_method"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const warnings: string[] = [];
    const logger: Logger = { debug() {}, info() {}, warn: (message: string) => void warnings.push(message), error() {} };
    const source = slackSource({
      token: testToken,
      slackApiUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`,
      fetchLastNDays: 0,
      logger,
    });
    const documents: AnyDocument[] = [];
    for await (const document of enrich(source.lookups)(source)) documents.push(document);
    t.same(
      documents.filter((document) => document.type === 'message').map((document) => [document._id, (document as MessageDocument).author]),
      [['C1-1700000001.000100', 'ann']],
    );
    t.equal(source.stats().messagesSkipped, 5);
    t.match(warnings, [
      /^skipped a message in 'general' \(C1\) at position 1 of a page: it is nested more than \d+ levels deep$/,
      /position 2 of a page: it has no ts$/,
      /position 3 of a page: its ts is a number, not a string$/,
      /position 4 of a page: its ts "yesterday" is not a Slack timestamp$/,
      /position 5 of a page: it is not a JSON object$/,
    ]);
    t.ok(source.report().complete, 'the channel still counts as read completely');
  },
);
