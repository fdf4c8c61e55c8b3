// Every date field of a synced index, read under its own mapping, lands inside the workspace's real time range.

import t from 'tap';
import { join } from 'node:path';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { createElasticsearchClient } from '../lib/sinks/elasticsearch.js';
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
