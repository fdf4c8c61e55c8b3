// Every date field of a synced index, read under its own mapping, lands inside the workspace's real time range.

import t from 'tap';
import { join } from 'node:path';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { createElasticsearchClient } from '../lib/sinks/elasticsearch.js';
import { slackTsToIso } from '../lib/documents.js';
import { spawnSync } from 'node:child_process';

const documentsModule = new URL('../lib/documents.js', import.meta.url).href;
import { scaledTierRatesFlag, startWorkspace, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

t.test('date fields under their mappings fall between the oldest Slack time in the workspace and now', async (t) => {
  const { workspace, slack, nowMs } = await startWorkspace(t);
  const elasticsearch = await startFakeElasticsearch();
  t.teardown(() => elasticsearch.close());
  const directory = await temporaryDirectory(t);
  const result = await runCliInProcess(
    [
      'sync',
      '--index',
      'slack',
      '--dead-letter',
      join(directory, 'dead.ndjson'),
      '--slack-api-url',
      slack.url,
      '--tier-rates',
      scaledTierRatesFlag,
      '--channel-types',
      'public,private,im,mpim',
    ],
    {
      env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs), ELASTICSEARCH_URL: elasticsearch.url },
    },
  );
  t.equal(result.code, 0, result.stderr);

  // The real range: the oldest non-zero time Slack reports anywhere in the workspace (Slack's 0 means "never"), and now.
  const seconds: number[] = [];
  for (const user of workspace.users) if (Number(user.updated) > 0) seconds.push(Number(user.updated));
  for (const channel of workspace.channels) {
    const info = channel.info as Record<string, any>;
    for (const value of [info.created, info.topic?.last_set, info.purpose?.last_set, Number(info.updated) / 1000])
      if (Number(value) > 0) seconds.push(Number(value));
    for (const message of channel.messages) seconds.push(Number(message.ts));
  }
  const oldest = new Date(Math.floor(Math.min(...seconds)) * 1000).toISOString();
  const newest = new Date(nowMs + 1000).toISOString();

  const client = createElasticsearchClient({ node: elasticsearch.url });
  t.teardown(() => client.close());
  const mapping = await client.indices.getMapping({ index: 'slack' });
  const properties = mapping.slack!.mappings.properties!;
  const dateFields = Object.entries(properties)
    .filter(([, field]) => field.type === 'date')
    .map(([name]) => name);
  t.ok(dateFields.length >= 6, `date fields: ${dateFields.join(', ')}`);
  const withValues: string[] = [];
  for (const field of dateFields) {
    const present = (await client.count({ index: 'slack', query: { exists: { field } } })).count;
    if (present === 0) continue;
    withValues.push(field);
    const inRange = (
      await client.count({
        index: 'slack',
        query: { range: { [field]: { gte: oldest, lte: newest, format: 'strict_date_optional_time' } } },
      })
    ).count;
    // Documented exception: a user Slack gives no update time (Slackbot: `updated: 0`) has no `updated` and a `_timestamp` of the epoch.
    const unknownTime =
      field === '_timestamp'
        ? (
            await client.count({
              index: 'slack',
              query: {
                bool: {
                  filter: [{ term: { type: 'user' } }, { range: { _timestamp: { lte: '1970-01-01T00:00:00.000Z' } } }],
                  must_not: [{ exists: { field: 'updated' } }],
                },
              },
            })
          ).count
        : 0;
    t.equal(
      inRange + unknownTime,
      present,
      `${field}: all ${present} values read between ${oldest} and ${newest}` +
        (unknownTime ? ` (and ${unknownTime} user without an update time at the epoch)` : ''),
    );
  }
  for (const field of ['_timestamp', 'created', 'last_updated', 'updated', 'topic_last_updated', 'purpose_last_updated'])
    t.ok(withValues.includes(field), `${field} has values`);
});

t.test('slackTsToIso writes what Date#toISOString writes of the ts truncated to milliseconds, across days and edge cases', async (t) => {
  // The reference: the ts's digits to whole milliseconds (no float rounding), formatted by Date.
  const reference = (ts: string) => {
    const [seconds, fraction = ''] = ts.split('.');
    return new Date(Number(seconds) * 1000 + Number(fraction.padEnd(3, '0').slice(0, 3))).toISOString();
  };
  const cases = ['0', '0.1', '1.12', '59.999999', '86399.999999', '86400', '86400.000001', '1700000000.', '1700000000.123456'];
  cases.push('951782399.5', '951782400.5', '253402300799.999', '253402300800', '8639999999999.999');
  // Runs of one day, day changes, back-and-forth between days, and the same ts twice in a row (as created_at and _timestamp).
  for (let index = 0; index < 3000; index++) {
    const micros = String((index * 104_729) % 1_000_000).padStart(6, '0');
    cases.push(`${1_600_000_000 + ((index * 7919) % 400_000)}.${micros}`);
  }
  cases.push(cases.at(-1)!, '1600000000.000001', '1600000000.000001');
  // More distinct days than are remembered, then the first of them again.
  for (let day = 0; day <= 9000; day++) cases.push(`${day * 86_400 + 3661}.5`);
  cases.push('3661.5', '90061.25');
  const wrong = cases.filter((ts) => slackTsToIso(ts) !== reference(ts));
  t.same(wrong, [], 'every ts formats as Date does');
  t.equal(slackTsToIso('1700000000.123456'), '2023-11-14T22:13:20.123Z');
  t.equal(slackTsToIso(1_700_000_000.5), '2023-11-14T22:13:20.500Z', 'a number (a channel created, an updated time)');
  t.throws(() => slackTsToIso('1700000000.12a'), /not a Slack timestamp: 1700000000\.12a/);
  t.throws(() => slackTsToIso('99999999999999'), RangeError, 'beyond the range of Date');
  t.throws(() => slackTsToIso('8640000000000.5'), RangeError, 'just past the end of the range of Date');
  t.equal(slackTsToIso('8640000000000'), '+275760-09-13T00:00:00.000Z', 'the last time Date can write');
  t.throws(() => slackTsToIso(''), /not a Slack timestamp/, 'an empty ts');
  // And as the first call of a process (the memo of the last ts starts empty).
  const firstCall = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { slackTsToIso } from ${JSON.stringify(documentsModule)}; slackTsToIso('');`],
    { encoding: 'utf8' },
  );
  t.match(firstCall.stderr, /not a Slack timestamp/, 'an empty ts throws in a fresh process too');
});
