// Test helpers: documents built by hand (one factory for every test), async-iterable sources and collectors.

import { contentHash } from '../../lib/content-hash.js';
import { slackTsToIso, type AnyDocument, type MessageDocument } from '../../lib/documents.js';
import type { Source, SourceReport } from '../../lib/stage.js';

/** A plain user message in channel C1 ("general"); any field can be overridden, `_id`/`id` follow channel_id and ts. */
export function messageDocument(fields: Partial<MessageDocument> = {}): MessageDocument {
  const ts = fields.ts ?? '1700000000.000100';
  const channelId = fields.channel_id ?? 'C1';
  return {
    _id: `${channelId}-${ts}`,
    id: `${channelId}-${ts}`,
    _timestamp: '2024-01-01T00:00:00.000Z',
    type: 'message',
    channel: 'general',
    channel_id: channelId,
    author: 'Ann',
    author_id: 'U1',
    author_type: 'user',
    text: 'hello',
    blocks_text: null,
    edited_ts: null,
    ts,
    created_at: slackTsToIso(ts),
    subtype: null,
    reply_count: null,
    latest_reply: null,
    thread_ts: null,
    permalink: null,
    files: null,
    attachments_text: null,
    reactions: null,
    ...fields,
  };
}

/** A message as a sink receives it after dedupe (content_hash set), with files and reactions to map. */
export function hashedMessage(channelId: string, ts: string, text = `message ${ts}`): MessageDocument {
  const document = messageDocument({
    channel_id: channelId,
    ts,
    text,
    channel: `name-${channelId}`,
    author: 'alice',
    _timestamp: slackTsToIso(ts),
    files: [{ id: 'F1', name: 'a.png', title: 'a', mimetype: 'image/png', filetype: 'png', size: 10, url_private: null, permalink: null }],
    reactions: [{ name: 'tada', count: 2 }],
  });
  return { ...document, content_hash: contentHash(document) };
}

export async function* fromArray<T>(items: T[]): AsyncIterable<T> {
  yield* items;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** A source as the pipeline sees it: the documents (optionally failing after `failAfter`), then its report once exhausted. */
export function staticSource(documents: AnyDocument[], report?: SourceReport, failAfter?: number): Source<AnyDocument> {
  async function* generate() {
    let emitted = 0;
    for (const document of documents) {
      if (failAfter !== undefined && emitted === failAfter) throw new Error('Slack went away');
      emitted++;
      yield document;
    }
  }
  const iterable: Source<AnyDocument> = { [Symbol.asyncIterator]: generate };
  if (report) iterable.report = () => report;
  return iterable;
}
