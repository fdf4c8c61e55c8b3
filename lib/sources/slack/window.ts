// The time window of a run: --since/--until (dates, date-times, durations) or --fetch-last-n-days, as Slack boundaries.

import { DateTime, Duration } from 'luxon';
import { ConfigError } from '../../errors.js';
import { slackSourceOptions } from './options.js';

/** When a window boundary is: an ISO date or date-time, a duration back from now (`P30D`, `30d`, `12h`), or a Date / epoch ms. */
export type WindowBoundary = string | Date | number;

export interface WindowOptions {
  /** Oldest message time, inclusive. Wins over `fetchLastNDays`. */
  since?: WindowBoundary;
  /** Newest message time, exclusive. */
  until?: WindowBoundary;
  /** Used when neither `since` nor `until` is given; 0 = all history. Default: `slackSourceOptions.fetchLastNDays`. */
  fetchLastNDays?: number;
  /** The run's "now" in epoch milliseconds. Default the current time. */
  now?: number;
  /** IANA zone for dates without an offset and for calendar-day durations. Default the system zone. */
  timeZone?: string;
}

export interface MessageWindow {
  /** Inclusive lower bound as Slack's `oldest` (whole seconds), or null for all history. */
  oldest: string | null;
  /** Inclusive upper bound as Slack's `latest` (6 decimals, one microsecond before `until`), or null for up to now. */
  latest: string | null;
  /** The same bounds in epoch milliseconds, for reports. */
  sinceMs: number | null;
  untilMs: number | null;
}

const shortDuration = /^(\d+)\s*(m|min|h|d|w)$/i;
const shortUnits: Record<string, 'minutes' | 'hours' | 'days' | 'weeks'> = {
  m: 'minutes',
  min: 'minutes',
  h: 'hours',
  d: 'days',
  w: 'weeks',
};

function windowError(flag: string, message: string): ConfigError {
  return new ConfigError('usage', `--${flag} ${message}`, {
    hint: `use an ISO date (2026-03-01), a date-time (2026-03-01T09:00, 2026-03-01T09:00Z) or a duration back from now (P30D, 30d, 12h)`,
  });
}

/** One boundary as a DateTime: durations count back from `now` in calendar units of `zone` (a day across DST is 23 or 25 h). */
export function parseBoundary(flag: string, value: WindowBoundary, now: DateTime): DateTime {
  if (value instanceof Date || typeof value === 'number') {
    const moment = DateTime.fromMillis(value instanceof Date ? value.getTime() : value, { zone: now.zone });
    if (!moment.isValid) throw windowError(flag, `is not a valid time`);
    return moment;
  }
  const text = value.trim();
  const short = shortDuration.exec(text);
  if (short) return now.minus({ [shortUnits[short[2]!.toLowerCase()]!]: Number(short[1]) });
  if (/^P/i.test(text)) {
    const duration = Duration.fromISO(text.toUpperCase());
    if (!duration.isValid) throw windowError(flag, `'${text}' is not an ISO-8601 duration`);
    return now.minus(duration);
  }
  const moment = DateTime.fromISO(text, { zone: now.zone });
  if (!moment.isValid) throw windowError(flag, `'${text}' is neither a date, a date-time nor a duration`);
  return moment;
}

/** 1700000000123 ms → "1699999999.999999" style bounds: Slack takes `oldest`/`latest` as seconds with up to 6 decimals. */
const microsToTs = (micros: bigint): string => `${micros / 1_000_000n}.${String(micros % 1_000_000n).padStart(6, '0')}`;

/** The effective window; throws ConfigError (exit 2) for unparsable boundaries or `until` not after `since`. */
export function resolveWindow(options: WindowOptions): MessageWindow {
  const zone = options.timeZone ?? 'system';
  const now = DateTime.fromMillis(options.now ?? Date.now(), { zone });
  if (!now.isValid)
    throw new ConfigError('usage', `unknown time zone '${options.timeZone}'`, {
      hint: 'use an IANA zone name such as Europe/Berlin or UTC',
    });
  if (options.since === undefined && options.until === undefined) {
    const days = options.fetchLastNDays ?? slackSourceOptions.fetchLastNDays.default;
    if (days === 0) return { oldest: null, latest: null, sinceMs: null, untilMs: null };
    const sinceSeconds = Math.floor(now.toSeconds()) - days * 86_400;
    // A window reaching before 1970 (a huge --fetch-last-n-days) is all history, never a negative `oldest`.
    if (sinceSeconds <= 0) return { oldest: null, latest: null, sinceMs: null, untilMs: null };
    return { oldest: String(sinceSeconds), latest: null, sinceMs: sinceSeconds * 1000, untilMs: null };
  }
  const since = options.since === undefined ? null : parseBoundary('since', options.since, now);
  const until = options.until === undefined ? null : parseBoundary('until', options.until, now);
  if (since && until && until <= since) {
    throw new ConfigError('usage', `--until (${until.toISO()}) is not after --since (${since.toISO()})`, {
      hint: 'swap them, or widen the window',
    });
  }
  const sinceSeconds = since && since.toSeconds() > 0 ? Math.floor(since.toSeconds()) : null;
  return {
    oldest: sinceSeconds === null ? null : String(sinceSeconds),
    latest: until ? microsToTs(BigInt(until.toMillis()) * 1000n - 1n) : null,
    sinceMs: sinceSeconds === null ? null : sinceSeconds * 1000,
    untilMs: until ? until.toMillis() : null,
  };
}

/** "2026-03-01T00:00:00.000Z → now" style description of a window, for summaries. */
export function describeWindow(window: Pick<MessageWindow, 'sinceMs' | 'untilMs'>): string {
  const at = (ms: number | null, open: string) => (ms === null ? open : new Date(ms).toISOString());
  return `${at(window.sinceMs, 'all history')} → ${at(window.untilMs, 'now')}`;
}
