// The README's library example, verbatim: `npm run typecheck` compiles it under strict; readme-example.test.ts keeps the two identical.
import { filter, take } from 'ix/asynciterable/operators';
import { slackSource, enrich, syncRules, loadRules, dedupe, ndjsonSink, pipeline } from 'slack-etl';

const source = slackSource({ token: process.env.SLACK_TOKEN!, since: 'P30D', channelTypes: ['public', 'private'] });
const stats = await pipeline(
  source,
  enrich(source.lookups),                                       // names for authors, mentions, channel refs, DMs
  syncRules(await loadRules('rules.json')),                     // Elastic basic sync rules
  filter((document) => document.type !== 'message' || document.author_type === 'user'), // an ix operator
  async function* shout(documents) {                            // your own stage; `documents` is typed for you
    for await (const document of documents) {
      yield document.type === 'message' ? { ...document, text: document.text.toUpperCase() } : document;
    }
  },
  dedupe(),                                                     // content_hash, repeats dropped
  take(50_000),                                                 // ix again
  ndjsonSink({ path: 'slack.ndjson.gz' }),
);
console.log(stats.documents, stats.source.api);
