// Singer tap output: a SCHEMA per stream (users, channels, messages), a RECORD per document, and a closing STATE.

import type { AnyDocument } from '../documents.js';
import { defineSink, type Sink, type SinkContext } from '../stage.js';
import { singerStateKey, type StateData } from '../state/state-file.js';
import { ndjsonSink, type NdjsonSinkOptions } from './ndjson.js';

export type SingerStream = 'users' | 'channels' | 'messages';

export interface SingerSinkOptions extends Omit<NdjsonSinkOptions, 'resume'> {
  /**
   * The value of the closing STATE message, asked for once every record is written (the run's incremental state);
   * a Singer target echoes it and `--state` takes it back. Without it no STATE is written.
   */
  finalState?: () => unknown | Promise<unknown>;
}

type JsonSchema = Record<string, unknown>;

const nullable = (type: string, extra: JsonSchema = {}): JsonSchema => ({ type: [type, 'null'], ...extra });
const string: JsonSchema = { type: 'string' };
const dateTime: JsonSchema = { type: 'string', format: 'date-time' };
/** Slack `ts`: seconds and microseconds as a decimal string. */
const slackTs: JsonSchema = { type: 'string', pattern: '^\\d+(\\.\\d+)?$' };
const common = (type: string): Record<string, JsonSchema> => ({
  _id: string,
  id: string,
  type: { type: 'string', enum: [type] },
  _timestamp: dateTime,
  content_hash: string,
});

const userSchema: JsonSchema = {
  type: 'object',
  required: ['id', '_id', 'type'],
  properties: {
    ...common('user'),
    real_name_normalized: nullable('string'),
    profile_real_name: nullable('string'),
    display_name: nullable('string'),
    display_name_normalized: nullable('string'),
    first_name: nullable('string'),
    last_name: nullable('string'),
    name: nullable('string'),
    deleted: nullable('boolean'),
    real_name: nullable('string'),
    is_admin: nullable('boolean'),
    is_owner: nullable('boolean'),
    is_bot: nullable('boolean'),
    tz: nullable('string'),
    title: nullable('string'),
    updated: nullable('integer'),
  },
};

const channelSchema: JsonSchema = {
  type: 'object',
  required: ['id', '_id', 'type'],
  properties: {
    ...common('channel'),
    topic: nullable('string'),
    topic_author: nullable('string'),
    topic_last_updated: nullable('integer'),
    purpose: nullable('string'),
    purpose_author: nullable('string'),
    purpose_last_updated: nullable('integer'),
    last_updated: nullable('integer'),
    name: nullable('string'),
    name_normalized: nullable('string'),
    created: nullable('integer'),
    is_private: { type: 'boolean' },
    is_archived: { type: 'boolean' },
    num_members: nullable('integer'),
    url: nullable('string'),
  },
};

const fileSchema: JsonSchema = {
  type: 'object',
  required: ['id'],
  properties: {
    id: string,
    name: nullable('string'),
    title: nullable('string'),
    mimetype: nullable('string'),
    filetype: nullable('string'),
    size: nullable('integer'),
    url_private: nullable('string'),
    permalink: nullable('string'),
  },
};

/** Messages and their deletions: a deleted message is a record with `_sdc_deleted_at` (the Stitch/Singer convention). */
const messageSchema: JsonSchema = {
  type: 'object',
  required: ['id', '_id', 'type', 'channel_id', 'ts'],
  properties: {
    ...common('message'),
    type: { type: 'string', enum: ['message', 'tombstone'] },
    channel: nullable('string'),
    channel_id: string,
    author: nullable('string'),
    author_id: nullable('string'),
    author_type: { type: 'string', enum: ['user', 'bot'] },
    text: string,
    blocks_text: nullable('string'),
    edited_ts: { anyOf: [slackTs, { type: 'null' }] },
    ts: slackTs,
    created_at: dateTime,
    subtype: nullable('string'),
    reply_count: nullable('integer'),
    latest_reply: { anyOf: [slackTs, { type: 'null' }] },
    thread_ts: { anyOf: [slackTs, { type: 'null' }] },
    permalink: nullable('string'),
    files: { anyOf: [{ type: 'array', items: fileSchema }, { type: 'null' }] },
    attachments_text: nullable('string'),
    reactions: {
      anyOf: [
        { type: 'array', items: { type: 'object', required: ['name', 'count'], properties: { name: string, count: { type: 'integer' } } } },
        { type: 'null' },
      ],
    },
    deleted_type: { type: 'string', enum: ['message'] },
    _sdc_deleted_at: dateTime,
  },
};

export interface SingerStreamSpec {
  schema: JsonSchema;
  keyProperties: string[];
  /** The replication key: what an incremental run moves forward on. */
  bookmarkProperties: string[];
}

export const singerStreams: Record<SingerStream, SingerStreamSpec> = {
  users: { schema: userSchema, keyProperties: ['id'], bookmarkProperties: ['updated'] },
  channels: { schema: channelSchema, keyProperties: ['id'], bookmarkProperties: ['last_updated'] },
  messages: { schema: messageSchema, keyProperties: ['id'], bookmarkProperties: ['ts'] },
};

const streamOf: Record<AnyDocument['type'], SingerStream> = {
  user: 'users',
  channel: 'channels',
  message: 'messages',
  tombstone: 'messages',
};

export async function* toSingerMessages(
  documents: AsyncIterable<AnyDocument>,
  finalState?: SingerSinkOptions['finalState'],
): AsyncIterable<Record<string, unknown>> {
  for (const [stream, spec] of Object.entries(singerStreams)) {
    yield { type: 'SCHEMA', stream, schema: spec.schema, key_properties: spec.keyProperties, bookmark_properties: spec.bookmarkProperties };
  }
  for await (const document of documents) {
    const record = document.type === 'tombstone' ? { ...document, _sdc_deleted_at: document._timestamp } : document;
    yield { type: 'RECORD', stream: streamOf[document.type], record };
  }
  if (finalState) yield { type: 'STATE', value: await finalState() };
}

/** NDJSON output (file with temporary name + rename, `.gz`, or stdout) of the Singer messages. */
export function singerSink(options: SingerSinkOptions = {}): Sink<AnyDocument> {
  const lines = ndjsonSink(options);
  return defineSink('singer', async (documents: AsyncIterable<AnyDocument>, context: SinkContext) => {
    let records = 0;
    async function* counted() {
      for await (const document of documents) {
        records++;
        yield document;
      }
    }
    const stats = await lines(toSingerMessages(counted(), options.finalState), context);
    return { ...stats, lines: stats.documents, documents: records };
  });
}

/**
 * The STATE value: per-channel bookmarks (the newest message `ts` read) for people and targets to read, and the
 * whole incremental state (what `--state` needs for an incremental run: hashes, threads, channels) under
 * `slack_etl_state`. The unfinished-file record of NDJSON resumes is left out: it means nothing to a target.
 */
export function singerStateValue(state: StateData): Record<string, unknown> {
  const messages: Record<string, { ts: string }> = {};
  for (const [channelId, channel] of Object.entries(state.channels))
    if (channel.newestTs !== null) messages[channelId] = { ts: channel.newestTs };
  return { bookmarks: { messages }, [singerStateKey]: { ...state, run: null } };
}
