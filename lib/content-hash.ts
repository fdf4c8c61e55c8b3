// The one hash function of the project: sha256 of a document's canonical content (every field except `_timestamp` and `content_hash`).

import { hash } from 'node:crypto';
import stableStringify from 'fast-json-stable-stringify';
import type { AnyDocument } from './documents.js';

/** Fields that describe when or how a document was seen, not what it says. */
const excludedFields = new Set(['_timestamp', 'content_hash']);

/**
 * One object shape (own keys in insertion order) and, unless it needs the slow path, a function copying its content
 * fields into a new object in sorted key order.
 */
interface Shape {
  keys: string[];
  sortedCopy: ((document: Record<string, unknown>) => Record<string, unknown>) | null;
}

/**
 * Documents of one type nearly always share one shape, so checking and sorting keys once per shape instead of once per
 * document is half of the speed-up over calling stable-stringify; native JSON.stringify is the other half.
 */
const shapesByType = new Map<unknown, Shape[]>();
const maxShapesPerType = 8;

/** Two key lists in the same order (a cached shape's and a document's). */
export function sameKeys(cached: string[], keys: string[]): boolean {
  if (cached.length !== keys.length) return false;
  for (let index = 0; index < keys.length; index++) if (cached[index] !== keys[index]) return false;
  return true;
}

/** JSON.stringify writes integer-like keys first, whatever the insertion order: such objects take the slow path. */
const integerLike = /^(?:0|[1-9][0-9]*)$/;
/** Keys an object literal or an assignment cannot create as an own field (`__proto__` sets the prototype): the slow path. */
const needsSlowPath = (key: string): boolean => integerLike.test(key) || key === '__proto__';

function shapeOf(document: Record<string, unknown>): Shape {
  const keys = Object.keys(document);
  const type = document.type;
  let shapes = shapesByType.get(type);
  if (shapes) {
    for (const shape of shapes) if (sameKeys(shape.keys, keys)) return shape;
  } else {
    shapes = [];
    // An unbounded variety of `type` values must not grow the cache without limit.
    if (shapesByType.size < 64) shapesByType.set(type, shapes);
  }
  const shape: Shape = { keys, sortedCopy: keys.some(needsSlowPath) ? null : compileSortedCopy(keys) };
  if (shapes.length >= maxShapesPerType) shapes.shift();
  shapes.push(shape);
  return shape;
}

/** Thrown inside sortedCopy when a nested value needs stable-stringify itself (integer-like keys, cycles). */
const slowPath = Symbol('slow path');
const maxDepth = 64;

/**
 * A copy of a nested value whose objects have their keys inserted in sorted order, so that JSON.stringify of it writes
 * what stable-stringify writes of the original (toJSON applied once per value, as both do).
 */
function sortedCopy(value: object, depth: number): unknown {
  if (depth > maxDepth) throw slowPath;
  let node = value as Record<string, unknown> | unknown[];
  if (typeof (node as { toJSON?: unknown }).toJSON === 'function') {
    node = (node as { toJSON: () => any }).toJSON();
    if (typeof node !== 'object' || node === null) return node;
  }
  if (Array.isArray(node)) {
    const copy = new Array<unknown>(node.length);
    for (let index = 0; index < node.length; index++) {
      const item = node[index];
      copy[index] = typeof item === 'object' && item !== null ? sortedCopy(item, depth + 1) : item;
    }
    return copy;
  }
  const keys = Object.keys(node).sort();
  const copy: Record<string, unknown> = {};
  for (const key of keys) {
    if (needsSlowPath(key)) throw slowPath;
    const item = node[key];
    copy[key] = typeof item === 'object' && item !== null ? sortedCopy(item, depth + 1) : item;
  }
  return copy;
}

/**
 * The copy as one object literal, its keys in sorted order (stable-stringify's: Array.prototype.sort's default), so V8
 * builds every copy of a shape with one hidden class and JSON.stringify takes its fast path. The generated source holds
 * only JSON-quoted key names, which are valid JavaScript string literals.
 */
