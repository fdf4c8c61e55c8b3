// Connector schedules: Quartz cron as Kibana writes it (seconds field, `?`, `L`, `#`, 1 = Sunday), evaluated in UTC.

import { Cron } from 'croner';
import { DateTime } from 'luxon';

export interface Schedule {
  enabled?: boolean;
  interval?: string;
}

export class ScheduleError extends Error {
  override name = 'ScheduleError';
}

/**
 * croner reads Quartz syntax once told to: six or seven fields, Quartz weekday numbers, and `0/5`-style steps
 * (which Elastic's own protocol document uses). Kibana's schedules are UTC.
 */
function quartz(interval: string): Cron {
  try {
    return new Cron(interval, { timezone: 'UTC', paused: true, mode: '6-or-7-parts', alternativeWeekdays: true, sloppyRanges: true });
  } catch (error) {
    throw new ScheduleError(`'${interval}' is not a Quartz cron expression (${(error as Error).message})`);
  }
}

/** The first time the schedule fires strictly after `after`, or null when it never fires again. */
export function nextRun(interval: string, after: DateTime): DateTime | null {
  const next = quartz(interval).nextRun(after.toJSDate());
  return next ? DateTime.fromJSDate(next, { zone: 'utc' }) : null;
}

/**
 * The run a schedule owes now, as Elastic's service decides it: the first fire time after the later of this process's
 * previous wake-up and the last time a job was scheduled (recorded in the connector, so a restart or a second instance
 * does not schedule the same fire time twice), if that time has come. Fire times missed while no service ran are skipped.
 */
export function dueRun(
  schedule: Schedule | undefined,
  lastScheduledAt: string | null | undefined,
  previousWakeUp: DateTime,
  now: DateTime,
): DateTime | null {
  if (!schedule?.enabled || typeof schedule.interval !== 'string' || schedule.interval.trim() === '') return null;
  const recorded = lastScheduledAt ? DateTime.fromISO(lastScheduledAt, { zone: 'utc' }) : null;
  const from = recorded?.isValid ? DateTime.max(recorded, previousWakeUp) : previousWakeUp;
  const next = nextRun(schedule.interval.trim(), from);
  return next !== null && next <= now ? next : null;
}
