// Retries with exponential backoff and one abortable sleep: the single place that decides attempts, delays, caps and jitter.

/** How a failing operation is retried. Every remote call (Slack, Elasticsearch) speaks this vocabulary. */
export interface RetryPolicy {
  /** Tries in all, the first included (at least 1). */
  attempts: number;
  /** Wait before the first retry; it doubles for every further retry. */
  baseDelayMs: number;
  /** Longest wait between two tries. */
  maxDelayMs: number;
  /**
   * Share of each wait that is random (0–1): 0.5 waits between half and all of it. Spreads the retries of concurrent
   * callers so they do not hit a recovering server together. Default 0.5.
   */
  jitter?: number;
}

/**
 * What to do after a failure:
 * - `'fail'`: give up, the error is thrown as it is;
 * - `'backoff'`: try again after the policy's next delay; counts against `attempts`;
 * - `{ waitMs }`: try again after this wait (a server said when, e.g. `Retry-After`); does not count against `attempts`.
 */
export type RetryDecision = 'fail' | 'backoff' | { waitMs: number };

export interface RetryOptions {
  policy: RetryPolicy;
  /** Default: every error is worth a backoff retry. May throw to replace the error (e.g. with a typed one). */
  decide?: (error: unknown) => RetryDecision;
  /** Called before each wait (for logs and counters). `failures` counts the failures that used up attempts. */
  onRetry?: (event: { error: unknown; failures: number; delayMs: number; counted: boolean }) => void;
  /** Turns the last error into what is thrown when attempts run out; default: the last error itself. */
  exhausted?: (error: unknown, failures: number) => unknown;
  /** Stops waiting at once; the operation's own error is thrown if it fails after the abort. */
  signal?: AbortSignal;
  /** For tests: a source of randomness in [0, 1). */
  random?: () => number;
}

/** The wait before retry number `retry` (1 = the first retry) under `policy`. */
export function backoffDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  const full = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, retry - 1));
  return full * (1 - jitter + jitter * random());
}

/** Resolves after `ms`, or rejects with the signal's reason the moment it aborts (and then holds no timer). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    // setTimeout fires at once for delays beyond 2^31 − 1 ms (about 24.8 days): clamp instead.
    const timer = setTimeout(done, Math.min(Math.max(0, ms), 2 ** 31 - 1));
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
}

/**
 * Runs `operation` (given the attempt number, from 1) until it succeeds, a failure is judged `'fail'`, attempts run
 * out, or the signal aborts. After an abort the signal's reason is thrown, never another retry.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const { policy, signal } = options;
  const attempts = Math.max(1, policy.attempts);
  let failures = 0;
  for (let attempt = 1; ; attempt++) {
    if (signal?.aborted) throw signal.reason;
    try {
      return await operation(attempt);
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      const decision = options.decide ? options.decide(error) : 'backoff';
      if (decision === 'fail') throw error;
      let delayMs: number;
      const counted = decision === 'backoff';
      if (counted) {
        failures++;
        if (failures >= attempts) throw options.exhausted ? options.exhausted(error, failures) : error;
        delayMs = backoffDelay(policy, failures, options.random);
      } else {
        delayMs = Math.max(0, decision.waitMs);
      }
      options.onRetry?.({ error, failures, delayMs, counted });
      if (delayMs > 0) await sleep(delayMs, signal);
    }
  }
}
