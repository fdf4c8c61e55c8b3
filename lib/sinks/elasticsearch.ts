// Elasticsearch sink: bulk-indexes, skips unchanged documents, retries, dead-letters, deletes stale messages (parts in elasticsearch/).

import type { AnyDocument } from '../documents.js';
import { ConfigError } from '../errors.js';
import { defineSink, type Sink, type SinkContext } from '../stage.js';
import { checkIndexName, connectElasticsearch, createElasticsearchClient, secretsOf } from './elasticsearch/connection.js';
import { DeadLetters } from './elasticsearch/dead-letters.js';
import { deleteStaleMessages } from './elasticsearch/delete-stale.js';
import { ensureIndex } from './elasticsearch/index-setup.js';
import { emptyStats, type ElasticsearchSinkOptions, type ElasticsearchSinkStats } from './elasticsearch/options.js';
import { openWriter, requestRunner, type SinkRun } from './elasticsearch/run.js';
import { SeenMessages } from './elasticsearch/seen-messages.js';
import { writeDocuments } from './elasticsearch/write-documents.js';

export {
  checkElasticsearch,
  checkIndexName,
  connectElasticsearch,
  createElasticsearchClient,
  VersionedTransport,
  type ElasticsearchConnectionOptions,
} from './elasticsearch/connection.js';
export { indexMappings } from './elasticsearch/mappings.js';
export type { ElasticsearchSinkOptions, ElasticsearchSinkStats } from './elasticsearch/options.js';

export function elasticsearchSink(options: ElasticsearchSinkOptions): Sink<AnyDocument> {
  return defineSink(
    'elasticsearch',
    async (documents: AsyncIterable<AnyDocument>, context: SinkContext): Promise<ElasticsearchSinkStats> => {
      const index = options.index;
      checkIndexName(index);
      if (!options.client && !options.node) {
        throw new ConfigError('es_url_missing', 'no Elasticsearch URL given', { hint: 'pass --es-url or set ELASTICSEARCH_URL' });
      }
      const node = options.node ?? options.client!.connectionPool.connections[0]?.url.toString() ?? 'Elasticsearch';
      const secrets = secretsOf(options);
      const client = options.client ?? createElasticsearchClient({ ...options, node: options.node! });
      const stats = emptyStats();
      const run: SinkRun = {
        client,
        index,
        node,
        secrets,
        options,
        stats,
        logger: context.logger,
        signal: context.signal,
        writing: false,
        deadLetters: new DeadLetters(options.deadLetterPath, stats, context.logger, secrets),
        anomalies: new Set(),
      };
      const request = requestRunner(run);
      try {
        await connectElasticsearch(client, node, index, request);
        const created = await ensureIndex(run, request);
        const writer = openWriter(run, request, (options.skipUnchanged ?? true) && !created);
        const seen = options.deleteStale ? new SeenMessages() : undefined;
        const { sourceError, aborted } = await writeDocuments(documents, writer, seen, context.signal, context.lineOf);
        await writer.close();
        if (sourceError !== undefined) throw sourceError;
        if (aborted) context.signal?.throwIfAborted();
        if (seen) await deleteStaleMessages(run, request, seen, context.sourceReport());
        if (options.refresh ?? true)
          await request(`refresh ${index}`, (requestOptions) => client.indices.refresh({ index }, requestOptions));
        await run.deadLetters.close();
        return stats;
      } finally {
        await run.deadLetters.end();
        if (!options.client) await client.close();
      }
    },
  );
}
