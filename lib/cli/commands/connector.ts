// `slack-etl connector`: serve Elastic connectors (the connector protocol) until SIGINT or SIGTERM.

import { hostname } from 'node:os';
import { ConfigError } from '../../errors.js';
import { createLogger } from '../../log.js';
import { createElasticsearchClient } from '../../sinks/elasticsearch.js';
import { runConnectorService } from '../../connector/service.js';
import type { CliIo } from '../job.js';
import { secretsOf, type CliConfig } from '../options.js';

/** Elastic's service checks a running job every 5 s; a faster poll (tests) checks as often as it polls. */
const jobCheckIntervalMs = 5_000;

export async function runConnector(config: CliConfig, io: CliIo): Promise<number> {
  if (config.connectorIds.length === 0) {
    throw new ConfigError('usage', 'connector needs --connector-id ID', {
      hint: "the id of the connector in Kibana (Search → Connectors → the connector's overview); see 'slack-etl connector --help'",
    });
  }
  if (!config.esUrl)
    throw new ConfigError('usage', 'connector needs an Elasticsearch URL', { hint: 'set ELASTICSEARCH_URL or pass --es-url' });
  if (config.esUsername && !config.esPassword) {
    throw new ConfigError('usage', '--es-username needs a password', {
      hint: 'set ELASTICSEARCH_PASSWORD (preferred) or pass --es-password',
    });
  }
  // Tokens join this list as the service reads them from Kibana's configuration: every log line is redacted with it.
  const secrets = secretsOf(config);
  const logger = createLogger({ format: config.logFormat, secrets, write: (line) => io.stderr.write(line + '\n') });
  const client = createElasticsearchClient({
    node: config.esUrl,
    apiKey: config.esApiKey,
    username: config.esUsername,
    password: config.esPassword,
    caCertPath: config.esCaCert,
  });

  const stop = new AbortController();
  const onSignal = (signal: string) => {
    if (stop.signal.aborted) return;
    logger.warn(`received ${signal}: stopping; a running job is suspended and resumes at the next start`);
    stop.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    await runConnectorService({
      context: {
        client,
        config,
        io,
        logger,
        secrets,
        hostname: hostname(),
        checkIntervalMs: Math.min(jobCheckIntervalMs, config.pollIntervalSeconds * 1000),
      },
      connectorIds: config.connectorIds,
      pollIntervalMs: config.pollIntervalSeconds * 1000,
      signal: stop.signal,
    });
    return 0;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await client.close();
  }
}
