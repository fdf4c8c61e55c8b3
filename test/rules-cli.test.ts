// Sync rules through the CLI: a rules file that excludes a channel and keeps one author's messages, and `rules check`.

import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { exportArgs, idsOf, readNdjson, runCli, serveWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';
import { repositoryPath } from './helpers/paths.js';

const fixture = (name: string) => repositoryPath(`fixtures/rules/${name}`);
// Several channels and authors; exports never join a channel, so both export tests read the same workspace.
const sharedWorkspace = generateWorkspace({ size: 'small', seed: 7, messageCount: 600, userCount: 20 });

t.test("export --rules: a channel excluded and only one author's messages kept, exactly", async (t) => {
  const { slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = exportArgs(slack, '--quiet');

  const everything = await runCliInProcess([...common, '--out', join(directory, 'all.ndjson')], { env });
  t.equal(everything.code, 0, everything.stderr);
  const all = await readNdjson(join(directory, 'all.ndjson'));
  const messages = all.filter((document) => document.type === 'message');
  const channelNames = [...new Set(messages.map((document) => String(document.channel)))].sort();
  t.ok(channelNames.length >= 2, 'messages in several channels');
  const excludedChannel = channelNames[0]!;
  const authorCounts = new Map<string, number>();
  for (const message of messages)
    if (message.channel !== excludedChannel) authorCounts.set(String(message.author), (authorCounts.get(String(message.author)) ?? 0) + 1);
  const [author] = [...authorCounts.entries()].sort((left, right) => right[1] - left[1])[0]!;

  const rulesPath = join(directory, 'rules.json');
  await writeFile(
    rulesPath,
    JSON.stringify([
      { id: 'DEFAULT', order: 0, policy: 'include', field: '_', rule: 'regex', value: '.*' },
      { id: 'no-channel', order: 1, policy: 'exclude', field: 'channel', rule: 'equals', value: excludedChannel },
      { id: 'keep-author', order: 2, policy: 'include', field: 'author', rule: 'equals', value: author },
      { id: 'no-other-messages', order: 3, policy: 'exclude', field: 'type', rule: 'equals', value: 'message' },
    ]),
  );
  const filtered = await runCliInProcess([...common, '--rules', rulesPath, '--out', join(directory, 'filtered.ndjson')], { env });
  t.equal(filtered.code, 0, filtered.stderr);
  const expected = all.filter(
    (document) => document.type !== 'message' || (document.channel !== excludedChannel && document.author === author),
  );
  const got = await readNdjson(join(directory, 'filtered.ndjson'));
  t.strictSame(
    idsOf(got as Array<{ _id: string }>),
    idsOf(expected as Array<{ _id: string }>),
    "exactly the users, channels and that author's messages outside the excluded channel",
  );
  t.ok(
    got.some((document) => document.type === 'message'),
    'some messages kept',
  );

  const withSummary = await runCliInProcess(
    [...common.filter((flag) => flag !== '--quiet'), '--rules', rulesPath, '--out', join(directory, 'again.ndjson')],
    { env },
  );
  t.match(
    withSummary.stderr,
    new RegExp(`filtered by rules: ${(all.length - expected.length).toLocaleString('en-US')}`),
    'the summary counts the filtered documents',
  );
});

t.test('export --rules with DEFAULT set to exclude: an include-only list keeps exactly what its rules include', async (t) => {
  const { slack, nowMs } = await serveWorkspace(t, sharedWorkspace);
  const directory = await temporaryDirectory(t);
  const env = { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) };
  const common = exportArgs(slack, '--quiet');
  const everything = await runCliInProcess([...common, '--out', join(directory, 'all.ndjson')], { env });
  t.equal(everything.code, 0, everything.stderr);
  const all = await readNdjson(join(directory, 'all.ndjson'));
  const kept = String(all.find((document) => document.type === 'message')?.channel);

  const rulesPath = join(directory, 'include-only.json');
  await writeFile(
    rulesPath,
    JSON.stringify([
      { id: 'DEFAULT', order: 0, policy: 'exclude', field: '_', rule: 'regex', value: '.*' },
      { id: 'keep-channel', order: 1, policy: 'include', field: 'channel', rule: 'equals', value: kept },
      { id: 'keep-people', order: 2, policy: 'include', field: 'type', rule: 'equals', value: 'user' },
    ]),
  );
  const filtered = await runCliInProcess([...common, '--rules', rulesPath, '--out', join(directory, 'filtered.ndjson')], { env });
  t.equal(filtered.code, 0, filtered.stderr);
  const expected = all.filter((document) => document.type === 'user' || (document.type === 'message' && document.channel === kept));
  const got = await readNdjson(join(directory, 'filtered.ndjson'));
  t.ok(expected.length < all.length, 'the list leaves documents out');
  t.strictSame(
    idsOf(got as Array<{ _id: string }>),
    idsOf(expected as Array<{ _id: string }>),
    `users and the messages of #${kept}, nothing else`,
  );
});

t.test('rules check: a catastrophic regex is a warning; 20,000 rules is one clear line and exit 2', async (t) => {
  const directory = await temporaryDirectory(t);
  const hostile = join(directory, 'hostile.json');
  await writeFile(hostile, JSON.stringify([{ id: 'nested', order: 1, policy: 'exclude', field: 'text', rule: 'regex', value: '(a+)+$' }]));
  const warned = await runCliInProcess(['rules', 'check', hostile]);
  t.equal(warned.code, 0, 'valid: evaluated in linear time');
  t.match(warned.stderr, /^warning: rule nested: regex "\(a\+\)\+\$" has nested repetition/m);
  const many = join(directory, 'many.json');
  await writeFile(
    many,
    JSON.stringify(
      Array.from({ length: 20_000 }, (_, index) => ({
        id: `r${index}`,
        order: index,
        policy: 'exclude',
        field: 'channel',
        rule: 'equals',
        value: `c${index}`,
      })),
    ),
  );
  const refused = await runCliInProcess(['rules', 'check', many]);
  t.equal(refused.code, 2);
  t.match(refused.stderr, /^20,000 rules is more than the 10,000 slack-etl accepts/);
  const exported = await runCliInProcess(['export', '--rules', many, '--out', join(directory, 'never.ndjson')], {
    env: { SLACK_TOKEN: testToken },
  });
  t.equal(exported.code, 2, 'export refuses before any Slack call');
  t.equal(exported.stderr.trim().split('\n').length, 1, `one line: ${exported.stderr}`);
});

t.test('rules check: exit 0 for a valid file, exit 2 listing every problem of a broken one', async (t) => {
  const valid = await runCliInProcess(['rules', 'check', fixture('array.json')]);
  t.equal(valid.code, 0, valid.stderr);
  t.match(valid.stdout, /^valid: \d+ rules/);
  const includeOnly = await runCliInProcess(['rules', 'check', fixture('include-only.json')]);
  t.equal(includeOnly.code, 0, includeOnly.stderr);
  t.match(includeOnly.stdout, /last\. exclude every document no rule above matches \(id DEFAULT\)/, 'the fall-through is listed last');
  // Through bin/slack-etl.js: exit 2 and every problem as a shell sees them.
  const invalid = await runCli(['rules', 'check', fixture('invalid.json')]);
  t.equal(invalid.code, 2);
  const problemLines = invalid.stderr.split('\n').filter((line) => line.startsWith('rule '));
  t.equal(problemLines.length, 10, 'all ten problems of the file, at once');
  const broken = await runCliInProcess(['rules', 'check', fixture('broken.json')]);
  t.equal(broken.code, 2);
  t.match(broken.stderr, /line 3, column 3/, 'a JSON syntax error with its position');
  const usage = await runCliInProcess(['rules', 'check']);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /rules check FILE/);
});
