// Before writing: the index exists with our mappings (created, or missing fields added and conflicting ones named).

import type { estypes } from '@elastic/elasticsearch';
import type { RequestRunner } from './bulk-writer.js';
import type { ErrorLike } from './connection.js';
import { compareMappings, indexMappings } from './mappings.js';
import type { SinkRun } from './run.js';

/** Creates the index with our mappings; true when this run created it (then there is nothing to compare with). */
export async function ensureIndex(run: SinkRun, request: RequestRunner): Promise<boolean> {
  const { client, index, logger } = run;
  const exists = await request(`check index ${index}`, (requestOptions) => client.indices.exists({ index }, requestOptions));
  if (exists) {
    await updateMappings(run, request);
    return false;
  }
  const created = await request(`create index ${index}`, (requestOptions) =>
    client.indices.create({ index, mappings: indexMappings as estypes.MappingTypeMapping }, requestOptions).then(
      () => true,
      (error: unknown) => {
        // Another writer (or a retried request that did arrive) created it first: that is the state we wanted.
        const type = ((error as ErrorLike).meta?.body as { error?: { type?: string } } | undefined)?.error?.type;
        if (type === 'resource_already_exists_exception') return false;
        throw error;
      },
    ),
  );
  if (created) logger.info(`elasticsearch: created index ${index}`);
  return created;
}

/** New fields are added to an existing index's mappings; a field mapped otherwise (e.g. an old date unit) is named. */
async function updateMappings(run: SinkRun, request: RequestRunner): Promise<void> {
  const { client, index, logger } = run;
  const response = await request(`read the mappings of ${index}`, (requestOptions) => client.indices.getMapping({ index }, requestOptions));
  const existing = Object.values(response)[0]?.mappings;
  const { missing, conflicts } = compareMappings(existing);
  if (Object.keys(missing).length > 0) {
    await request(`add fields to the mappings of ${index}`, (requestOptions) =>
      client.indices.putMapping({ index, properties: missing as Record<string, estypes.MappingProperty> }, requestOptions),
    );
    logger.info(`elasticsearch: added ${Object.keys(missing).join(', ')} to the mappings of ${index}`);
  }
  if (conflicts.length > 0) {
    logger.warn(
      `elasticsearch: index ${index} maps ${conflicts.join('; ')}; those fields read wrong until you reindex ` +
        '(create a new --index and sync into it, or _reindex with the mappings of a new one)',
    );
  }
}
