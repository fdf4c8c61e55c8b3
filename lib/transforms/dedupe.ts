// Dedupe stage: sets `content_hash`, drops in-run repeats and documents unchanged since an earlier run.

import { hashDocument } from '../content-hash.js';
import { stepStage } from '../document-step.js';
import type { CoreDocument, PassThroughStage } from '../stage.js';

/** "Seen before": `_id` → `content_hash` from an earlier run (a state file, the index). */
export interface SeenStore {
  get(id: string): string | undefined;
}

export interface DedupeOptions {
  /** Documents whose hash equals the stored one for their `_id` are not emitted again. */
  seen?: SeenStore;
}

export interface DedupeStats {
  [key: string]: number;
  /** Documents that got a `content_hash`. */
  hashed: number;
  /** Repeats within this run (same `_id`, same content) that were dropped. */
  duplicates: number;
  /** Documents dropped because `seen` holds the same hash for their `_id`. */
  unchanged: number;
}

const base64urlAlphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const sextetOf = new Uint8Array(128);
for (let index = 0; index < base64urlAlphabet.length; index++) sextetOf[base64urlAlphabet.charCodeAt(index)] = index;

/**
 * A set of 60-bit digest prefixes in two typed arrays with open addressing (linear probing).
 * The hashed content includes `_id`, so "same `_id` and same hash" is "same hash": the set never needs
 * the ids themselves. 1M documents take 16 MB here instead of ~150 MB for a Map of id+hash strings.
 * A false "seen" needs two different contents with equal 60-bit prefixes: ~4·10⁻⁷ in a 1M-document run.
 */
class DigestPrefixSet {
  private high = new Uint32Array(1 << 16);
  private low = new Uint32Array(1 << 16);
  private mask = (1 << 16) - 1;
  private size = 0;

  /** Adds the prefix of a base64url sha256 digest; false when it was already present. */
  add(digest: string): boolean {
    // 5 base64url characters = 30 bits per half; sha256 output is uniform, so these bits are too.
    let high = 0;
    let low = 0;
    for (let index = 0; index < 5; index++) high = high * 64 + sextetOf[digest.charCodeAt(index)]!;
    for (let index = 5; index < 10; index++) low = low * 64 + sextetOf[digest.charCodeAt(index)]!;
    // Bit 30 marks an occupied slot, so an all-zero prefix is still storable.
    high |= 0x40000000;
    let slot = low & this.mask;
    for (;;) {
      const stored = this.high[slot]!;
      if (stored === 0) break;
      if (stored === high && this.low[slot] === low) return false;
      slot = (slot + 1) & this.mask;
    }
    this.high[slot] = high;
    this.low[slot] = low;
    if (++this.size * 2 > this.mask) this.grow();
    return true;
  }

  private grow(): void {
    const oldHigh = this.high;
    const oldLow = this.low;
    const capacity = oldHigh.length * 2;
    this.high = new Uint32Array(capacity);
    this.low = new Uint32Array(capacity);
    this.mask = capacity - 1;
    for (let index = 0; index < oldHigh.length; index++) {
      const high = oldHigh[index]!;
      if (high === 0) continue;
      const low = oldLow[index]!;
      let slot = low & this.mask;
      while (this.high[slot] !== 0) slot = (slot + 1) & this.mask;
      this.high[slot] = high;
      this.low[slot] = low;
    }
  }
}

export function dedupe(options: DedupeOptions = {}): PassThroughStage<CoreDocument> {
  const seen = options.seen;
  const stats: DedupeStats = { hashed: 0, duplicates: 0, unchanged: 0 };
  // One set per stage instance; a stage is built for one run.
  const emitted = new DigestPrefixSet();

  // The line of the document this stage emitted last (see lineOf below).
  let lastDocument: object | undefined;
  let lastLine: string | undefined;

  function dedupeStep(document: CoreDocument): CoreDocument | undefined {
    if (document.type === 'tombstone') return document;
    const hashed = hashDocument(document);
    const emitted = dedupeHashed(hashed.document as CoreDocument);
    if (emitted !== undefined) {
      lastDocument = emitted;
      lastLine = hashed.line;
    }
    return emitted;
  }

  /** The decision for a document whose `content_hash` is already today's hash (set by a worker thread). */
  function dedupeHashed(document: CoreDocument): CoreDocument | undefined {
    if (document.type === 'tombstone') return document;
    const digest = document.content_hash!;
    stats.hashed++;
    if (!emitted.add(digest)) {
      stats.duplicates++;
      return undefined;
    }
    if (seen !== undefined && seen.get(document._id) === digest) {
      stats.unchanged++;
      return undefined;
    }
    return document;
  }

  return Object.assign(
    stepStage('dedupe', dedupeStep, () => ({ ...stats })),
    {
      hashedStep: dedupeHashed,
      /** The JSON line of the document the step emitted last, built with its hash; undefined for any other document. */
      lineOf: (document: object) => (document === lastDocument ? lastLine : undefined),
    },
  ) as PassThroughStage<CoreDocument>;
}
