// Golden documents: payloads shaped like Slack's documented examples, through conversion, enrichment and dedupe, every field asserted.

import t from 'tap';
import { contentHash } from '../lib/content-hash.js';
import type { AnyDocument } from '../lib/documents.js';
import { toChannelDocument, toMessageDocument, toUserDocument } from '../lib/sources/slack/to-documents.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { collect, fromArray } from './helpers/documents.js';

type Raw = Record<string, any>;
const teamUrl = 'https://ghostbusters.slack.com/';

// users.list members as Slack's reference shows them (a person, a second person, an app's bot user).
const spengler: Raw = {
  id: 'W012A3CDE',
  team_id: 'T012AB3C4',
  name: 'spengler',
  deleted: false,
  color: '9f69e7',
  real_name: 'spengler',
  tz: 'America/Los_Angeles',
  tz_label: 'Pacific Daylight Time',
  tz_offset: -25200,
  profile: {
    avatar_hash: 'ge3b51ca72de',
    status_text: 'Print is dead',
    status_emoji: ':books:',
    real_name: 'Egon Spengler',
    display_name: 'spengler',
    real_name_normalized: 'Egon Spengler',
    display_name_normalized: 'spengler',
    email: 'spengler@ghostbusters.example.com',
    image_24: 'https://.../ge3b51ca72de_24.jpg',
    team: 'T012AB3C4',
  },
  is_admin: true,
  is_owner: false,
  is_primary_owner: false,
  is_restricted: false,
  is_ultra_restricted: false,
  is_bot: false,
  updated: 1502138686,
  is_app_user: false,
  has_2fa: false,
};
const glinda: Raw = {
  id: 'W07QCRPA4',
  team_id: 'T0G9PQBBK',
  name: 'glinda',
  deleted: false,
  real_name: 'Glinda Southgood',
  tz: 'America/Los_Angeles',
  profile: {
    title: 'Glinda the Good',
    real_name: 'Glinda Southgood',
    real_name_normalized: 'Glinda Southgood',
    display_name: 'Glinda the Fairly Good',
    display_name_normalized: 'Glinda the Fairly Good',
    first_name: 'Glinda',
    last_name: 'Southgood',
    team: 'T0G9PQBBK',
  },
  is_admin: false,
  is_owner: false,
  is_bot: false,
  updated: 1480527098,
};
const beforeBotUser: Raw = {
  id: 'U012ABCDEF',
  team_id: 'T012AB3C4',
  name: 'beforebot',
  deleted: false,
  real_name: 'Before Bot',
  profile: {
    real_name: 'Before Bot',
    real_name_normalized: 'Before Bot',
    display_name: '',
    display_name_normalized: '',
    bot_id: 'B061F7JD2',
    api_app_id: 'A161CLERW',
    team: 'T012AB3C4',
  },
  is_admin: false,
  is_owner: false,
  is_bot: true,
  updated: 1449272004,
};

// conversations.info's documented public channel (newer snapshot, with `updated` in milliseconds) and conversations.list's documented im.
const general: Raw = {
  id: 'C012AB3CD',
  name: 'general',
  is_channel: true,
  is_group: false,
  is_im: false,
  is_mpim: false,
  is_private: false,
  created: 1449252889,
  is_archived: false,
  is_general: true,
  unlinked: 0,
  name_normalized: 'general',
  is_shared: false,
  is_org_shared: false,
  context_team_id: 'T012AB3C4',
  updated: 1723130875818,
  parent_conversation: null,
  creator: 'W012A3CDE',
  is_ext_shared: false,
  topic: { value: 'For public discussion of generalities', creator: 'W012A3CDE', last_set: 1449709364 },
  purpose: { value: 'This part of the workspace is for fun. Make fun here.', creator: 'W07QCRPA4', last_set: 1449709364 },
  previous_names: ['specifics', 'abstractions', 'etc'],
  is_member: true,
};
const im: Raw = {
  id: 'D0C0F7S8Y',
  created: 1498500348,
  is_im: true,
  is_org_shared: false,
  user: 'W012A3CDE',
  is_user_deleted: false,
  priority: 0,
};

