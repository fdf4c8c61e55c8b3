// Slack Web API client: @slack/web-api for the wire, plus our pacing, Retry-After handling, retries and error mapping.

import { WebClient, LogLevel, type Logger as SlackLogger } from '@slack/web-api';
import { RunError, ConfigError } from '../../errors.js';
import { displayUrl, silentLogger, type Logger } from '../../log.js';
import { retry } from '../../retry.js';
import { defaultTierRates, Pacers, type TierRates } from './pacer.js';

export interface SlackClientOptions {
  token: string;
  /** Default `https://slack.com/api/`; GovSlack and the fake use another. */
  slackApiUrl?: string;
  tierRates?: TierRates;
  /** Per-attempt request timeout (default 30 s). */
  timeoutMs?: number;
  /** Attempts for a call failing with 5xx, network errors, timeouts or malformed bodies (default 8). 429s do not count. */
  maxAttempts?: number;
  /** First retry delay; doubles up to `retryMaxDelayMs` (defaults 1 s and 30 s). */
  retryBaseDelayMs?: number;
  retryMaxDelayMs?: number;
  pacingMargin?: number;
  logger?: Logger;
  signal?: AbortSignal;
}

/** Slack answered `ok:false` with an error code (e.g. `not_in_channel`); the caller decides what it means. */
export class SlackApiError extends RunError {
  constructor(
    readonly method: string,
    readonly slackError: string,
    readonly needed?: string,
  ) {
    super(`slack_${slackError}`, `Slack ${method} failed: ${slackError}${needed ? ` (needs scope ${needed})` : ''}`);
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
    super('slack_unavailable', `Slack ${method} at ${url} failed ${attempts} times: ${problem}`, { hint: 'check --slack-api-url and the network, then run again' });
  }
}

export interface SlackClientStats {
  calls: number;
  callsByMethod: Record<string, number>;
  rateLimited: number;
  retries: number;
  timeouts: number;
  failedCalls: number;
  restrictedRegime: boolean;
}

const slackErrorCode = /^[a-z][a-z0-9_.]*$/;
/** Below this many items on a page that asked for more while a cursor remains, Slack is applying the 2025 cap. */
const restrictedPageSize = 15;
const restrictedMethods = new Set(['conversations.history', 'conversations.replies']);

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

export class SlackApiClient {
  readonly slackApiUrl: string;
  private readonly web: WebClient;
  private readonly pacers: Pacers;
  private readonly logger: Logger;
  private readonly maxAttempts: number;
  private readonly retryBaseDelayMs: number;
  private readonly retryMaxDelayMs: number;
  private readonly signal: AbortSignal | undefined;
  private readonly counters: SlackClientStats = {
    calls: 0,
    callsByMethod: {},
    rateLimited: 0,
    retries: 0,
    timeouts: 0,
    failedCalls: 0,
    restrictedRegime: false,
  };

  constructor(options: SlackClientOptions) {
    this.slackApiUrl = options.slackApiUrl ?? 'https://slack.com/api/';
    this.logger = options.logger ?? silentLogger;
    this.maxAttempts = options.maxAttempts ?? 8;
    this.retryBaseDelayMs = options.retryBaseDelayMs ?? 1000;
    this.retryMaxDelayMs = options.retryMaxDelayMs ?? 30_000;
    this.signal = options.signal;
    this.pacers = new Pacers(options.tierRates ?? defaultTierRates, options.pacingMargin);
    // Retries and 429s are ours: the built-in retry adds p-retry backoff on top of Retry-After and pauses every method.
    this.web = new WebClient(options.token, {
      slackApiUrl: this.slackApiUrl,
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      timeout: options.timeoutMs ?? 30_000,
      logger: quietSlackLogger(this.logger),
    });
  }

  stats(): SlackClientStats {
    return { ...this.counters, callsByMethod: { ...this.counters.callsByMethod } };
  }

  /** The API URL without credentials or query, for error messages. */
  get displayUrl(): string {
    return displayUrl(this.slackApiUrl);
  }


