// `slack-etl sync`: Slack → Elasticsearch index.

import { ConfigError } from '../../errors.js';
import { checkElasticsearch, createElasticsearchClient, elasticsearchSink } from '../../sinks/elasticsearch.js';
import { checkNdjsonTarget, ndjsonSink } from '../../sinks/ndjson.js';
import { teeSink } from '../../sinks/tee.js';
import { loadRules } from '../../transforms/sync-rules.js';
import { runSlackJob, type CliIo } from '../job.js';
import type { CliConfig } from '../options.js';

export async function runSync(config: CliConfig, io: CliIo): Promise<number> {
  if (!config.index) throw new ConfigError('usage', 'sync needs --index NAME', { hint: "see 'slack-etl sync --help'" });
  if (!config.esUrl) throw new ConfigError('usage', 'sync needs an Elasticsearch URL', { hint: 'set ELASTICSEARCH_URL or pass --es-url' });
  if (config.esUsername && !config.esPassword) {
    throw new ConfigError('usage', '--es-username needs a password', {
      hint: 'set ELASTICSEARCH_PASSWORD (preferred) or pass --es-password',
    });
  }
  if (config.deleteStale && config.state) {
    throw new ConfigError('usage', '--delete-stale cannot be combined with --state', {
      hint: 'with --state, messages deleted in Slack are found from the state and deleted from the index anyway: drop --delete-stale',
    });
  }
  if (config.deleteStale && config.until) {
    throw new ConfigError('usage', '--delete-stale cannot be combined with --until', {
      hint: 'messages newer than --until were not read, so they would look deleted: drop --until (or --delete-stale)',
    });
  }
  // The sink needs the rules too: --delete-stale removes indexed messages they exclude.
  const rules = config.rules ? await loadRules(config.rules) : [];
  const node = config.esUrl;
  const client = createElasticsearchClient({
    node,
    apiKey: config.esApiKey,
    username: config.esUsername,
    password: config.esPassword,
    caCertPath: config.esCaCert,
  });
  const index = config.index;
  const sink = elasticsearchSink({ client, index, deleteStale: config.deleteStale, deadLetterPath: config.deadLetter, rules });
  const alsoExport = config.alsoExport;
  try {
    return await runSlackJob({
      config,
      io,
      rules,
      preflight: async () => {
        if (alsoExport !== undefined) await checkNdjsonTarget(alsoExport);
        await checkElasticsearch(client, node, index);
      },
      // --also-export: one read of Slack into both; the index's figures stay the summary's, the file's join them.
      sink: alsoExport === undefined ? sink : teeSink(sink, ndjsonSink({ path: alsoExport, stdout: io.stdout })),
      verb: 'synced',
      destination: alsoExport === undefined ? `index ${index}` : `index ${index} and ${alsoExport === '-' ? 'stdout' : alsoExport}`,
    });
  } finally {
    await client.close();
  }
}