const messages: Array<[Raw, Raw]> = [
  // What Slack's composer sends: `text` and a rich_text block saying the same.
  [
    {
      type: 'message',
      user: 'W012A3CDE',
      text: 'Hello <@W07QCRPA4>, the report is in <#C012AB3CD>',
      ts: '1512085950.000216',
      client_msg_id: '5b1c7d2a-9d7e-4a1f-8c1e-2f3a4b5c6d7e',
      team: 'T012AB3C4',
      blocks: [
        {
          type: 'rich_text',
          block_id: 'Vb2',
          elements: [
            {
              type: 'rich_text_section',
              elements: [
                { type: 'text', text: 'Hello ' },
                { type: 'user', user_id: 'W07QCRPA4' },
                { type: 'text', text: ', the report is in ' },
                { type: 'channel', channel_id: 'C012AB3CD' },
              ],
            },
          ],
        },
      ],
    },
    general,
  ],
  // Rich text only: a list, quote, preformatted run and every inline element kind, no `text`.
  [
    {
      type: 'message',
      user: 'W07QCRPA4',
      text: '',
      ts: '1795000000.123456',
      team: 'T0G9PQBBK',
      blocks: [
        {
          type: 'rich_text',
          block_id: 'q9X',
          elements: [
            {
              type: 'rich_text_section',
              elements: [
                { type: 'text', text: 'Plan for ' },
                { type: 'date', timestamp: 1798675200, format: '{date_short}', fallback: 'Dec 31, 2026' },
              ],
            },
            {
              type: 'rich_text_list',
              style: 'bullet',
              indent: 0,
              elements: [
                {
                  type: 'rich_text_section',
                  elements: [
                    { type: 'text', text: 'Ask ' },
                    { type: 'usergroup', usergroup_id: 'S0614TZR7' },
                  ],
                },
                {
                  type: 'rich_text_section',
                  elements: [
                    { type: 'link', url: 'https://example.com/a?b=1&c=2', text: 'the doc' },
                    { type: 'text', text: ' ' },
                    { type: 'emoji', name: 'tada', unicode: '1f389' },
                  ],
                },
              ],
            },
            { type: 'rich_text_quote', elements: [{ type: 'text', text: 'Ship it', style: { italic: true } }] },
            { type: 'rich_text_preformatted', border: 0, elements: [{ type: 'text', text: 'npm test' }] },
            {
              type: 'rich_text_section',
              elements: [
                { type: 'broadcast', range: 'channel' },
                { type: 'text', text: ' a < b' },
              ],
            },
          ],
        },
      ],
    },
    general,
  ],
  // An app's Block Kit message (user + bot_id, no bot_profile): Slack's placeholder text, content in blocks.
  [
    {
      type: 'message',
      user: 'U012ABCDEF',
      bot_id: 'B061F7JD2',
      app_id: 'A161CLERW',
      text: "This content can't be displayed.",
      ts: '1700000000.500000',
      team: 'T012AB3C4',
      blocks: [
        { type: 'header', block_id: 'h', text: { type: 'plain_text', text: 'Deploy finished', emoji: true } },
        {
          type: 'section',
          block_id: 's',
          text: { type: 'mrkdwn', text: '*api* is live, approved by <@W012A3CDE>' },
          fields: [{ type: 'mrkdwn', text: '*Version*\n2.4.0' }],
        },
        {
          type: 'context',
          block_id: 'c',
          elements: [
            { type: 'image', image_url: 'https://example.com/i.png', alt_text: 'icon' },
            { type: 'mrkdwn', text: 'Deployed from <#C012AB3CD>' },
          ],
        },
        {
          type: 'actions',
          block_id: 'a',
          elements: [{ type: 'button', text: { type: 'plain_text', text: 'Roll back' }, action_id: 'rollback' }],
        },
      ],
    },
    general,
  ],
  // The attachment of Slack's secondary-attachments reference, posted by an integration with a username.
  [
    {
      type: 'message',
      subtype: 'bot_message',
      text: '',
      ts: '1358546515.000008',
      username: 'ghostbot',
      bot_id: 'B1A2B3C4',
      attachments: [
        {
          fallback: 'Required plain-text summary of the attachment.',
          color: '#36a64f',
          pretext: 'Optional pre-text that appears above the attachment block',
          author_name: 'author_name',
          author_link: 'http://flickr.com/bobby/',
          title: 'title',
          title_link: 'https://api.slack.com/',
          text: 'Optional `text` that appears within the attachment',
          fields: [
            { title: "A field's title", value: "This field's value", short: false },
            { title: "A short field's title", value: "A short field's value", short: true },
          ],
          footer: 'footer',
          ts: 123456789,
        },
      ],
    },
    general,
  ],
  // A bot_message with only its bot_id (bots.info names it), and a link unfurl.
  [
    {
      type: 'message',
      subtype: 'bot_message',
      ts: '1358877455.000010',
      text: 'Pushing is the answer <https://example.com/wiki/push>',
      bot_id: 'B061F7JD2',
      attachments: [
        {
          id: 1,
          from_url: 'https://example.com/wiki/push',
          original_url: 'https://example.com/wiki/push',
          service_name: 'Example Wiki',
          title: 'Push policy',
          title_link: 'https://example.com/wiki/push',
          text: 'When and how we push to production',
          fallback: 'Example Wiki: Push policy',
        },
      ],
    },
    general,
  ],
  // A Slack Connect user: in neither users.list nor users.info, named by the message's user_profile.
  [
    {
      type: 'message',
      user: 'U0EXTERNAL',
      text: 'Thanks for the invite!',
      ts: '1483125339.020269',
      team: 'T0PARTNER',
      user_team: 'T0PARTNER',
      source_team: 'T0PARTNER',
      user_profile: {
        avatar_hash: 'g1a2b3c4d5e6',
        image_72: 'https://secure.gravatar.com/avatar/g1a2b3c4d5e6.jpg',
        first_name: 'Dana',
        real_name: 'Dana Scully',
        display_name: '',
        team: 'T0PARTNER',
        name: 'dscully',
        is_restricted: false,
        is_ultra_restricted: false,
      },
    },
    general,
  ],
  // conversations.replies' documented thread: the parent (as history shows it), a reply, and a broadcast reply.
  [
    {
      type: 'message',
      user: 'U061F7AUR',
      text: 'island',
      thread_ts: '1482960137.003543',
      reply_count: 3,
      reply_users: ['U061F7AUR', 'W07QCRPA4'],
      reply_users_count: 2,
      latest_reply: '1483125339.020269',
      subscribed: true,
      ts: '1482960137.003543',
    },
    general,
  ],
  [
    {
      type: 'message',
      user: 'U061F7AUR',
      text: 'one island',
      thread_ts: '1482960137.003543',
      parent_user_id: 'U061F7AUR',
      ts: '1483037603.017503',
    },
    general,
  ],
  [
    {
      type: 'message',
      subtype: 'thread_broadcast',
      user: 'W07QCRPA4',
      text: 'Summary: <!here> we ship Friday',
      thread_ts: '1482960137.003543',
      root: { type: 'message', user: 'U061F7AUR', text: 'island', ts: '1482960137.003543' },
      ts: '1483051909.018632',
      edited: { user: 'W07QCRPA4', ts: '1483051999.000100' },
      reactions: [{ name: 'thumbsup', users: ['W012A3CDE', 'U061F7AUR'], count: 2 }],
    },
    general,
  ],
  // A file share: the file's metadata, never its content.
  [
    {
      type: 'message',
      text: 'Here is the diagram',
      files: [
        {
          id: 'F0S43PZDF',
          created: 1531763342,
          timestamp: 1531763342,
          name: 'tedair.gif',
          title: 'tedair.gif',
          mimetype: 'image/gif',
          filetype: 'gif',
          pretty_type: 'GIF',
          user: 'W012A3CDE',
          mode: 'hosted',
          size: 137531,
          url_private: 'https://files.slack.com/files-pri/T061EG9RZ-F0S43PZDF/tedair.gif',
          permalink: 'https://ghostbusters.slack.com/files/W012A3CDE/F0S43PZDF/tedair.gif',
        },
      ],
      upload: true,
      user: 'W012A3CDE',
      display_as_bot: false,
      ts: '1531763348.000001',
    },
    general,
  ],
  // A direct message.
  [{ type: 'message', user: 'W012A3CDE', text: 'see you at 10', ts: '1498500400.000100' }, im],
];

