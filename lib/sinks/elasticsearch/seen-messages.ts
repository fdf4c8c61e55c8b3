// The messages a run produced, per channel, as 8-byte numbers: what --delete-stale compares the index against.

/** A Slack ts (`1700000000.000100`) as exact microseconds; anything else as a 53-bit hash (a collision only keeps a document). */
export function tsKey(ts: string): number {
  const dot = ts.indexOf('.');
  if (dot > 0 && dot <= 10 && ts.length - dot === 7) {
    const key = Number(ts.slice(0, dot)) * 1_000_000 + Number(ts.slice(dot + 1));
    if (Number.isSafeInteger(key)) return key;
  }
  return -1 - fingerprint53(ts);
}

/** 53 bits of a string (two 32-bit FNV-style lanes), for comparing content hashes and odd ids without keeping the strings. */
export function fingerprint53(text: string): number {
  let high = 0x811c9dc5;
  let low = 0x01000193;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    high = Math.imul(high ^ code, 0x01000193);
    low = Math.imul(low ^ code, 0x5bd1e995);
  }
  return (high >>> 11) * 4294967296 + (low >>> 0);
}

class KeyList {
  values = new Float64Array(64);
  length = 0;
  sorted = false;

  add(key: number): void {
    if (this.length === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.length++] = key;
    this.sorted = false;
  }

  has(key: number): boolean {
    if (!this.sorted) {
      this.values.subarray(0, this.length).sort();
      this.sorted = true;
    }
    let low = 0;
    let high = this.length - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.values[middle]!;
      if (value === key) return true;
      if (value < key) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

/** Per channel id: the ts of every message and tombstone that reached the sink (8 bytes each, not the ids). */
export class SeenMessages {
  private readonly channels = new Map<string, KeyList>();

  add(channelId: string, ts: string): void {
    let list = this.channels.get(channelId);
    if (!list) this.channels.set(channelId, (list = new KeyList()));
    list.add(tsKey(ts));
  }

  has(channelId: string, ts: string): boolean {
    return this.channels.get(channelId)?.has(tsKey(ts)) ?? false;
  }

  countIn(channelId: string): number {
    return this.channels.get(channelId)?.length ?? 0;
  }
}
