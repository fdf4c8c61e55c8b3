// Slack export archives as a source: the API's documents from Slack's own export (ZIP, folder, Standard, Plus), windows, bad archives.

import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSlackArchiveFixture } from '../fixtures/slack-archive/writer.js';
import { slackArchiveSource } from '../lib/sources/archive/source.js';
import { openArchive } from '../lib/sources/archive/reader.js';
import { exportArgs, readNdjson, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

type Doc = Record<string, any>;
const allTypes = ['--channel-types', 'public,private,im,mpim'];
const fingerprints = (documents: Doc[]): string[] => documents.map((document) => `${document._id} ${document.content_hash}`).sort();

t.test("Slack's own export (ZIP) gives the API's documents: same _ids and content_hashes for users and messages", async (t) => {
  const { workspace, slack, nowMs } = await startWorkspace(t, { messageCount: 300, userCount: 20 });
  const directory = await temporaryDirectory(t);
  const archive = join(directory, 'ws.zip');
  await writeSlackArchiveFixture(workspace, { path: archive });
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const api = await runCliInProcess(
    exportArgs(slack, '--auto-join-channels', ...allTypes, '--out', join(directory, 'api.ndjson'), '--quiet'),
    { env },
  );
  t.equal(api.code, 0, api.stderr);
  const fromArchive = await runCliInProcess(
    ['export', '--from-archive', archive, ...allTypes, '--workspace-url', workspace.team.url, '--out', join(directory, 'a.ndjson')],
    { env: { SLACK_ETL_NOW: String(nowMs) } },
  );
  t.equal(fromArchive.code, 0, fromArchive.stderr);
  t.match(fromArchive.stderr, /Slack API calls: 0/, 'no Slack call');
  const apiDocuments = await readNdjson(join(directory, 'api.ndjson'));
  const archiveDocuments = await readNdjson(join(directory, 'a.ndjson'));
  const ofType = (documents: Doc[], type: string) => documents.filter((document) => document.type === type);

  t.strictSame(fingerprints(ofType(archiveDocuments, 'user')), fingerprints(ofType(apiDocuments, 'user')), 'users: same ids and hashes');
  // Channels the API read (an archived channel the bot cannot join is listed, but not read).
  const apiChannels = new Set(ofType(apiDocuments, 'message').map((message) => message.channel_id));
  const archiveMessagesOfApiChannels = ofType(archiveDocuments, 'message').filter((message) => apiChannels.has(message.channel_id));
  t.ok(ofType(apiDocuments, 'message').length > 200, 'the API export holds the workspace');
  // Names only one side can know: the API asks bots.info for a bot_message with only a bot_id (an export cannot), and
  // an export knows private channels the bot was never in (conversations.info does not show them to the API).
  const archiveById = new Map(archiveMessagesOfApiChannels.map((message) => [message._id, message]));
  const knownToOneSide = new Set(
    ofType(apiDocuments, 'message')
      .filter((message) => {
        const other = archiveById.get(message._id);
        if (!other || other.content_hash === message.content_hash) return false;
        const unnamedBot = other.author_type === 'bot' && other.author === other.author_id && message.author !== message.author_id;
        const hiddenChannel =
          message.text !== other.text &&
          /#C[A-Z0-9]{6,}/.test(message.text) &&
          message.text.replace(/#[\w-]+/g, '#') === other.text.replace(/#[\w-]+/g, '#');
        return unnamedBot || hiddenChannel;
      })
      .map((message) => message._id),
  );
  t.ok(knownToOneSide.size <= 2, 'only the bare bot_message and the mention of an invisible private channel differ');
  const comparable = (documents: Doc[]) => documents.filter((document) => !knownToOneSide.has(document._id));
  t.strictSame(
    fingerprints(comparable(archiveMessagesOfApiChannels)),
    fingerprints(comparable(ofType(apiDocuments, 'message'))),
    'messages of every channel the API read: same ids and hashes',
  );
  const archiveChannels = new Set(ofType(archiveDocuments, 'channel').map((channel) => channel._id));
  t.ok(
    [...apiChannels].every((id) => archiveChannels.has(id)),
    'every channel the API read is in the archive',
  );
  const privateOnlyInArchive = ofType(archiveDocuments, 'channel').filter(
    (channel) => !apiChannels.has(channel._id) && channel.is_private && !channel.is_archived,
  );
  t.ok(privateOnlyInArchive.length > 0, 'the export also holds private conversations the bot was never in (a Plus-style export)');
  t.ok(
    ofType(archiveDocuments, 'message').some((message) => message.permalink?.startsWith(workspace.team.url)),
    'permalinks built from --workspace-url',
  );
});

t.test(
  'the library source reads an unpacked export under a top folder, a Standard (public-only) export, a window and channel selection',
  async (t) => {
    const { workspace } = await startWorkspace(t, { messageCount: 300, userCount: 20 });
    const directory = await temporaryDirectory(t);
    const standard = join(directory, 'standard.zip');
    await writeSlackArchiveFixture(workspace, { path: standard, channelTypes: ['public'], topFolder: 'Acme Corp Slack export' });
    const folder = join(directory, 'unpacked');
    await writeSlackArchiveFixture(workspace, { path: folder });
    const collect = async (options: Parameters<typeof slackArchiveSource>[0]) => {
      const documents: Doc[] = [];
      for await (const document of slackArchiveSource(options)) documents.push(document);
      return documents;
    };
    const publicOnly = await collect({ path: standard });
    t.ok(
      publicOnly.filter((document) => document.type === 'channel').every((channel) => !channel.is_private),
      'a Standard export holds public channels',
    );
    const fromFolder = await collect({ path: folder, channelTypes: ['public'] });
    t.strictSame(fingerprints(fromFolder), fingerprints(publicOnly), 'folder and ZIP (with a top folder) read alike');

    const general = workspace.channels.find((channel) => channel.info.name === 'general')!;
    const window = await collect({ path: folder, channels: ['general'], fetchLastNDays: 30, now: workspace.now * 1000, syncUsers: false });
    const oldest = workspace.now - 30 * 86_400;
    const messages = window.filter((document) => document.type === 'message');
    t.ok(messages.length > 0 && messages.every((message) => message.channel_id === general.info.id), 'only the selected channel');
    t.ok(
      messages.every(
        (message) =>
          Number(
            message.thread_ts && message.thread_ts !== message.ts && message.subtype !== 'thread_broadcast'
              ? message.thread_ts
              : message.ts,
          ) >= oldest,
      ),
      'only the window (replies by their thread)',
    );
    t.notOk(
      window.some((document) => document.type === 'user'),
      'no user documents with syncUsers: false',
    );
  },
);

t.test('a missing or unreadable archive is one clear line and exit 2', async (t) => {
  const directory = await temporaryDirectory(t);
  await t.rejects(openArchive(join(directory, 'nope.zip')), { code: 'archive_missing', message: /nope\.zip does not exist/ });
  const notZip = join(directory, 'not.zip');
  await writeFile(notZip, 'hello');
  const broken = await runCliInProcess(['export', '--from-archive', notZip]);
  t.equal(broken.code, 2);
  t.match(broken.stderr, /is not a readable Slack export/);
  t.equal(broken.stderr.trim().split('\n').length, 1, 'one line');
  const empty = join(directory, 'empty');
  await import('node:fs/promises').then(({ mkdir }) => mkdir(empty));
  await t.rejects(openArchive(empty), { code: 'archive_invalid', message: /no users\.json or channels\.json/ });
  t.equal(await readFile(notZip, 'utf8'), 'hello', 'the archive is only read');
});