const base = {
  type: 'message',
  channel: 'general',
  channel_id: 'C012AB3CD',
  blocks_text: null,
  edited_ts: null,
  subtype: null,
  reply_count: null,
  latest_reply: null,
  thread_ts: null,
  files: null,
  attachments_text: null,
  reactions: null,
};
const link = (ts: string, threadTs?: string, channelId = 'C012AB3CD') =>
  `${teamUrl}archives/${channelId}/p${ts.replace('.', '')}${threadTs ? `?thread_ts=${threadTs}&cid=${channelId}` : ''}`;
const ids = (channelId: string, ts: string) => ({ _id: `${channelId}-${ts}`, id: `${channelId}-${ts}` });

const expected: Record<string, unknown>[] = [
  {
    _id: 'W012A3CDE',
    id: 'W012A3CDE',
    type: 'user',
    real_name_normalized: 'Egon Spengler',
    profile_real_name: 'Egon Spengler',
    display_name: 'spengler',
    display_name_normalized: 'spengler',
    first_name: null,
    last_name: null,
    name: 'spengler',
    deleted: false,
    real_name: 'spengler',
    is_admin: true,
    is_owner: false,
    is_bot: false,
    tz: 'America/Los_Angeles',
    title: null,
    updated: 1502138686,
    _timestamp: '2017-08-07T20:44:46.000Z',
  },
  {
    _id: 'W07QCRPA4',
    id: 'W07QCRPA4',
    type: 'user',
    real_name_normalized: 'Glinda Southgood',
    profile_real_name: 'Glinda Southgood',
    display_name: 'Glinda the Fairly Good',
    display_name_normalized: 'Glinda the Fairly Good',
    first_name: 'Glinda',
    last_name: 'Southgood',
    name: 'glinda',
    deleted: false,
    real_name: 'Glinda Southgood',
    is_admin: false,
    is_owner: false,
    is_bot: false,
    tz: 'America/Los_Angeles',
    title: 'Glinda the Good',
    updated: 1480527098,
    _timestamp: '2016-11-30T17:31:38.000Z',
  },
  {
    _id: 'U012ABCDEF',
    id: 'U012ABCDEF',
    type: 'user',
    real_name_normalized: 'Before Bot',
    profile_real_name: 'Before Bot',
    display_name: '',
    display_name_normalized: '',
    first_name: null,
    last_name: null,
    name: 'beforebot',
    deleted: false,
    real_name: 'Before Bot',
    is_admin: false,
    is_owner: false,
    is_bot: true,
    tz: null,
    title: null,
    updated: 1449272004,
    _timestamp: '2015-12-04T23:33:24.000Z',
  },
  {
    _id: 'C012AB3CD',
    id: 'C012AB3CD',
    type: 'channel',
    topic: 'For public discussion of generalities',
    topic_author: 'spengler',
    topic_last_updated: 1449709364,
    purpose: 'This part of the workspace is for fun. Make fun here.',
    purpose_author: 'Glinda the Fairly Good',
    purpose_last_updated: 1449709364,
    last_updated: 1723130875818,
    name: 'general',
    name_normalized: 'general',
    created: 1449252889,
    is_private: false,
    is_archived: false,
    num_members: null,
    url: `${teamUrl}archives/C012AB3CD`,
    _timestamp: '2024-08-08T15:27:55.818Z',
  },
  {
    _id: 'D0C0F7S8Y',
    id: 'D0C0F7S8Y',
    type: 'channel',
    topic: null,
    topic_author: null,
    topic_last_updated: null,
    purpose: null,
    purpose_author: null,
    purpose_last_updated: null,
    last_updated: null,
    name: 'spengler',
    name_normalized: null,
    created: 1498500348,
    is_private: true,
    is_archived: false,
    num_members: null,
    url: `${teamUrl}archives/D0C0F7S8Y`,
    _timestamp: '2017-06-26T18:05:48.000Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1512085950.000216'),
    author: 'spengler',
    author_id: 'W012A3CDE',
    author_type: 'user',
    text: 'Hello @Glinda the Fairly Good, the report is in #general',
    ts: '1512085950.000216',
    created_at: '2017-11-30T23:52:30.000Z',
    permalink: link('1512085950.000216'),
    _timestamp: '2017-11-30T23:52:30.000Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1795000000.123456'),
    author: 'Glinda the Fairly Good',
    author_id: 'W07QCRPA4',
    author_type: 'user',
    text: 'Plan for Dec 31, 2026\nAsk @S0614TZR7\nthe doc (https://example.com/a?b=1&c=2) :tada:\nShip it\nnpm test\n@channel a < b',
    ts: '1795000000.123456',
    created_at: '2026-11-18T11:06:40.123Z',
    permalink: link('1795000000.123456'),
    _timestamp: '2026-11-18T11:06:40.123Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1700000000.500000'),
    author: 'Before Bot',
    author_id: 'U012ABCDEF',
    author_type: 'bot',
    text: 'Deploy finished\n*api* is live, approved by @spengler\n*Version*\n2.4.0\nDeployed from #general',
    ts: '1700000000.500000',
    created_at: '2023-11-14T22:13:20.500Z',
    permalink: link('1700000000.500000'),
    _timestamp: '2023-11-14T22:13:20.500Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1358546515.000008'),
    author: 'ghostbot',
    author_id: 'B1A2B3C4',
    author_type: 'bot',
    text: '',
    ts: '1358546515.000008',
    created_at: '2013-01-18T22:01:55.000Z',
    subtype: 'bot_message',
    permalink: link('1358546515.000008'),
    attachments_text: [
      'Optional pre-text that appears above the attachment block',
      'author_name',
      'title',
      'Optional `text` that appears within the attachment',
      "A field's title: This field's value",
      "A short field's title: A short field's value",
      'footer',
    ].join('\n'),
    _timestamp: '2013-01-18T22:01:55.000Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1358877455.000010'),
    author: 'beforebot',
    author_id: 'B061F7JD2',
    author_type: 'bot',
    text: 'Pushing is the answer https://example.com/wiki/push',
    ts: '1358877455.000010',
    created_at: '2013-01-22T17:57:35.000Z',
    subtype: 'bot_message',
    permalink: link('1358877455.000010'),
    attachments_text: 'Example Wiki\nPush policy\nWhen and how we push to production',
    _timestamp: '2013-01-22T17:57:35.000Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1483125339.020269'),
    author: 'Dana Scully',
    author_id: 'U0EXTERNAL',
    author_type: 'user',
    text: 'Thanks for the invite!',
    ts: '1483125339.020269',
    created_at: '2016-12-30T19:15:39.020Z',
    permalink: link('1483125339.020269'),
    _timestamp: '2016-12-30T19:15:39.020Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1482960137.003543'),
    author: 'Ilse Lander',
    author_id: 'U061F7AUR',
    author_type: 'user',
    text: 'island',
    ts: '1482960137.003543',
    created_at: '2016-12-28T21:22:17.003Z',
    reply_count: 3,
    latest_reply: '1483125339.020269',
    thread_ts: '1482960137.003543',
    permalink: link('1482960137.003543'),
    _timestamp: '2016-12-28T21:22:17.003Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1483037603.017503'),
    author: 'Ilse Lander',
    author_id: 'U061F7AUR',
    author_type: 'user',
    text: 'one island',
    ts: '1483037603.017503',
    created_at: '2016-12-29T18:53:23.017Z',
    thread_ts: '1482960137.003543',
    permalink: link('1483037603.017503', '1482960137.003543'),
    _timestamp: '2016-12-29T18:53:23.017Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1483051909.018632'),
    author: 'Glinda the Fairly Good',
    author_id: 'W07QCRPA4',
    author_type: 'user',
    text: 'Summary: @here we ship Friday',
    edited_ts: '1483051999.000100',
    ts: '1483051909.018632',
    created_at: '2016-12-29T22:51:49.018Z',
    subtype: 'thread_broadcast',
    thread_ts: '1482960137.003543',
    permalink: link('1483051909.018632', '1482960137.003543'),
    reactions: [{ name: 'thumbsup', count: 2 }],
    _timestamp: '2016-12-29T22:53:19.000Z',
  },
  {
    ...base,
    ...ids('C012AB3CD', '1531763348.000001'),
    author: 'spengler',
    author_id: 'W012A3CDE',
    author_type: 'user',
    text: 'Here is the diagram',
    ts: '1531763348.000001',
    created_at: '2018-07-16T17:49:08.000Z',
    permalink: link('1531763348.000001'),
    files: [
      {
        id: 'F0S43PZDF',
        name: 'tedair.gif',
        title: 'tedair.gif',
        mimetype: 'image/gif',
        filetype: 'gif',
        size: 137531,
        url_private: 'https://files.slack.com/files-pri/T061EG9RZ-F0S43PZDF/tedair.gif',
        permalink: 'https://ghostbusters.slack.com/files/W012A3CDE/F0S43PZDF/tedair.gif',
      },
    ],
    _timestamp: '2018-07-16T17:49:08.000Z',
  },
  {
    ...base,
    ...ids('D0C0F7S8Y', '1498500400.000100'),
    channel: 'spengler',
    channel_id: 'D0C0F7S8Y',
    author: 'spengler',
    author_id: 'W012A3CDE',
    author_type: 'user',
    text: 'see you at 10',
    ts: '1498500400.000100',
    created_at: '2017-06-26T18:06:40.000Z',
    permalink: link('1498500400.000100', undefined, 'D0C0F7S8Y'),
    _timestamp: '2017-06-26T18:06:40.000Z',
  },
];

