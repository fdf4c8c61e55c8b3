// Content hash and dedupe: stable hashes, the fast canonical form equal to stable-stringify, in-run repeats dropped, unchanged documents
// skipped, tombstones passed.

import t from 'tap';
import { hash } from 'node:crypto';
import stableStringify from 'fast-json-stable-stringify';
import type { AnyDocument, ChannelDocument, MessageDocument, TombstoneDocument, UserDocument } from '../lib/documents.js';
import { canonicalContent, contentFields, contentHash, hashDocument } from '../lib/content-hash.js';
import { dedupe, type SeenStore } from '../lib/transforms/dedupe.js';
import { fromArray, messageDocument as message } from './helpers/documents.js';

const user: UserDocument = {
  _id: 'U1',
  id: 'U1',
  _timestamp: '2024-01-01T00:00:00.000Z',
  type: 'user',
  real_name_normalized: 'Ann',
  profile_real_name: 'Ann',
  display_name: 'ann',
  display_name_normalized: 'ann',
  first_name: 'Ann',
  last_name: null,
  name: 'ann',
  deleted: false,
  real_name: 'Ann',
  is_admin: false,
  is_owner: false,
  is_bot: false,
  tz: 'Europe/Berlin',
  title: null,
  updated: 1700000000,
};

const channel: ChannelDocument = {
  _id: 'C1',
  id: 'C1',
  _timestamp: '2024-01-01T00:00:00.000Z',
  type: 'channel',
  topic: 'Launch 🚀',
  topic_author: 'ann',
  topic_last_updated: 1700000000,
  purpose: null,
  purpose_author: null,
  purpose_last_updated: null,
  last_updated: null,
  name: 'general',
  name_normalized: 'general',
  created: 1600000000,
  is_private: false,
  is_archived: false,
  num_members: 12,
  url: 'https://acme.slack.com/archives/C1',
};

const tombstone: TombstoneDocument = {
  _id: 'C1-1.000001',
  id: 'C1-1.000001',
  type: 'tombstone',
  deleted_type: 'message',
  channel_id: 'C1',
  ts: '1.000001',
  _timestamp: '2024-01-01T00:00:00.000Z',
};

/** The definition: stable-stringify of every field except `_timestamp` and `content_hash`. */
function referenceCanonical(document: Record<string, unknown>): string {
  const { _timestamp: _ignoredTimestamp, content_hash: _ignoredHash, ...content } = document;
  return stableStringify(content);
}

async function run(documents: AnyDocument[], seen?: SeenStore) {
  const stage = dedupe({ seen });
  const out: AnyDocument[] = [];
  for await (const document of stage(fromArray(documents))) out.push(document);
  return { out, stats: stage.stats!() };
}

