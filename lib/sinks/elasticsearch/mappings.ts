// The index's explicit mappings, and how an existing index's mappings compare with them.

/**
 * Explicit mappings. `dynamic: false` rather than `strict`: a field we add later, or one a user's own stage adds,
 * is kept in `_source` (and can be mapped later) instead of failing every document as a strict mapping would;
 * and unlike dynamic mapping it cannot explode the field count or guess a wrong type from the first value seen.
 * `ts`, `thread_ts`, `edited_ts`, `latest_reply` stay keywords: Slack ts strings are fixed width (10 digits, 6 decimals),
 * so keyword order is time order and exact match is what lookups need; time ranges use `_timestamp` (a date).
 * Every date field declares the unit its values have (README's documents table lists them): Slack's epoch-second
 * fields (user `updated`, channel `created`, `topic_last_updated`, `purpose_last_updated`) are `epoch_second`,
 * channel `last_updated` (Slack's `updated`, in milliseconds) is `epoch_millis`, message `created_at` is
 * `strict_date_optional_time` and `_timestamp` keeps the default (ISO strings parse under it).
 */
const nameField = { type: 'text', fields: { keyword: { type: 'keyword', ignore_above: 256 } } } as const;
const keyword = { type: 'keyword' } as const;
const storedOnlyKeyword = { type: 'keyword', index: false, doc_values: false } as const;
const epochSeconds = { type: 'date', format: 'epoch_second' } as const;
const epochMillis = { type: 'date', format: 'epoch_millis' } as const;
const isoDate = { type: 'date', format: 'strict_date_optional_time' } as const;

export const indexMappings: Record<string, unknown> = {
  dynamic: false,
  properties: {
    id: keyword,
    type: keyword,
    _timestamp: { type: 'date' },
    content_hash: keyword,
    // users
    name: nameField,
    real_name: nameField,
    real_name_normalized: nameField,
    profile_real_name: nameField,
    display_name: nameField,
    display_name_normalized: nameField,
    first_name: nameField,
    last_name: nameField,
    title: nameField,
    tz: keyword,
    deleted: { type: 'boolean' },
    is_admin: { type: 'boolean' },
    is_owner: { type: 'boolean' },
    is_bot: { type: 'boolean' },
    updated: epochSeconds,
    // channels
    name_normalized: keyword,
    topic: { type: 'text' },
    topic_author: nameField,
    topic_last_updated: epochSeconds,
    purpose: { type: 'text' },
    purpose_author: nameField,
    purpose_last_updated: epochSeconds,
    last_updated: epochMillis,
    created: epochSeconds,
    is_private: { type: 'boolean' },
    is_archived: { type: 'boolean' },
    num_members: { type: 'integer' },
    url: storedOnlyKeyword,
    // messages
    channel: nameField,
    channel_id: keyword,
    author: nameField,
    author_id: keyword,
    author_type: keyword,
    text: { type: 'text' },
    blocks_text: { type: 'text' },
    ts: keyword,
    created_at: isoDate,
    edited_ts: keyword,
    subtype: keyword,
    reply_count: { type: 'integer' },
    latest_reply: keyword,
    thread_ts: keyword,
    permalink: storedOnlyKeyword,
    attachments_text: { type: 'text' },
    files: {
      properties: {
        id: keyword,
        name: nameField,
        title: { type: 'text' },
        mimetype: keyword,
        filetype: keyword,
        size: { type: 'long' },
        url_private: storedOnlyKeyword,
        permalink: storedOnlyKeyword,
      },
    },
    reactions: { properties: { name: keyword, count: { type: 'integer' } } },
  },
};

interface FieldMapping {
  type?: string;
  format?: string;
  properties?: Record<string, FieldMapping>;
}

export interface MappingComparison {
  /** Top-level fields the index lacks: added with `PUT _mapping` (adding a field is always allowed). */
  missing: Record<string, unknown>;
  /** Fields mapped differently (type or date format): a mapping cannot change in place, so these need a reindex. */
  conflicts: string[];
}

const defaultDateFormat = 'strict_date_optional_time||epoch_millis';

/** Whether an index's date format reads our values as ours does: the same epoch unit first, or ISO text either way. */
function sameDateReading(existing: string, wanted: string): boolean {
  const epochOf = (format: string) => format.split('||').find((name) => name.startsWith('epoch_'));
  const wantedFirst = wanted.split('||')[0]!;
  if (wantedFirst.startsWith('epoch_')) return existing.split('||')[0] === wantedFirst;
  return (
    existing.split('||').some((name) => /date_optional_time/.test(name)) &&
    (epochOf(existing) === epochOf(wanted) || epochOf(wanted) === undefined)
  );
}

export function compareMappings(existing: unknown): MappingComparison {
  const have = (existing as FieldMapping | undefined)?.properties ?? {};
  const want = (indexMappings as { properties: Record<string, FieldMapping> }).properties;
  const missing: Record<string, unknown> = {};
  const conflicts: string[] = [];
  for (const [field, mapping] of Object.entries(want)) {
    const current = have[field];
    if (current === undefined) missing[field] = mapping;
    else if ((current.type ?? 'object') !== (mapping.type ?? 'object'))
      conflicts.push(`${field} is ${current.type ?? 'object'}, not ${mapping.type ?? 'object'}`);
    else if (mapping.type === 'date' && !sameDateReading(current.format ?? defaultDateFormat, mapping.format ?? defaultDateFormat)) {
      conflicts.push(`${field} has date format ${current.format ?? defaultDateFormat}, not ${mapping.format ?? defaultDateFormat}`);
    }
  }
  return { missing, conflicts };
}