t.test("Slack's documented payloads become exactly these documents, every field", async (t) => {
  const userLookups: string[] = [];
  const botLookups: string[] = [];
  const converted: AnyDocument[] = [
    ...[spengler, glinda, beforeBotUser].map(toUserDocument),
    toChannelDocument(general, teamUrl),
    toChannelDocument(im, teamUrl),
    ...messages.map(([message, channel]) => toMessageDocument(message, channel, teamUrl)),
  ];
  const stage = enrich({
    // users.info: knows the thread's author (a deleted user missing from users.list), not the Slack Connect user.
    lookupUser: async (id) => {
      userLookups.push(id);
      return id === 'U061F7AUR'
        ? {
            id,
            name: 'islander',
            real_name: 'Ilse Lander',
            deleted: true,
            profile: { display_name_normalized: '', real_name_normalized: 'Ilse Lander' },
          }
        : null;
    },
    // bots.info's documented answer.
    lookupBot: async (id) => {
      botLookups.push(id);
      return id === 'B061F7JD2' ? { id, name: 'beforebot', user_id: 'U012ABCDEF' } : null;
    },
  });
  const documents = await collect(dedupe()(stage(fromArray(converted))));
  t.equal(documents.length, expected.length);
  for (const [index, document] of documents.entries()) {
    const { content_hash: hash, ...fields } = document as AnyDocument & { content_hash: string };
    t.strictSame(fields, expected[index], `document ${index + 1}: ${document._id}`);
    t.equal(hash, contentHash(expected[index] as unknown as AnyDocument), `document ${index + 1}: content_hash of exactly these fields`);
  }
  t.same(
    userLookups,
    ['U061F7AUR'],
    'users.info only for the thread author missing from users.list; the Slack Connect user is named by user_profile',
  );
  t.same(botLookups, ['B061F7JD2'], 'bots.info once, for the bot_message that carries no name');
});
