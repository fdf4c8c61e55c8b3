// `slack-etl sync` end to end: a mid-sized workspace into the fake Elasticsearch, re-sync with no change, edits and deletions.

import t from 'tap';
import { join } from 'node:path';
import { startFakeElasticsearch } from '../fixtures/elasticsearch/server.js';
import { expectedIds } from '../fixtures/slack-api/ground-truth.js';
import { readNdjson, scaledTierRatesFlag, startWorkspace, syncArgs, temporaryDirectory, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

t.test(
  'sync of a mid-sized workspace: exact ids and contents, an unchanged re-sync writes nothing, --delete-stale applies edits and deletions',
  async (t) => {
    // A quarter of the medium workspace: still many channels, bulk batches and pages, at a quarter of the CPU.
    const { workspace, slack, nowMs } = await startWorkspace(t, { channelCount: 24, messageCount: 12_000, userCount: 120 });
    const elasticsearch = await startFakeElasticsearch({ auth: { apiKey: 'test-api-key' } });
    t.teardown(() => elasticsearch.close());
    const directory = await temporaryDirectory(t);
    const env = {
      SLACK_TOKEN: testToken,
      SLACK_ETL_NOW: String(nowMs),
      ELASTICSEARCH_URL: elasticsearch.url,
      ELASTICSEARCH_API_KEY: 'test-api-key',
    };
    const common = ['--slack-api-url', slack.url, '--tier-rates', scaledTierRatesFlag, '--concurrency', '8'];
    const sync = (...extra: string[]) =>
      runCliInProcess(['sync', '--index', 'slack', '--dead-letter', join(directory, 'dead.ndjson'), ...common, ...extra], {
        env,
      });

    const truth = expectedIds(workspace, {
      now: workspace.now,
      fetchLastNDays: 180,
      threads: true,
      syncUsers: true,
      autoJoinChannels: false,
      channelTypes: ['public'],
    });
    const first = await sync();
    t.equal(first.code, 0, first.stderr);
    t.match(first.stderr, /synced [\d,]+ documents/, 'a summary');
    const index = elasticsearch.indices.get('slack');
    t.ok(index, 'the index was created');
    t.strictSame([...index!.documents.keys()].sort(), [...truth.all].sort(), 'the index holds exactly the expected ids');

    const exported = await runCliInProcess(['export', ...common, '--out', join(directory, 'export.ndjson'), '--quiet'], { env });
    t.equal(exported.code, 0, exported.stderr);
    const exportDocuments = await readNdjson(join(directory, 'export.ndjson'));
    let sameContent = 0;
    for (const document of exportDocuments) {
      const { _id, ...source } = document;
      const indexed = index!.documents.get(_id as string);
      if (indexed && JSON.stringify(Object.entries(indexed).sort()) === JSON.stringify(Object.entries(source).sort())) sameContent++;
    }
    t.equal(sameContent, exportDocuments.length, 'every indexed document equals the NDJSON export of the same workspace');

    const itemsBefore = elasticsearch.stats().itemsByAction;
    const second = await sync();
    t.equal(second.code, 0, second.stderr);
    t.strictSame(elasticsearch.stats().itemsByAction, itemsBefore, 'an unchanged re-sync sends no document to Elasticsearch');
    t.match(second.stderr, /indexed 0 · updated 0 · unchanged [\d,]+/, 'and says so');

    // Edit one message and delete another, both top-level, without replies, inside the window.
    const windowStart = workspace.now - 180 * 86_400;
    const candidates = workspace.channels
      .filter(
        (channel) =>
          channel.botIsMember && !channel.info.is_private && !channel.info.is_archived && !channel.info.is_im && !channel.info.is_mpim,
      )
      .flatMap((channel) =>
        channel.messages
          .filter((message) => Number(message.ts) >= windowStart && !message.thread_ts && !message.subtype)
          .map((message) => ({ channel, message })),
      );
    t.ok(candidates.length >= 2, 'plain messages in the window');
    const [edited, deleted] = [candidates[0]!, candidates[candidates.length - 1]!];
    workspace.editMessage(edited.channel.info.id, edited.message.ts, 'edited text for the sync test');
    workspace.deleteMessage(deleted.channel.info.id, deleted.message.ts);
    const editedId = `${edited.channel.info.id}-${edited.message.ts}`;
    const deletedId = `${deleted.channel.info.id}-${deleted.message.ts}`;

    const before = elasticsearch.stats().itemsByAction;
    const third = await sync('--delete-stale');
    t.equal(third.code, 0, third.stderr);
    const after = elasticsearch.stats().itemsByAction;
    const sent = (action: string) => (after[action] ?? 0) - (before[action] ?? 0);
    t.equal(sent('index'), 1, 'exactly one document re-indexed');
    t.equal(sent('delete'), 1, 'exactly one document deleted');
    t.equal(index!.documents.get(editedId)?.text, 'edited text for the sync test', 'the edit is in the index');
    t.notOk(index!.documents.has(deletedId), 'the deleted message is gone from the index');
    t.equal(index!.documents.size, truth.all.size - 1, 'nothing else was deleted');
  },
);

t.test('--delete-stale with --state is refused: an incremental run deletes through tombstones, never by absence', async (t) => {
  const { slack } = await startWorkspace(t);
  const result = await runCliInProcess(
    ['sync', '--index', 'slack', '--es-url', 'http://127.0.0.1:9', '--state', 'state.json', '--delete-stale', '--slack-api-url', slack.url],
    {
      env: { SLACK_TOKEN: testToken },
    },
  );
  t.equal(result.code, 2);
  t.match(result.stderr, /--delete-stale cannot be combined with --state/);
  t.strictSame(slack.stats().callsByMethod, {}, 'no Slack call');
});

t.test('documents Elasticsearch rejects for good land in the dead-letter file and the run exits 1 as partial', async (t) => {
  const { slack, nowMs } = await startWorkspace(t);
  // Every message whose ts ends in 7 fails with a mapping error on every attempt.
  const elasticsearch = await startFakeElasticsearch({
    mappingError: (source) => source.type === 'message' && String(source.ts).endsWith('7'),
  });
  t.teardown(() => elasticsearch.close());
  const directory = await temporaryDirectory(t);
  const deadLetter = join(directory, 'dead.ndjson');
  const result = await runCliInProcess(syncArgs(slack, 'slack', '--dead-letter', deadLetter), {
    env: { SLACK_TOKEN: testToken, SLACK_ETL_NOW: String(nowMs), ELASTICSEARCH_URL: elasticsearch.url },
  });
  t.equal(result.code, 1, 'a partial run');
  t.match(result.stderr, /the run was partial: \d+ documents were rejected/);
  const dropped = await readNdjson(deadLetter);
  t.ok(dropped.length > 0, 'the rejected documents are in the dead-letter file');
  const droppedIds = dropped.map((line) =>
    String((line.document as { _id?: string; id?: string })._id ?? (line.document as { id: string }).id),
  );
  t.ok(
    droppedIds.every((id) => id.endsWith('7')),
    'exactly the rejected ones',
  );
  const index = elasticsearch.indices.get('slack')!;
  t.ok(
    droppedIds.every((id) => !index.documents.has(id)),
    'and not in the index',
  );
  t.ok([...index.documents.values()].every((source) => !(source.type === 'message' && String(source.ts).endsWith('7'))));
  t.ok(index.documents.size > 0, 'everything else landed');
});