function compileSortedCopy(keys: string[]): (document: Record<string, unknown>) => Record<string, unknown> {
  const sortedKeys = keys.filter((key) => !excludedFields.has(key)).sort();
  const fields = sortedKeys.map((key) => {
    const name = JSON.stringify(key);
    return `${name}: ((value = document[${name}]), typeof value === 'object' && value !== null ? copy(value, 0) : value)`;
  });
  const build = new Function('copy', `return (document) => { let value; return { ${fields.join(', ')} }; };`);
  return build(sortedCopy) as (document: Record<string, unknown>) => Record<string, unknown>;
}

/**
 * The content fields copied in sorted key order (nested objects too), or undefined when the document needs
 * stable-stringify itself (toJSON, integer-like keys, very deep nesting). JSON.stringify of the copy is the canonical text.
 */
function sortedContentCopy(record: Record<string, unknown>): Record<string, unknown> | undefined {
  if (typeof (record as { toJSON?: unknown }).toJSON === 'function') return undefined;
  const copy = shapeOf(record).sortedCopy;
  if (copy === null) return undefined;
  try {
    return copy(record);
  } catch (error) {
    if (error === slowPath) return undefined;
    throw error;
  }
}

/**
 * The canonical text of the content fields: byte-identical to
 * `stableStringify(<the document without _timestamp and content_hash>)`, written by native JSON.stringify from a copy
 * in sorted key order (half the time of building the text in JavaScript, and a flat string for the hash).
 */
export function canonicalContent(document: AnyDocument | Record<string, unknown>): string {
  const record = document as Record<string, unknown>;
  const sorted = sortedContentCopy(record);
  return sorted === undefined ? stableStringify(contentFields(record)) : JSON.stringify(sorted);
}

/** A document with its content hash in canonical field order, and its JSON line. */
export interface HashedDocument {
  document: Record<string, unknown>;
  line: string | undefined;
}

/**
 * Sets the content hash, returning the document in canonical field order (content fields sorted, then `_timestamp`,
 * then `content_hash`) and its JSON line, built from the canonical text the hash already needed: one serialisation
 * per document instead of two. Documents that need stable-stringify keep their own order and get no line.
 */
export function hashDocument(document: AnyDocument | Record<string, unknown>): HashedDocument {
  const record = document as Record<string, unknown>;
  const sorted = sortedContentCopy(record);
  const timestamp = record._timestamp;
  if (sorted === undefined || (timestamp !== undefined && typeof timestamp !== 'string')) {
    record.content_hash = contentHash(record);
    return { document: record, line: undefined };
  }
  const text = JSON.stringify(sorted);
  const digest = hash('sha256', text, 'base64url');
  if (timestamp !== undefined) sorted._timestamp = timestamp;
  sorted.content_hash = digest;
  // What a document carries under symbol keys (its Slack object) is no content, but it travels with the document.
  for (const key of Object.getOwnPropertySymbols(record))
    (sorted as Record<symbol, unknown>)[key] = (record as Record<symbol, unknown>)[key];
  // Only `_id`-less, field-less documents have the text "{}"; they take JSON.stringify.
  if (text.length <= 2) return { document: sorted, line: undefined };
  const stamp = timestamp === undefined ? '' : `,"_timestamp":${JSON.stringify(timestamp)}`;
  return { document: sorted, line: `${text.slice(0, -1)}${stamp},"content_hash":"${digest}"}` };
}

/** The document without `_timestamp` and `content_hash`: what the hash covers. */
export function contentFields(document: AnyDocument | Record<string, unknown>): Record<string, unknown> {
  // fromEntries defines own fields, so a `__proto__` key stays a field (an assignment would set the prototype).
  return Object.fromEntries(Object.entries(document).filter(([key]) => !excludedFields.has(key)));
}

/** A content hash is always this long (sha256 in base64url). */
export const contentHashLength = 43;

/** sha256 (base64url, 43 characters) of the canonical content; equal content ⇔ equal hash, whatever the key order. */
export function contentHash(document: AnyDocument | Record<string, unknown>): string {
  return hash('sha256', canonicalContent(document), 'base64url');
}
