// Per-method request pacing from Slack's tier rates, so calls stay under the limit instead of bouncing off 429s.

export type SlackTier = 1 | 2 | 3 | 4;

/** Tiers of the methods we call (Slack's documentation; `auth.test` is "special", treated as Tier 4). */
export const methodTiers: Record<string, SlackTier> = {
  'auth.test': 4,
  'users.list': 2,
  'users.info': 4,
  'bots.info': 3,
  'conversations.list': 2,
  'conversations.info': 3,
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

/** Releases remembered per method: spans of up to this many consecutive releases are checked against the rate. */
const historyLength = 64;
/**
 * Every span may be this much short (at most a quarter interval): a release that came late (timers overshoot, more so
 * on a loaded machine) is made up by the next ones instead of lowering the rate for good. Far below the 3 % margin's
 * slack in any window, and a fixed number of milliseconds so a one-per-minute budget never lets two requests into a minute.
 */
const spanSlackMs = 5;
/**
 * With a known window: up to half its budget may go out closer together than the rate (Slack welcomes "sporadic
 * bursts" on Tier 3), which is what makes up for an event-loop stall (measured: stalls of 100–440 ms on a loaded
 * machine, 5–22 calls at 50 a second); the window's budget still holds.
 */
const catchUpShare = 0.5;
/** With a known window: a call is counted until this share of a window after its answer (clock granularity). */
const windowSafetyShare = 0.002;

/** One call let go by a pacer: when, and (once `MethodPacer.answered` was told) when its answer came. */
export interface Release {
  readonly at: number;
  answeredAt: number;
}

/**
 * Releases waiting requests of one method in arrival order, by the times releases actually happened: k + 1 consecutive
 * releases always span at least k intervals (less `spanSlackMs`), so the rate holds in every window whatever its
 * length. Slots booked in advance would not: after an event-loop stall they all fire together and the burst overruns
 * Slack's sliding window (measured: 55 × 429 in the medium benchmark). Here a stall only delays. A 429 holds every
 * later release until its Retry-After has passed.
 *
 * With `windowMs` (Slack counts each method's calls per minute; a time-compressed fake per shorter window) the budget is
 * exact instead: at most `windowMs / intervalMs` calls in any window *as Slack sees them*. A call is counted from its
 * release until its answer (the latest it can have reached Slack) is a window old; a call still in flight is counted.
 * So a call held up on its way (measured: 155 ms behind a stalled event loop, 13 s in a starved process) cannot put
 * one call too many in a window, spacing needs no margin, and half the budget may make up for a stall. The price is
 * one answer's time per window (about 2 % at 20 ms per answer in a one-second window, nothing at Slack's minute).
 */
export class MethodPacer {
  private readonly releases = new Float64Array(historyLength).fill(Number.NEGATIVE_INFINITY);
  private releaseCount = 0;
  private pausedUntil = 0;
  private readonly waiting: Array<{ release: (release: Release) => void; signal?: AbortSignal; onAbort?: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  /** Windowed: calls that may still be inside Slack's window, in release order. */
  private live: Release[] = [];

  constructor(
    private intervalMs: number,
    private readonly windowMs?: number,
  ) {}

  acquire(signal?: AbortSignal): Promise<Release> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise<Release>((resolve, reject) => {
      const waiter: (typeof this.waiting)[number] = { release: resolve, signal };
      if (signal) {
        waiter.onAbort = () => {
          const position = this.waiting.indexOf(waiter);
          if (position !== -1) this.waiting.splice(position, 1);
          // A timer kept for nobody (a Retry-After of a day) would keep the process alive after an interrupt.
          if (this.waiting.length === 0 && this.timer !== undefined) {
            clearTimeout(this.timer);
            this.timer = undefined;
          }
          reject(signal.reason);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.waiting.push(waiter);
      if (this.timer === undefined) this.pump();
    });
  }

  /** The call of `release` got its answer (or failed for good) at `now`: from then on its window can be reckoned. */
  answered(release: Release, now = performance.now()): void {
    if (!Number.isNaN(release.answeredAt)) return;
    release.answeredAt = now;
    if (this.windowMs !== undefined && this.waiting.length > 0) {
      if (this.timer !== undefined) this.reschedule();
      else this.pump();
    }
  }

  /** Nothing may be sent before `ms` from now (Slack's Retry-After applies to the method, not the request). */
  pauseFor(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, performance.now() + ms);
    this.reschedule();
  }

  /** Never go faster than one request per `intervalMs` from now on (restricted regime). */
  slowTo(intervalMs: number): void {
    this.intervalMs = Math.max(this.intervalMs, intervalMs);
    this.reschedule();
  }

  /** Back to `intervalMs` (the restricted regime ended). */
  setInterval(intervalMs: number): void {
    this.intervalMs = intervalMs;
    this.reschedule();
  }

  /** How long the next waiting request still has to wait (0 when nothing waits): for progress displays. */
  waitMs(now = performance.now()): number {
    if (this.waiting.length === 0) return 0;
    const earliest = this.earliestRelease(now);
    return earliest === Number.POSITIVE_INFINITY ? this.intervalMs : Math.max(0, earliest - now);
  }

  /** Calls Slack lets through per window (windowed pacers). */
  private get budget(): number {
    return Math.max(1, Math.floor(this.windowMs! / this.intervalMs + 1e-9));
  }

  /** Earliest time the next release keeps every span of the last releases within the rate (and the window's budget). */
  private earliestRelease(now: number): number {
    let earliest = Number.NEGATIVE_INFINITY;
    const known = Math.min(this.releaseCount, historyLength);
    for (let back = 1; back <= known; back++) {
      const at = this.releases[(this.releaseCount - back) % historyLength]! + back * this.intervalMs;
      if (at > earliest) earliest = at;
    }
    const slack = Math.min(spanSlackMs, this.intervalMs / 4);
    if (this.windowMs === undefined) return Math.max(this.pausedUntil, earliest - slack);
    // Right after a Retry-After nothing is made up: Slack just said our count and its own disagree.
    const catchUp =
      now < this.pausedUntil + this.windowMs ? slack : Math.max(slack, Math.floor(this.budget * catchUpShare) * this.intervalMs);
    return Math.max(this.pausedUntil, earliest - catchUp, this.windowOpens(now));
  }

  /** When one more call fits the window's budget (infinity while that waits for answers still in flight). */
  private windowOpens(now: number): number {
    const windowMs = this.windowMs!;
    const safety = windowMs * windowSafetyShare;
    // A call reached Slack before its answer came back: that is the latest it can count in Slack's window.
    const leaves = this.live.map((call) =>
      Number.isNaN(call.answeredAt) ? Number.POSITIVE_INFINITY : call.answeredAt + windowMs + safety,
    );
    this.live = this.live.filter((_call, index) => leaves[index]! > now);
    const counted = leaves.filter((leave) => leave > now).sort((left, right) => left - right);
    if (counted.length < this.budget) return Number.NEGATIVE_INFINITY;
    return counted[counted.length - this.budget]!;
  }

  private reschedule(): void {
    if (this.timer === undefined) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.pump();
  }

  private pump(): void {
    this.timer = undefined;
    if (this.waiting.length === 0) return;
    const now = performance.now();
    const earliest = this.earliestRelease(now);
    if (earliest === Number.POSITIVE_INFINITY) return; // an answer still in flight decides: `answered` pumps again
    if (now < earliest) {
      // Rounded up: a timer may not fire before its time, never early.
      this.timer = setTimeout(() => this.pump(), Math.min(Math.ceil(earliest - now), 2 ** 31 - 1));
      return;
    }
    const waiter = this.waiting.shift()!;
    if (waiter.onAbort) waiter.signal?.removeEventListener('abort', waiter.onAbort);
    this.releases[this.releaseCount % historyLength] = now;
    this.releaseCount++;
    const release: Release = { at: now, answeredAt: Number.NaN };
    if (this.windowMs !== undefined) this.live.push(release);
    waiter.release(release);
    if (this.waiting.length > 0) this.pump();
  }
}

export class Pacers {
  private readonly pacers = new Map<string, MethodPacer>();
  constructor(
    private readonly rates: TierRates,
    /** Fraction by which we stay below the rate, so network jitter never lands N+1 requests in one window. */
    private readonly margin = 0.03,
    /**
     * Length of the window Slack counts calls in (a minute; shorter for a time-compressed fake). Given, every method is
     * paced to its exact budget per window (see MethodPacer) and `margin` is not needed; not given, every window of any
     * length is kept `margin` below the rate.
     */
    private readonly windowMs?: number,
  ) {}

  /** Methods whose waiting requests are held at least `minimumMs` from now, longest wait first. */
  waits(minimumMs: number): Array<{ method: string; waitMs: number }> {
    const now = performance.now();
    return [...this.pacers]
      .map(([method, pacer]) => ({ method, waitMs: pacer.waitMs(now) }))
      .filter((wait) => wait.waitMs >= minimumMs)
      .sort((left, right) => right.waitMs - left.waitMs);
  }

  for(method: string): MethodPacer {
    let pacer = this.pacers.get(method);
    if (!pacer) {
      pacer = new MethodPacer(this.intervalOf(methodTiers[method] ?? 3), this.windowMs);
      this.pacers.set(method, pacer);
    }
    return pacer;
  }

  /** Slack moved `method` to another tier (the restricted regime puts history and replies on Tier 1): pace it so. */
  slowToTier(method: string, tier: SlackTier): void {
    this.for(method).slowTo(this.intervalOf(tier));
  }

  /** Back to the method's own tier. */
  restoreTier(method: string): void {
    this.for(method).setInterval(this.intervalOf(methodTiers[method] ?? 3));
  }

  private intervalOf(tier: SlackTier): number {
    const perMinute = this.rates[`tier${tier}`];
    return perMinute > 0 ? (60_000 / perMinute) * (this.windowMs === undefined ? 1 + this.margin : 1) : 0;
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
