// Slack Web API client: @slack/web-api for the wire, plus our pacing, Retry-After handling, retries and error mapping.

import { WebClient, LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import { RunError, ConfigError } from '../../errors.js';
import { displayUrl, silentLogger, type Logger } from '../../log.js';
import { backoffDelay, retry, type RetryPolicy } from '../../retry.js';
import { actionFor, configErrorFor, type SlackErrorAction } from './error-policy.js';
import { defaultTierRates, Pacers, type TierRates } from './pacer.js';
import { nestingGuardedFetch } from './nesting-guard.js';
import { longRetryAfterSeconds, RestrictedRegime } from './restricted-regime.js';
import { slackSourceOptions } from './options.js';

export interface SlackClientOptions {
  token: string;
  /** Default the `SLACK_API_URL` environment variable, else `https://slack.com/api/` (as the CLI); GovSlack and the fake use another. */
  slackApiUrl?: string;
  tierRates?: TierRates;
  /** Per-attempt request timeout (default 30 s). */
  timeoutMs?: number;
  /** Attempts for a call failing with 5xx, network errors, timeouts or malformed bodies (default 8). 429s do not count. */
  maxAttempts?: number;
  /** First retry delay; doubles up to `retryMaxDelayMs` (defaults 1 s and 30 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  /** Fraction below the tier rates every window keeps when `rateWindowMs` is not given (default 0.03). */
  pacingMargin?: number;
  /**
   * The window Slack counts each method's calls in: 60000 (Slack's limits are per minute), or shorter for a server that
   * runs Slack's minute faster (the fake's `rateScale`). Given, each method gets its exact budget per window, counted
   * as Slack sees the calls arrive; not given, the pacing keeps `pacingMargin` below the rate in windows of any length.
   */
  rateWindowMs?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

/** Slack answered `ok:false` with an error code (e.g. `not_in_channel`); `action` is what the error policy says. */
export class SlackApiError extends RunError {
  readonly action: SlackErrorAction;
  constructor(
    readonly method: string,
    readonly slackError: string,
    readonly needed?: string,
    message = `Slack ${method} failed: ${slackError}${needed ? ` (needs scope ${needed})` : ''}`,
  ) {
    super(`slack_${slackError}`, message);
    this.action = actionFor(slackError);
  }
}

/** A `next_cursor` came back that was already followed, or pages never ended: the conversation is skipped. */
export class SlackPaginationError extends SlackApiError {
  constructor(method: string, where: string, problem: string) {
    super(method, 'pagination_loop', undefined, `Slack ${method} ${where}: ${problem}; stopped reading it`);
  }
}

/** Transient faults (5xx, network, timeouts, malformed bodies) outlasted every attempt of one call. */
export class SlackUnavailableError extends RunError {
  constructor(
    readonly method: string,
    readonly url: string,
    readonly attempts: number,
    readonly problem: string,
  ) {
    super('slack_unavailable', `Slack ${method} at ${url} failed ${attempts} times: ${problem}`, {
      hint: 'check --slack-api-url and the network, then run again',
    });
  }
}

export interface SlackClientStats {
  calls: number;
  callsByMethod: Record<string, number>;
  rateLimited: number;
  retries: number;
  timeouts: number;
  failedCalls: number;
  /** Whether the 2025 restricted regime was in force at any time of the run. */
  restrictedRegime: boolean;
  /** Times the client switched into the restricted regime (it leaves when the evidence stops). */
  restrictedRegimeEntered: number;
}

export interface PaginateOptions {
  /** Stop after this many pages (a conversation larger than Slack allows would be a loop). Default 1,000,000. */
  maxPages?: number;
  /** Stop after this many empty pages in a row that still claim more. Default 200. */
  maxEmptyPages?: number;
  /** Names what is being read in the error ("channel C123"); default the method's `channel` parameter. */
  where?: string;
}

const slackErrorCode = /^[a-z][a-z0-9_.]*$/;
/** A method answering 429 this many times in a row earns a warning (then at every doubling). */
const sustainedRateLimits = 3;

/** Thrown by our fetch for a 429 without a usable Retry-After (@slack/web-api would fail the call for good). */
class RateLimitedWithoutWait extends Error {}

/** Route @slack/web-api's own logging into ours at debug level: its warnings are ours to report. */
function quietSlackLogger(logger: Logger): SlackLogger {
  const join = (parts: unknown[]) => parts.map(String).join(' ');
  return {
    debug: (...parts) => logger.debug(join(parts)),
    info: (...parts) => logger.debug(join(parts)),
    warn: (...parts) => logger.debug(join(parts)),
    error: (...parts) => logger.debug(join(parts)),
    setLevel() {},
    getLevel: () => LogLevel.DEBUG,
    setName() {},
  };
}

/** Seconds of a Retry-After header: delta-seconds or an HTTP-date; undefined when absent or unusable. */
function retryAfterSeconds(header: string | null, nowMs = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  if (/^\s*\d+\s*$/.test(header)) return Number(header);
  const date = Date.parse(header);
  return Number.isFinite(date) ? Math.max(0, Math.ceil((date - nowMs) / 1000)) : undefined;
}

type Outcome =
  | { kind: 'fatal'; error: Error }
  | { kind: 'rate_limited'; retryAfterSeconds: number | undefined }
  | { kind: 'transient'; problem: string };

export class SlackApiClient {
  readonly slackApiUrl: string;
  private readonly web: WebClient;
  private readonly pacers: Pacers;
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly counters: Omit<SlackClientStats, 'restrictedRegime' | 'restrictedRegimeEntered'> = {
    calls: 0,
    callsByMethod: {},
    rateLimited: 0,
    retries: 0,
    timeouts: 0,
    failedCalls: 0,
  };
  private readonly rateLimitStreak = new Map<string, number>();
  private readonly restrictedRegime: RestrictedRegime;

  constructor(options: SlackClientOptions) {
    this.slackApiUrl = options.slackApiUrl ?? (process.env.SLACK_API_URL || slackSourceOptions.slackApiUrl.default);
    refuseCredentialsInUrl(this.slackApiUrl);
    this.logger = options.logger ?? silentLogger;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 1000;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000;
    this.signal = options.signal;
    this.pacers = new Pacers(options.tierRates ?? defaultTierRates, options.pacingMargin, options.rateWindowMs);
    this.restrictedRegime = new RestrictedRegime(this.pacers, this.logger);
    const signal = this.signal;
    // Retries and 429s are ours: the built-in retry adds p-retry backoff on top of Retry-After and pauses every method.
    this.web = new WebClient(options.token, {
      slackApiUrl: this.slackApiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 30_000,
      logger: quietSlackLogger(this.logger),
      // Hostile nesting is defused before @slack/web-api's recursive logging can overflow the stack.
      fetch: nestingGuardedFetch(async (url, init) => {
        // An interrupt ends a request in flight too, not only the waits between requests.
        const signals = [init?.signal, signal].filter((one): one is AbortSignal => one instanceof AbortSignal);
        const response = await fetch(url, { ...init, ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}) });
        if (response.status !== 429) return response;
        const seconds = retryAfterSeconds(response.headers.get('retry-after'));
        await response.body?.cancel().catch(() => undefined);
        if (seconds === undefined) throw new RateLimitedWithoutWait();
        // @slack/web-api reads only delta-seconds: hand it the HTTP-date form converted.
        return new Response(null, { status: 429, headers: { 'retry-after': String(seconds) } });
      }),
    });
  }

  /** Methods held back by pacing or a Retry-After for at least `minimumMs` (default 2 s), longest first: "waiting for Slack". */
  waits(minimumMs = 2000): Array<{ method: string; waitMs: number }> {
    return this.pacers.waits(minimumMs);
  }

  stats(): SlackClientStats {
    return {
      ...this.counters,
      callsByMethod: { ...this.counters.callsByMethod },
      restrictedRegime: this.restrictedRegime.timesEntered > 0,
      restrictedRegimeEntered: this.restrictedRegime.timesEntered,
    };
  }

  /** The API URL without credentials or query, for error messages. */
  get displayUrl(): string {
    return displayUrl(this.slackApiUrl);
  }

  /**
   * One Web API call, paced by its method's tier. Returns the body of an `ok:true` answer. Failures follow the error
   * policy (error-policy.ts): `config` throws ConfigError, `retry` retries (429s without using up attempts), the rest
   * throw SlackApiError (its `action` says `skip-channel` or `fatal`); transient faults outlasting every attempt throw
   * SlackUnavailableError. `attempts` overrides `maxAttempts`.
   */
  async call<T = Record<string, any>>(method: string, params: Record<string, unknown> = {}, attempts = this.maxAttempts): Promise<T> {
    const pacer = this.pacers.for(method);
    let problem = '';
    const policy = { attempts, baseDelayMs: this.retryBaseDelayMs, maxDelayMs: this.retryMaxDelayMs };
    const result = await retry(
      async () => {
        const release = await pacer.acquire(this.signal);
        this.counters.calls++;
        this.counters.callsByMethod[method] = (this.counters.callsByMethod[method] ?? 0) + 1;
        let answer: Record<string, any>;
        try {
          answer = (await this.web.apiCall(method, { ...params })) as Record<string, any>;
        } finally {
          pacer.answered(release);
        }
        this.rateLimitStreak.delete(method);
        this.restrictedRegime.noticeAnswer(method, params, answer);
        return answer;
      },
      {
        policy,
        signal: this.signal,
        decide: (error) => {
          const outcome = this.classify(method, error);
          if (outcome.kind === 'fatal') throw outcome.error;
          if (outcome.kind === 'rate_limited') {
            // The pacer holds every request of this method until the wait has passed; a 429 is not a failed attempt.
            pacer.pauseFor(this.noticeRateLimit(method, outcome.retryAfterSeconds, policy));
            return { waitMs: 0 };
          }
          problem = outcome.problem;
          return 'backoff';
        },
        onRetry: ({ failures, delayMs, counted }) => {
          if (!counted) return;
          this.counters.retries++;
          this.logger.debug(`retrying ${method} in ${Math.round(delayMs)} ms (failure ${failures}): ${problem}`);
        },
        exhausted: (_error, failures) => {
          this.counters.failedCalls++;
          return new SlackUnavailableError(method, this.displayUrl, failures, problem);
        },
      },
    );
    return result as T;
  }

  /**
   * Every page of a cursor-paginated method, as the array under `itemsKey` of each page. Stops when Slack gives no
   * `next_cursor` or says `has_more: false`. A cursor that comes back a second time, too many empty pages in a row
   * that still claim more, or more than `maxPages` pages throw SlackPaginationError (policy: skip the channel).
   */
  async *paginate<Item = Record<string, any>>(
    method: string,
    params: Record<string, unknown>,
    itemsKey: string,
    options: PaginateOptions = {},
  ): AsyncGenerator<Item[]> {
    const maxPages = options.maxPages ?? 1_000_000;
    const maxEmptyPages = options.maxEmptyPages ?? 200;
    const where = options.where ?? (params.channel !== undefined ? `of channel ${String(params.channel)}` : '');
    const seen = new Set<string>();
    let cursor: string | undefined;
    let emptyInRow = 0;
    for (let pages = 1; ; pages++) {
      const page = await this.call(method, { ...params, ...(cursor ? { cursor } : {}) });
      const items = Array.isArray(page[itemsKey]) ? (page[itemsKey] as Item[]) : [];
      yield items;
      const next: unknown = page.response_metadata?.next_cursor;
      if (typeof next !== 'string' || next === '' || page.has_more === false) return;
      if (seen.has(next))
        throw new SlackPaginationError(
          method,
          where,
          `Slack returned the cursor of page ${[...seen].indexOf(next) + 2} again after page ${pages} (a cursor cycle)`,
        );
      emptyInRow = items.length === 0 ? emptyInRow + 1 : 0;
      if (emptyInRow >= maxEmptyPages)
        throw new SlackPaginationError(method, where, `${emptyInRow} empty pages in a row still claimed more`);
      if (pages >= maxPages) throw new SlackPaginationError(method, where, `more than ${maxPages} pages`);
      seen.add(next);
      cursor = next;
    }
  }

  private classify(method: string, error: unknown): Outcome {
    const failure = error as {
      code?: string;
      data?: Record<string, any>;
      retryAfter?: number;
      statusCode?: number;
      original?: Error;
      message?: string;
    };
    switch (failure.code) {
      case 'slack_webapi_rate_limited_error':
        return { kind: 'rate_limited', retryAfterSeconds: failure.retryAfter };
      case 'slack_webapi_platform_error': {
        const slackError = String(failure.data?.error ?? 'unknown_error');
        // @slack/web-api turns an unparsable body into `ok:false` with the raw text as the "error".
        if (!slackErrorCode.test(slackError)) return { kind: 'transient', problem: 'malformed response body' };
        // HTTP 200 `ratelimited` is a 429 that names no wait.
        if (slackError === 'ratelimited') return { kind: 'rate_limited', retryAfterSeconds: undefined };
        return this.byPolicy(method, slackError, slackError, failure.data?.needed);
      }
      case 'slack_webapi_http_error': {
        const status = failure.statusCode ?? 0;
        return this.byPolicy(method, `http_${status}`, `HTTP ${status}`);
      }
      case 'slack_webapi_request_error': {
        const original = failure.original;
        if (original instanceof RateLimitedWithoutWait) return { kind: 'rate_limited', retryAfterSeconds: undefined };
        if (original?.name === 'TimeoutError') {
          this.counters.timeouts++;
          return { kind: 'transient', problem: 'request timed out' };
        }
        return { kind: 'transient', problem: describeNetworkError(original ?? error) };
      }
      default:
        if (error instanceof ConfigError) return { kind: 'fatal', error };
        return { kind: 'transient', problem: describeNetworkError(error) };
    }
  }

  private byPolicy(method: string, code: string, problem: string, needed?: string): Outcome {
    switch (actionFor(code)) {
      case 'retry':
        return { kind: 'transient', problem };
      case 'config':
        return { kind: 'fatal', error: configErrorFor(method, code, needed) };
      default:
        if (code.startsWith('http_')) {
          return {
            kind: 'fatal',
            error: new RunError('slack_http_error', `Slack ${method} answered ${problem}`, { hint: 'check --slack-api-url' }),
          };
        }
        return { kind: 'fatal', error: new SlackApiError(method, code, needed) };
    }
  }

  /** Books a 429 (or `ratelimited`): returns how long the method waits, warns when it persists, gathers regime evidence. */
  private noticeRateLimit(method: string, retryAfter: number | undefined, policy: RetryPolicy): number {
    this.counters.rateLimited++;
    const streak = (this.rateLimitStreak.get(method) ?? 0) + 1;
    this.rateLimitStreak.set(method, streak);
    // Without a Retry-After, back off as for a failure, growing with the streak (it never uses up attempts).
    const waitMs =
      retryAfter === undefined ? backoffDelay({ ...policy, baseDelayMs: Math.max(policy.baseDelayMs, 1) }, streak) : retryAfter * 1000;
    const waitText = waitMs >= 1000 ? `${Math.round(waitMs / 1000)} s` : `${Math.round(waitMs)} ms`;
    const sustained = streak === sustainedRateLimits || (streak > sustainedRateLimits && (streak & (streak - 1)) === 0);
    if (sustained || (streak === 1 && waitMs >= longRetryAfterSeconds * 1000)) {
      const told = retryAfter === undefined ? 'no Retry-After given' : 'Retry-After';
      const answers = streak === 1 ? 'a 429' : `${streak} answers in a row were 429`;
      this.logger.warn(`Slack is rate-limiting ${method} (${answers}): waiting ${waitText} (${told})`);
    } else {
      this.logger.debug(`${method} rate-limited: waiting ${waitText}`);
    }
    this.restrictedRegime.noticeRateLimit(method, retryAfter);
    return waitMs;
  }
}

/** Slack authenticates by token only: a user name or password in the API URL would be sent to every proxy and logged. */
function refuseCredentialsInUrl(text: string): void {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigError('usage', `--slack-api-url is not a URL: '${displayUrl(text)}'`, { hint: 'pass e.g. https://slack.com/api/' });
  }
  if (url.username !== '' || url.password !== '') {
    throw new ConfigError('usage', `--slack-api-url (or SLACK_API_URL) must not carry a user name or password (${displayUrl(text)})`, {
      hint: "remove 'user:password@' from it: Slack takes only the token (SLACK_TOKEN or --token)",
    });
  }
}

function describeNetworkError(error: unknown): string {
  const failure = error as { message?: string; cause?: { code?: string; message?: string }; code?: string };
  const code = failure.cause?.code ?? failure.code;
  const message = failure.cause?.message ?? failure.message ?? String(error);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
