// Elasticsearch/OpenSearch `_bulk` body: an action line per document (`index`, or `delete` for a tombstone), then its source.

import type { AnyDocument } from '../documents.js';
import { defineSink, type Sink, type SinkContext } from '../stage.js';
import { ndjsonSink, type NdjsonSinkOptions } from './ndjson.js';

export interface EsBulkSinkOptions extends Omit<NdjsonSinkOptions, 'resume'> {
  /** `_index` of every action line; without it the body is for `POST /<index>/_bulk`, which names the index. */
  index?: string;
}

type BulkLine = Record<string, unknown>;

/** The action and source lines of one document: `_id` goes in the action, never in `_source` (Elasticsearch refuses it there). */
export async function* toBulkLines(documents: AsyncIterable<AnyDocument>, index?: string): AsyncIterable<BulkLine> {
  for await (const document of documents) {
    if (document.type === 'tombstone') {
      yield { delete: index === undefined ? { _id: document._id } : { _index: index, _id: document._id } };
      continue;
    }
    const { _id, ...source } = document;
    yield { index: index === undefined ? { _id } : { _index: index, _id } };
    yield source;
  }
}

/** NDJSON output (file with temporary name + rename, `.gz`, or stdout) of the `_bulk` lines. */
export function esBulkSink(options: EsBulkSinkOptions = {}): Sink<AnyDocument> {
  const lines = ndjsonSink(options);
  return defineSink('es-bulk', async (documents: AsyncIterable<AnyDocument>, context: SinkContext) => {
    let tombstones = 0;
    let indexed = 0;
    async function* counted() {
      for await (const document of documents) {
        if (document.type === 'tombstone') tombstones++;
        else indexed++;
        yield document;
      }
    }
    const stats = await lines(toBulkLines(counted(), options.index), context);
    return { ...stats, lines: stats.documents, documents: indexed + tombstones, indexActions: indexed, deleteActions: tombstones };
  });
}