  /**
   * One Web API call, paced by its method's tier. Returns the body of an `ok:true` answer; throws SlackApiError for
   * `ok:false`, and RunError when transient faults outlast every attempt. `attempts` overrides `maxAttempts`.
   */
  async call<T = Record<string, any>>(method: string, params: Record<string, unknown> = {}, attempts = this.maxAttempts): Promise<T> {
    const pacer = this.pacers.for(method);
    let problem = '';
    const result = await retry(
      async () => {
        await pacer.acquire(this.signal);
        this.counters.calls++;
        this.counters.callsByMethod[method] = (this.counters.callsByMethod[method] ?? 0) + 1;
        const answer = (await this.web.apiCall(method, { ...params })) as Record<string, any>;
        this.noticeRestrictedPage(method, params, answer);
        return answer;
      },
      {
        policy: { attempts, baseDelayMs: this.retryBaseDelayMs, maxDelayMs: this.retryMaxDelayMs },
        signal: this.signal,
        decide: (error) => {
          const outcome = this.classify(method, error);
          if (outcome.kind === 'fatal') throw outcome.error;
          if (outcome.kind === 'rate_limited') {
            this.counters.rateLimited++;
            pacer.pauseFor(outcome.retryAfterSeconds * 1000);
            if (outcome.retryAfterSeconds >= 30 && restrictedMethods.has(method)) {
              if (!this.counters.restrictedRegime) this.reportRestricted(method);
              pacer.slowTo(outcome.retryAfterSeconds * 1000);
            }
            // The pacer holds the next try until Retry-After has passed; a 429 is not a failed attempt.
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

  private classify(
    method: string,
    error: unknown,
  ): { kind: 'fatal'; error: Error } | { kind: 'rate_limited'; retryAfterSeconds: number } | { kind: 'transient'; problem: string } {
    const failure = error as { code?: string; data?: Record<string, any>; retryAfter?: number; statusCode?: number; original?: Error; message?: string };
    switch (failure.code) {
      case 'slack_webapi_rate_limited_error':
        return { kind: 'rate_limited', retryAfterSeconds: failure.retryAfter ?? 1 };
      case 'slack_webapi_platform_error': {
        const slackError = String(failure.data?.error ?? 'unknown_error');
        if (slackError === 'ratelimited') return { kind: 'rate_limited', retryAfterSeconds: 1 };
        // @slack/web-api turns an unparsable body into `ok:false` with the raw text as the "error".
        if (!slackErrorCode.test(slackError)) return { kind: 'transient', problem: 'malformed response body' };
        if (['internal_error', 'fatal_error', 'service_unavailable', 'request_timeout'].includes(slackError)) {
          return { kind: 'transient', problem: slackError };
        }
        return { kind: 'fatal', error: new SlackApiError(method, slackError, failure.data?.needed) };
      }
      case 'slack_webapi_http_error': {
        const status = failure.statusCode ?? 0;
        if (status >= 500 || status === 408) return { kind: 'transient', problem: `HTTP ${status}` };
        return { kind: 'fatal', error: new RunError('slack_http_error', `Slack ${method} answered HTTP ${status}`, { hint: 'check --slack-api-url' }) };
      }
      case 'slack_webapi_request_error': {
        const original = failure.original;
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

  private noticeRestrictedPage(method: string, params: Record<string, unknown>, result: Record<string, any>): void {
    if (this.counters.restrictedRegime || !restrictedMethods.has(method)) return;
    const asked = Number(params.limit ?? 0);
    const got = Array.isArray(result.messages) ? result.messages.length : 0;
    const more = Boolean(result.response_metadata?.next_cursor);
    if (more && asked > restrictedPageSize && got <= restrictedPageSize) this.reportRestricted(method);
  }

  private reportRestricted(method: string): void {
    this.counters.restrictedRegime = true;
    // Both methods are restricted together: pace them at Tier 1 from now on instead of bouncing off 429s.
    for (const restricted of restrictedMethods) this.pacers.slowToTier(restricted, 1);
    this.logger.warn(
      `Slack is applying its 2025 limits for non-Marketplace apps to ${method} (1 request per minute, 15 messages per page): ` +
        'the run continues at that pace and will take much longer; a Marketplace-approved or internal app avoids it',
    );
  }
}

function describeNetworkError(error: unknown): string {
  const failure = error as { message?: string; cause?: { code?: string; message?: string }; code?: string };
  const code = failure.cause?.code ?? failure.code;
  const message = failure.cause?.message ?? failure.message ?? String(error);
  return code && !message.includes(code) ? `${code} ${message}` : message;
}
