// Per-method request pacing from Slack's tier rates, so calls stay under the limit instead of bouncing off 429s.

export type SlackTier = 1 | 2 | 3 | 4;

/** Tiers of the methods we call (Slack's documentation; `auth.test` is "special", treated as Tier 4). */
export const methodTiers: Record<string, SlackTier> = {
  'auth.test': 4,
  'users.list': 2,
  'users.info': 4,
  'conversations.list': 2,
  'conversations.join': 3,
  'conversations.history': 3,
  'conversations.replies': 3,
};

/** Requests per minute for each tier. Slack documents these as minimums ("20+ per minute"). */
export interface TierRates {
  tier1: number;
  tier2: number;
  tier3: number;
  tier4: number;
}

export const defaultTierRates: TierRates = { tier1: 1, tier2: 20, tier3: 50, tier4: 100 };

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(done, ms);
    function done() {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort() {
      clearTimeout(timer);
      reject(signal!.reason);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/**
 * Hands out evenly spaced send slots for one method. Each caller reserves the next slot, so any number of
 * concurrent callers share the budget without bursts; a 429 pushes every later slot past its Retry-After.
 */
export class MethodPacer {
  private nextSlotAt = 0;
  constructor(private intervalMs: number) {}

  get interval(): number {
    return this.intervalMs;
  }

  async acquire(signal?: AbortSignal): Promise<void> {
    const now = performance.now();
    const slot = Math.max(now, this.nextSlotAt);
    this.nextSlotAt = slot + this.intervalMs;
    if (slot > now) await sleep(slot - now, signal);
  }

  /** Nothing may be sent before `ms` from now (Slack's Retry-After applies to the method, not the request). */
  pauseFor(ms: number): void {
    this.nextSlotAt = Math.max(this.nextSlotAt, performance.now() + ms);
  }

  /** Never go faster than one request per `intervalMs` from now on (restricted regime). */
  slowTo(intervalMs: number): void {
    this.intervalMs = Math.max(this.intervalMs, intervalMs);
  }
}

export class Pacers {
  private readonly pacers = new Map<string, MethodPacer>();
  constructor(
    private readonly rates: TierRates,
    /** Fraction by which we stay below the rate, so network jitter never lands N+1 requests in one window. */
    private readonly margin = 0.03,
  ) {}

  for(method: string): MethodPacer {
    let pacer = this.pacers.get(method);
    if (!pacer) {
      const tier = methodTiers[method] ?? 3;
      const perMinute = this.rates[`tier${tier}`];
      pacer = new MethodPacer(perMinute > 0 ? (60_000 / perMinute) * (1 + this.margin) : 0);
      this.pacers.set(method, pacer);
    }
    return pacer;
  }
}

/** Parse `--tier-rates T2,T3,T4` (requests per minute). */
export function parseTierRates(text: string): TierRates {
  const parts = text.split(',').map((part) => part.trim());
  const numbers = parts.map(Number);
  if (parts.length !== 3 || numbers.some((value) => !Number.isFinite(value) || value <= 0)) {
    throw new RangeError(`expected three positive numbers "T2,T3,T4" (requests per minute), got "${text}"`);
  }
  const [tier2, tier3, tier4] = numbers as [number, number, number];
  return { tier1: Math.min(defaultTierRates.tier1 * (tier3 / defaultTierRates.tier3), tier2), tier2, tier3, tier4 };
}