t.test('the fast canonical form is byte-identical to stable-stringify of the content fields', async (t) => {
  const reversed = (document: object) => Object.fromEntries(Object.entries(document).reverse());
  const varied: Array<Record<string, unknown>> = [
    message() as unknown as Record<string, unknown>,
    user as unknown as Record<string, unknown>,
    channel as unknown as Record<string, unknown>,
    tombstone as unknown as Record<string, unknown>,
    message({
      text:
        'quotes " backslash \\ newline \n tab \t control \u0001 unicode ünïcödé 漢字 🎉 ' +
        'lone \ud800 surrogate, line separator \u2028, delete \u007f',
      files: [
        {
          id: 'F1',
          name: 'plan "v2".pdf',
          title: null,
          mimetype: 'application/pdf',
          filetype: 'pdf',
          size: 12345,
          url_private: 'https://files/F1',
          permalink: 'https://p/F1',
        },
        { permalink: null, id: 'F2', size: 0, name: null, title: 'ü', mimetype: null, filetype: null, url_private: null },
      ],
      reactions: [
        { name: 'tada', count: 3 },
        { count: 1, name: '+1' },
      ],
      reply_count: 4,
      thread_ts: '1700000000.000100',
      edited_ts: '1700000100.000000',
      content_hash: 'previous',
    }) as unknown as Record<string, unknown>,
    // One escaping class per document, so a quoting shortcut that misses one class is caught.
    ...['just "quoted"', 'just a back\\slash', 'just a\nnewline', 'just a \u001f unit separator', 'pair 🎉 only', 'lone \udc00 only'].map(
      (text) => message({ text }) as unknown as Record<string, unknown>,
    ),
    reversed(message({ text: 'keys in reverse insertion order' })),
    {
      ...message(),
      attachments_text: undefined,
      extra: { b: [1, undefined, { d: 1, c: 2 }], a: Number.NaN },
      10: 'integer-like key',
      'weird "key"': -0,
      infinite: Infinity,
    },
    { _id: 'x', type: 'message', nested: { when: new Date('2024-05-01T00:00:00Z'), list: [] }, big: 1e21, small: 1e-7, fn: () => 1 },
    { _id: 'missing-most-fields', type: 'message' },
    { type: 'user', _id: 'U2', name: null, deleted: true },
    {},
  ];
  // Run each twice so the second pass uses the cached shape.
  for (const pass of [1, 2]) {
    for (const document of varied) {
      t.equal(canonicalContent(document), referenceCanonical(document), `pass ${pass}: ${JSON.stringify(document).slice(0, 60)}`);
      t.equal(contentHash(document), hash('sha256', referenceCanonical(document), 'base64url'), `pass ${pass}: hash`);
    }
  }
  // hashDocument: today's hash, and a line that is exactly JSON.stringify of the document it returns, in canonical order.
  for (const original of varied) {
    const input = { ...original };
    const { document, line } = hashDocument(input);
    const label = JSON.stringify(original).slice(0, 50);
    t.equal(document.content_hash, hash('sha256', referenceCanonical(original), 'base64url'), `hashDocument hash: ${label}`);
    if (line === undefined) {
      const slow = Object.keys(original).some((key) => /^\d+$/.test(key)) || Object.keys(contentFields(original)).length === 0;
      t.ok(slow, `only integer-like keys or no content take the path without a line: ${label}`);
      continue;
    }
    t.equal(line, JSON.stringify(document), `the line is the returned document's JSON: ${label}`);
    const keys = Object.keys(JSON.parse(line) as object);
    const contentKeys = keys.filter((key) => key !== '_timestamp' && key !== 'content_hash');
    t.strictSame(contentKeys, [...contentKeys].sort(), `content fields in sorted order: ${label}`);
    t.strictSame(keys.slice(contentKeys.length), original._timestamp === undefined ? ['content_hash'] : ['_timestamp', 'content_hash']);
  }
  // A "__proto__" key (JSON.parse makes it an own field) is content like any other: hashed, and kept in the line.
  for (const text of [
    '{"_id":"p1","type":"message","__proto__":{"x":1},"text":"hi"}',
    '{"_id":"p2","type":"message","meta":{"__proto__":1}}',
  ]) {
    const parsed = JSON.parse(text) as Record<string, unknown>;
    const expected = hash('sha256', stableStringify(JSON.parse(text)), 'base64url');
    t.equal(contentHash(parsed), expected, `__proto__ hashed as a field: ${text}`);
    const { document, line } = hashDocument(JSON.parse(text) as Record<string, unknown>);
    t.equal(document.content_hash, expected);
    t.match(line ?? JSON.stringify(document), /"__proto__"/, 'and written');
  }
  // A value under a symbol key (the Slack object formats like slack-export need) stays on the document, out of hash and line.
  const carried = Symbol.for('slack-etl.slackObject');
  const withRaw = Object.assign(message({ text: 'carries its Slack object' }), { [carried]: { ts: '1', text: 'raw' } });
  const plainHashed = hashDocument(message({ text: 'carries its Slack object' }));
  const rawHashed = hashDocument(withRaw);
  t.strictSame((rawHashed.document as Record<symbol, unknown>)[carried], { ts: '1', text: 'raw' }, 'the symbol-keyed value travels');
  t.equal(rawHashed.line, plainHashed.line, 'and changes neither line nor hash');
  // Same type, changing shapes: a cached shape must not be reused for a document with other keys.
  const shapes = [message(), { ...message(), added: 1 }, { _id: 'C1-1', type: 'message', text: 'x' }, message()];
  for (const document of shapes)
    t.equal(canonicalContent(document), referenceCanonical(document as Record<string, unknown>), 'shape change');
});

