// Discovery and help: list channels/users against the fake, --version, help on every command, --channels fixes.

import t from 'tap';
import { readFile } from 'node:fs/promises';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { parseNdjson, runCli, scaledTierRatesFlag, serveWorkspace, testToken } from './helpers/slack.js';
import { runCliInProcess as runMain } from './helpers/cli-in-process.js';
import { repositoryPath } from './helpers/paths.js';

// Every kind of channel and user, few messages: these tests list and select, none changes the workspace. Each test has its
// own fake (its own call log); most runs are in-process, a few go through bin/slack-etl.js where the process matters.
const sharedWorkspace = generateWorkspace({ size: 'small', seed: 7, messageCount: 300, userCount: 20 });

t.test('list channels and list users print what the token can see as NDJSON when piped', async (t) => {
  const { workspace, slack } = await serveWorkspace(t, sharedWorkspace);
  const env = { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url };
  const channels = await runMain(['list', 'channels', '--channel-types', 'public,private', '--tier-rates', scaledTierRatesFlag], { env });
  t.equal(channels.code, 0, channels.stderr);
  const listed = parseNdjson(channels.stdout);
  // As in Slack, a private channel is visible to the bot only once it is a member.
  const expected = workspace.channels.filter(
    (channel) => !channel.info.is_im && !channel.info.is_mpim && (!channel.info.is_private || channel.botIsMember),
  );
  t.strictSame(
    listed.map((row) => row.id).sort(),
    expected.map((channel) => channel.info.id).sort(),
    'every public channel and the private ones the bot is in',
  );
  for (const channel of expected) {
    const row = listed.find((candidate) => candidate.id === channel.info.id)!;
    t.strictSame(
      row,
      {
        id: channel.info.id,
        name: channel.info.name,
        type: channel.info.is_private ? 'private' : 'public',
        member: channel.botIsMember,
        archived: Boolean(channel.info.is_archived),
        members: channel.info.num_members ?? null,
      },
      `${channel.info.name}: id, name, type, member, archived, members`,
    );
  }
  // Through bin/slack-etl.js: a real pipe on stdout is what makes it NDJSON.
  const users = await runCli(['list', 'users', '--tier-rates', scaledTierRatesFlag], { env });
  t.equal(users.code, 0, users.stderr);
  const userRows = parseNdjson(users.stdout);
  t.equal(userRows.length, workspace.users.length, 'every users.list member');
  t.ok(userRows.some((row) => row.bot === true) && userRows.some((row) => row.deleted === true), 'bots and deleted users are marked');
  t.ok(userRows.every((row) => Object.keys(row).join() === 'id,name,display_name,bot,deleted'));

  const unknown = await runMain(['list', 'emoji'], { env });
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /cannot list 'emoji': use channels or users/);
});

t.test('--channels: #name works, an unknown or excluded entry says how to fix it, nothing readable exits 2', async (t) => {
  const { workspace, slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const env = { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--quiet', '--no-sync-users', '--tier-rates', scaledTierRatesFlag];
  const publicMember = workspace.channels.find(
    (channel) => channel.botIsMember && !channel.info.is_private && !channel.info.is_im && !channel.info.is_mpim,
  )!;
  const privateMember = workspace.channels.find((channel) => channel.botIsMember && channel.info.is_private && !channel.info.is_mpim)!;
  const hashed = await runMain([...common, '--channels', `#${publicMember.info.name}`], { env });
  t.equal(hashed.code, 0, hashed.stderr);
  const channelIds = new Set(parseNdjson(hashed.stdout).map((document) => document.channel_id ?? document.id));
  t.strictSame([...channelIds], [publicMember.info.id], '#name selects that channel');

  const excluded = await runMain([...common, '--channels', `#${privateMember.info.name}`], { env });
  t.equal(excluded.code, 2);
  t.match(
    excluded.stderr,
    new RegExp(
      `'${privateMember.info.name}' \\(${privateMember.info.id}\\) is a private channel, excluded by --channel-types public` +
        ' — add its type: --channel-types public,private',
    ),
  );
  t.equal(excluded.stdout, '');

  const partly = await runMain([...common, '--channels', `${publicMember.info.name},no-such-channel`], { env });
  t.equal(partly.code, 0, 'one readable channel is enough to run');
  t.match(
    partly.stderr,
    /channel 'no-such-channel' given in --channels was not found — check the name or id with 'slack-etl list channels/,
  );
});

t.test('--version, -V, help on every command, rules --help and help <command>', async (t) => {
  const manifest = JSON.parse(await readFile(repositoryPath('package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    // Through bin/slack-etl.js once: the built CLI finds package.json from dist/ too.
    const result = flag === '--version' ? await runCli([flag]) : await runMain([flag]);
    t.equal(result.code, 0);
    t.equal(result.stdout, `slack-etl ${manifest.version}\n`, `${flag} prints the package version`);
  }
  for (const args of [
    ['rules', '--help'],
    ['rules', 'check', '--help'],
    ['rules', '-h'],
    ['help', 'rules'],
  ]) {
    const result = await runMain(args);
    t.equal(result.code, 0, args.join(' '));
    t.match(result.stdout, /usage: slack-etl rules check FILE/, `${args.join(' ')} prints the rules usage`);
    t.match(result.stdout, /exit codes: 0 the file is valid/);
  }
  for (const command of ['export', 'sync', 'demo', 'list']) {
    const short = await runMain([command, '-h']);
    const viaHelp = await runMain(['help', command]);
    t.equal(short.code, 0, `${command} -h`);
    t.match(short.stdout, new RegExp(`^usage: slack-etl ${command}`));
    t.equal(viaHelp.stdout, short.stdout, `help ${command} equals ${command} -h`);
  }
  const general = await runMain(['help']);
  t.match(general.stdout, /slack-etl list channels\|users/);
  t.match(general.stdout, /-V, --version/);
});

t.test('export --dry-run names what it would read and the minimum calls and time, without reading history', async (t) => {
  const { workspace, slack } = await serveWorkspace(t, sharedWorkspace);
  const env = { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url };
  const result = await runMain(
    ['export', '--dry-run', '--fetch-last-n-days', '0', '--channel-types', 'public,private', '--tier-rates', '20,50,100'],
    { env },
  );
  t.equal(result.code, 0, result.stderr);
  const readable = workspace.channels.filter((channel) => !channel.info.is_im && !channel.info.is_mpim && channel.botIsMember);
  const output = result.stdout + result.stderr;
  for (const channel of readable)
    t.match(
      output,
      new RegExp(`${String(channel.info.id)}\\s+(public|private)\\s+member\\s+${String(channel.info.name)}`),
      `lists ${String(channel.info.name)}`,
    );
  t.match(
    output,
    new RegExp(`dry run: would read ${readable.length} channels \\(0 to join\\) and ${workspace.users.length} users, window all history`),
  );
  t.match(
    output,
    new RegExp(`at least ${3 + readable.length} API calls .*conversations\\.history ≥ ${readable.length}.*at --tier-rates 20,50,100`),
  );
  t.equal(
    slack.calls.filter((call) => call.method === 'conversations.history' || call.method === 'conversations.replies').length,
    0,
    'no history or replies read',
  );
});
