// A hostile or broken Slack: cursors that cycle and pages that never end fail the channel with a clear message
// instead of looping silently; the error policy table is the one README documents.

import { readFile } from 'node:fs/promises';
import t from 'tap';
import { SlackApiClient, SlackPaginationError } from '../lib/sources/slack/client.js';
import { actionFor, slackErrorPolicy } from '../lib/sources/slack/error-policy.js';
import { generateWorkspace } from '../fixtures/slack-api/generator.js';
import { exportArgs, parseNdjson, scaledTierRates, serveWorkspace, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';
import { repositoryPath } from './helpers/paths.js';

// Faults are per fake, and no test changes the workspace: one generated workspace, a fake of its own for each test.
const workspace = generateWorkspace({ size: 'small', seed: 7 });

t.test('paginate: a cursor that comes back again is a cycle, reported after the page that repeated it', async (t) => {
  const { slack } = await serveWorkspace(t, workspace);
  const general = workspace.channels.find((channel) => channel.info.name === 'general')!;
  slack.injectFault('conversations.history', 'repeatCursor', 1_000);
  const client = new SlackApiClient({ token: testToken, slackApiUrl: slack.url, tierRates: scaledTierRates });
  const pages: unknown[][] = [];
  const reading = (async () => {
    for await (const page of client.paginate('conversations.history', { channel: general.info.id, limit: 5 }, 'messages')) pages.push(page);
  })();
  const error = await reading.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  t.type(error, SlackPaginationError);
  t.match(error, {
    code: 'slack_pagination_loop',
    action: 'skip-channel',
    message: new RegExp(`conversations.history of channel ${general.info.id}: .*cursor cycle`),
  });
  t.equal(pages.length, 2, 'two pages read, the repeat noticed at once');
  t.equal(slack.stats().callsByMethod['conversations.history'], 2);
});

t.test('paginate: endless empty pages that claim more stop at the cap; so does a page count beyond maxPages', async (t) => {
  const { slack } = await serveWorkspace(t, workspace);
  slack.injectFault('users.list', 'endlessEmpty', 1_000);
  const client = new SlackApiClient({ token: testToken, slackApiUrl: slack.url, tierRates: scaledTierRates });
  let pages = 0;
  await t.rejects(
    (async () => {
      for await (const _ of client.paginate('users.list', { limit: 5 }, 'members', { maxEmptyPages: 25 })) pages++;
    })(),
    { code: 'slack_pagination_loop', message: /25 empty pages in a row still claimed more/ },
  );
  t.equal(pages, 25);
  const fresh = await serveWorkspace(t, workspace);
  const boundedClient = new SlackApiClient({ token: testToken, slackApiUrl: fresh.slack.url, tierRates: scaledTierRates });
  await t.rejects(
    (async () => {
      for await (const _ of boundedClient.paginate('users.list', { limit: 2 }, 'members', { maxPages: 3 }));
    })(),
    { message: /more than 3 pages/ },
  );
});

t.test('CLI: a channel whose history cursor cycles is skipped with a warning naming it; the others are exported', async (t) => {
  const { slack, nowMs } = await serveWorkspace(t, workspace);
  // Every history call repeats its cursor: every channel with more than one page cycles.
  slack.injectFault('conversations.history', 'repeatCursor', 10_000);
  const result = await runCliInProcess(exportArgs(slack, '--out', '-'), {
    env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs) },
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /not syncing channel '[^']+' \(C[A-Z0-9]+\): Slack conversations\.history of channel C[A-Z0-9]+: .*cursor cycle/);
  t.match(result.stderr, /skipped: [1-9]/, 'counted as skipped in the summary');
  t.ok(
    parseNdjson(result.stdout).some((document) => document.type === 'user'),
    'the rest of the run went on',
  );
});

t.test("README's error table is the client's error policy, row for row", async (t) => {
  const readme = await readFile(repositoryPath('README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('| Slack answers | action |'));
  t.ok(section.length > 0, 'README has the Slack error table');
  const rows = new Map<string, string>();
  for (const line of section.split('\n').slice(2)) {
    if (!line.startsWith('|')) break;
    const [codes, action] = line
      .split('|')
      .slice(1, 3)
      .map((cell) => cell.trim());
    for (const code of codes!.matchAll(/`([a-z0-9_]+)`/g)) rows.set(code[1]!, action!);
  }
  t.same(Object.fromEntries(rows), slackErrorPolicy, 'every code with its action, nothing more, nothing less');
  t.equal(actionFor('some_new_error'), 'fatal', 'an unknown code is fatal');
  t.equal(actionFor('http_502'), 'retry', 'every 5xx is retried');
});