t.test('content hash: key order independent, ignores _timestamp and content_hash, changes with content', async (t) => {
  const base = message({ text: 'v1', reply_count: 1 });
  const hashOf = (document: object) => contentHash(document as Record<string, unknown>);
  t.match(hashOf(base), /^[A-Za-z0-9_-]{43}$/, 'sha256 base64url');
  t.equal(hashOf(Object.fromEntries(Object.entries(base).reverse())), hashOf(base), 'key order');
  t.equal(hashOf({ ...base, _timestamp: '2030-01-01T00:00:00.000Z' }), hashOf(base), '_timestamp ignored');
  t.equal(hashOf({ ...base, content_hash: 'anything' }), hashOf(base), 'content_hash ignored');
  t.not(hashOf({ ...base, text: 'v2' }), hashOf(base), 'text');
  t.not(hashOf({ ...base, edited_ts: '1700000200.000000' }), hashOf(base), 'edited_ts');
  t.not(hashOf({ ...base, reply_count: 2 }), hashOf(base), 'reply_count');
  t.not(hashOf({ ...base, reactions: [{ name: 'tada', count: 1 }] }), hashOf(base), 'reactions');
  t.not(hashOf({ ...base, _id: 'C2-1', id: 'C2-1' }), hashOf(base), '_id is content');
  t.equal(
    hashOf(base),
    '472yeWjcgbgj1H32BbP0oQ6doRAk-WT1Uc8KfGlwKoA',
    'pinned: a changed canonical form would make every stored hash stale',
  );
});

t.test('dedupe: sets content_hash, drops in-run repeats, keeps changed versions, passes tombstones', async (t) => {
  const first = message({ text: 'v1' });
  const repeat = message({ text: 'v1', _timestamp: '2024-02-02T00:00:00.000Z' });
  const edited = message({ text: 'v2', edited_ts: '1700000200.000000' });
  // Same _id as `first`, other content (the channel id differs): a changed version, not a repeat.
  const otherChannel = message({
    text: 'v1',
    channel_id: 'C2',
    ts: '1700000000.000100',
    _id: 'C1-1700000000.000100',
    id: 'C1-1700000000.000100',
  });
  const { out, stats } = await run([user, channel, first, repeat, edited, tombstone, { ...tombstone }, otherChannel, { ...user }]);
  t.same(
    out.map((document) => [
      document._id,
      document.type === 'tombstone' ? 'tombstone' : ((document as MessageDocument).text ?? document.type),
    ]),
    [
      ['U1', 'user'],
      ['C1', 'channel'],
      ['C1-1700000000.000100', 'v1'],
      ['C1-1700000000.000100', 'v2'],
      ['C1-1.000001', 'tombstone'],
      ['C1-1.000001', 'tombstone'],
      ['C1-1700000000.000100', 'v1'],
    ],
    'repeat and second user dropped; edit kept; tombstones never deduplicated',
  );
  for (const document of out) {
    if (document.type === 'tombstone') t.notOk('content_hash' in document, 'tombstone unhashed');
    else t.equal(document.content_hash, contentHash(document), `${document._id} hashed`);
  }
  t.same(stats, { hashed: 7, duplicates: 2, unchanged: 0 });
});

t.test('dedupe with a seen store: unchanged documents are not emitted again', async (t) => {
  const unchanged = message({ text: 'same' });
  const changed = message({ ts: '1700000001.000100', text: 'new text' });
  const fresh = message({ ts: '1700000002.000100', text: 'never seen' });
  const stored = new Map<string, string>([
    [unchanged._id, contentHash(unchanged)],
    [changed._id, contentHash({ ...changed, text: 'old text' })],
    [user._id, contentHash(user)],
  ]);
  const { out, stats } = await run([{ ...user }, unchanged, changed, fresh, tombstone], stored);
  t.same(
    out.map((document) => document._id),
    [changed._id, fresh._id, tombstone._id],
  );
  t.same(stats, { hashed: 4, duplicates: 0, unchanged: 2 });
});

t.test('dedupe keeps every distinct document across set growth and still catches a late repeat', async (t) => {
  const stage = dedupe();
  async function* many() {
    for (let index = 0; index < 50_000; index++) yield message({ ts: `1700000000.${String(index).padStart(6, '0')}` });
    yield message({ ts: '1700000000.000007' });
  }
  let count = 0;
  for await (const _document of stage(many())) count++;
  t.equal(count, 50_000, 'every distinct document emitted once, the late repeat dropped');
  t.same(stage.stats!(), { hashed: 50_001, duplicates: 1, unchanged: 0 });
  t.equal(stage.stageName, 'dedupe');
});
