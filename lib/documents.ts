// Document types, `_id` schemes and Slack time conversions: the one place that defines what flows between stages.

/** Fields every document carries. `_id` is the Elasticsearch metadata id; `id` repeats it in the source. */
export interface BaseDocument {
  _id: string;
  id: string;
  /** ISO-8601 UTC time of the document's last change in Slack. */
  _timestamp: string;
  /** Set by the dedupe stage: hash of the canonical content fields. */
  content_hash?: string;
}

export interface UserDocument extends BaseDocument {
  type: 'user';
  real_name_normalized: string | null;
  profile_real_name: string | null;
  display_name: string | null;
  display_name_normalized: string | null;
  first_name: string | null;
  last_name: string | null;
  name: string | null;
  deleted: boolean | null;
  real_name: string | null;
  is_admin: boolean | null;
  is_owner: boolean | null;
  is_bot: boolean | null;
  tz: string | null;
  title: string | null;
  updated: number | null;
}

export interface ChannelDocument extends BaseDocument {
  type: 'channel';
  topic: string | null;
  /** The source puts the Slack user id here; the enrich stage replaces it with the display name. */
  topic_author: string | null;
  topic_last_updated: number | null;
  purpose: string | null;
  purpose_author: string | null;
  purpose_last_updated: number | null;
  last_updated: number | null;
  name: string | null;
  name_normalized: string | null;
  created: number | null;
  is_private: boolean;
  is_archived: boolean;
  num_members: number | null;
  url: string | null;
}

export interface FileMetadata {
  id: string;
  name: string | null;
  title: string | null;
  mimetype: string | null;
  filetype: string | null;
  size: number | null;
  url_private: string | null;
  permalink: string | null;
}

export interface Reaction {
  name: string;
  count: number;
}

export interface MessageDocument extends BaseDocument {
  type: 'message';
  /** Channel name (Elastic's field); `channel_id` carries the id. */
  channel: string;
  channel_id: string;
  /**
   * Display name after enrichment (users.list, users.info, bots.info); before it, the name the message carries
   * (bot profile, username, Slack Connect `user_profile`) or the raw user/bot id.
   */
  author: string | null;
  author_id: string | null;
  author_type: 'user' | 'bot';
  /** Slack's `text`; when that is empty or Slack's placeholder, the text of the message's blocks. */
  text: string;
  /** Text in the message's blocks (rich text, sections, headers, context…) that `text` does not already carry. */
  blocks_text: string | null;
  edited_ts: string | null;
  ts: string;
  /** ISO-8601 UTC posting time (`ts`), millisecond precision. */
  created_at: string;
  subtype: string | null;
  reply_count: number | null;
  latest_reply: string | null;
  thread_ts: string | null;
  permalink: string | null;
  files: FileMetadata[] | null;
  /** Attachment and link-unfurl text (pretext, author, service, title, text, fields, footer) not already in `text` or `blocks_text`. */
  attachments_text: string | null;
  reactions: Reaction[] | null;
}

/**
 * A message that disappeared from Slack, as found by an incremental run.
 * NDJSON writes it as a line like any document; Elasticsearch deletes `_id`.
 */
export interface TombstoneDocument {
  _id: string;
  id: string;
  type: 'tombstone';
  deleted_type: 'message';
  channel_id: string;
  ts: string;
  _timestamp: string;
}

export type SlackDocument = UserDocument | ChannelDocument | MessageDocument;
export type AnyDocument = SlackDocument | TombstoneDocument;
export type DocumentType = AnyDocument['type'];

/** Every top-level field of a document type, checked against the types above (sync rules reject other names). */
type FieldsOf<Document> = readonly (keyof Document & string)[];
// A type error on a list below means a field was added to (or removed from) a document type but not to its list.
const exhaustive =
  <Document>() =>
  <const Fields extends FieldsOf<Document>>(
    fields: Fields & ([Exclude<keyof Document, Fields[number]>] extends [never] ? unknown : never),
  ): Fields =>
    fields;

export const documentFields = {
  user: exhaustive<UserDocument>()([
    '_id',
    'id',
    '_timestamp',
    'content_hash',
    'type',
    'real_name_normalized',
    'profile_real_name',
    'display_name',
    'display_name_normalized',
    'first_name',
    'last_name',
    'name',
    'deleted',
    'real_name',
    'is_admin',
    'is_owner',
    'is_bot',
    'tz',
    'title',
    'updated',
  ]),
  channel: exhaustive<ChannelDocument>()([
    '_id',
    'id',
    '_timestamp',
    'content_hash',
    'type',
    'topic',
    'topic_author',
    'topic_last_updated',
    'purpose',
    'purpose_author',
    'purpose_last_updated',
    'last_updated',
    'name',
    'name_normalized',
    'created',
    'is_private',
    'is_archived',
    'num_members',
    'url',
  ]),
  message: exhaustive<MessageDocument>()([
    '_id',
    'id',
    '_timestamp',
    'content_hash',
    'type',
    'channel',
    'channel_id',
    'author',
    'author_id',
    'author_type',
    'text',
    'blocks_text',
    'edited_ts',
    'ts',
    'created_at',
    'subtype',
    'reply_count',
    'latest_reply',
    'thread_ts',
    'permalink',
    'files',
    'attachments_text',
    'reactions',
  ]),
} as const satisfies Record<SlackDocument['type'], readonly string[]>;

export const messageId = (channelId: string, ts: string): string => `${channelId}-${ts}`;

const slackTsText = /^\d+(?:\.\d*)?$/;
const twoDigits = Array.from({ length: 60 }, (_, value) => String(value).padStart(2, '0'));
/**
 * UTC days formatted ("YYYY-MM-DDT", by Date) by their first second, and the last ts converted. A channel's history
 * and its threads' replies jump between days, so more than the last day is kept (a bounded number: a workspace's
 * whole history is a few thousand days).
 */
const dayPrefixes = new Map<number, string>();
const maxDayPrefixes = 8192;
let lastTs: string | undefined;
let lastIso = '';

/**
 * Slack `ts` ("1700000000.123456") → ISO-8601 UTC with milliseconds (truncated, from the digits: no float rounding).
 * Two calls per message made this 12 % of the source's CPU through `Date#toISOString`: the date part is now formatted
 * once per UTC day and the time of day from the seconds (plain UTC arithmetic, no time zone, hence no luxon here).
 */
export function slackTsToIso(ts: string | number): string {
  if (typeof ts !== 'string') {
    if (!Number.isFinite(ts)) throw new TypeError(`not a Slack timestamp: ${String(ts)}`);
    return new Date(Math.floor(ts * 1000)).toISOString();
  }
  if (ts === lastTs) return lastIso;
  if (!slackTsText.test(ts)) throw new TypeError(`not a Slack timestamp: ${ts}`);
  const dot = ts.indexOf('.');
  const seconds = Number(dot === -1 ? ts : ts.slice(0, dot));
  const fraction = dot === -1 ? '' : ts.slice(dot + 1);
  const milliseconds = fraction.length >= 3 ? fraction.slice(0, 3) : fraction.padEnd(3, '0');
  // At the end of Date's range (8.64e12 s) and beyond, Date formats or throws its own RangeError.
  if (!(seconds < 8.64e12)) return new Date(seconds * 1000 + Number(milliseconds)).toISOString();
  const secondOfDay = seconds % 86_400;
  const dayStart = seconds - secondOfDay;
  let dayPrefix = dayPrefixes.get(dayStart);
  if (dayPrefix === undefined) {
    dayPrefix = new Date(dayStart * 1000).toISOString().slice(0, -13);
    if (dayPrefixes.size >= maxDayPrefixes) dayPrefixes.clear();
    dayPrefixes.set(dayStart, dayPrefix);
  }
  const minuteOfDay = Math.floor(secondOfDay / 60);
  const time = `${twoDigits[Math.floor(minuteOfDay / 60)]}:${twoDigits[minuteOfDay % 60]}:${twoDigits[secondOfDay % 60]}`;
  lastTs = ts;
  lastIso = `${dayPrefix}${time}.${milliseconds}Z`;
  return lastIso;
}

/** Compare two Slack `ts` strings numerically without float rounding. */
export function compareTs(a: string, b: string): number {
  const [ai = '0', af = ''] = a.split('.');
  const [bi = '0', bf = ''] = b.split('.');
  if (ai.length !== bi.length) return ai.length - bi.length;
  if (ai !== bi) return ai < bi ? -1 : 1;
  const width = Math.max(af.length, bf.length);
  const fa = af.padEnd(width, '0');
  const fb = bf.padEnd(width, '0');
  return fa === fb ? 0 : fa < fb ? -1 : 1;
}

/** Whole seconds as Slack accepts them for `oldest`/`latest` (Elastic bug #3032: decimals lost all data). */
export const toSlackBoundary = (epochSeconds: number): string => String(Math.floor(epochSeconds));

/** Permalink built locally (no `chat.getPermalink` call): `<team url>archives/<channel>/p<ts without dot>`. */
export function permalink(teamUrl: string | null, channelId: string, ts: string, threadTs?: string | null): string | null {
  if (!teamUrl) return null;
  const base = `${teamUrl.endsWith('/') ? teamUrl : `${teamUrl}/`}archives/${channelId}/p${ts.replace('.', '')}`;
  return threadTs && threadTs !== ts ? `${base}?thread_ts=${threadTs}&cid=${channelId}` : base;
}

export const channelUrl = (teamUrl: string | null, channelId: string): string | null =>
  teamUrl ? `${teamUrl.endsWith('/') ? teamUrl : `${teamUrl}/`}archives/${channelId}` : null;
