// --since/--until: parsing (dates, date-times, durations, time zones across DST), Slack bounds, and exports of exactly that window.

import t from 'tap';
import { DateTime } from 'luxon';
import { resolveWindow } from '../lib/sources/slack/window.js';
import { compareTs } from '../lib/documents.js';
import { parseNdjson, scaledTierRatesFlag, startWorkspace, testToken } from './helpers/slack.js';
import { runCliInProcess } from './helpers/cli-in-process.js';

t.test('a date means 00:00 in the time zone, a date-time with an offset is that instant, until is exclusive', async (t) => {
  const window = resolveWindow({
    since: '2026-03-01',
    until: '2026-04-01T00:00:00Z',
    timeZone: 'Europe/Berlin',
    now: Date.parse('2026-05-01T00:00:00Z'),
  });
  t.equal(window.sinceMs, Date.parse('2026-02-28T23:00:00Z'), 'Berlin midnight is 23:00 UTC the day before in winter');
  t.equal(window.oldest, String(Date.parse('2026-02-28T23:00:00Z') / 1000), 'oldest goes to Slack as whole seconds');
  t.equal(window.latest, `${Date.parse('2026-04-01T00:00:00Z') / 1000 - 1}.999999`, 'latest is one microsecond before --until, 6 decimals');
});

t.test('durations count back from now in calendar units of the zone: a day across a DST change is 23 or 25 hours', async (t) => {
  // US daylight saving time started on 2026-03-08 at 02:00 in New York.
  const now = DateTime.fromISO('2026-03-08T12:00', { zone: 'America/New_York' }).toMillis();
  const oneDay = resolveWindow({ since: 'P1D', now, timeZone: 'America/New_York' });
  t.equal((now - oneDay.sinceMs!) / 3_600_000, 23, 'P1D back across spring-forward is 23 hours');
  t.equal(resolveWindow({ since: '1d', now, timeZone: 'America/New_York' }).sinceMs, oneDay.sinceMs, '1d is the same as P1D');
  t.equal((now - resolveWindow({ since: 'P1D', now, timeZone: 'UTC' }).sinceMs!) / 3_600_000, 24, 'in UTC a day is 24 hours');
  const autumnNow = DateTime.fromISO('2026-11-01T12:00', { zone: 'America/New_York' }).toMillis();
  t.equal(
    (autumnNow - resolveWindow({ since: '1d', now: autumnNow, timeZone: 'America/New_York' }).sinceMs!) / 3_600_000,
    25,
    'fall-back day is 25 hours',
  );
  const localDate = resolveWindow({ since: '2026-03-08T03:30', now, timeZone: 'America/New_York' });
  t.equal(new Date(localDate.sinceMs!).toISOString(), '2026-03-08T07:30:00.000Z', 'a local time after the change has the summer offset');
  t.equal(resolveWindow({ since: '12h', now, timeZone: 'America/New_York' }).sinceMs, now - 12 * 3_600_000, 'hours are exact');
});

t.test('without --since/--until the window is --fetch-last-n-days, 0 meaning all history', async (t) => {
  const now = Date.parse('2026-05-01T00:00:00Z');
  t.equal(resolveWindow({ fetchLastNDays: 30, now }).sinceMs, now - 30 * 86_400_000);
  t.strictSame(resolveWindow({ fetchLastNDays: 0, now }), { oldest: null, latest: null, sinceMs: null, untilMs: null });
  t.equal(
    resolveWindow({ until: '2026-04-01T00:00:00Z', fetchLastNDays: 30, now }).oldest,
    null,
    '--until alone reads all history before it',
  );
});

t.test('bad windows are usage errors', async (t) => {
  t.throws(() => resolveWindow({ since: 'yesterday' }), { code: 'usage', message: /--since 'yesterday' is neither a date/ });
  t.throws(() => resolveWindow({ since: 'P3X' }), { code: 'usage', message: /not an ISO-8601 duration/ });
  t.throws(() => resolveWindow({ since: '2026-04-01', until: '2026-03-01' }), {
    code: 'usage',
    message: /--until .* is not after --since/,
  });
  t.throws(() => resolveWindow({ since: '1d', timeZone: 'Mars/Olympus' }), { code: 'usage', message: /unknown time zone/ });
});

t.test('export --since/--until: exactly the top-level messages of the window, with their replies; bad windows exit 2', async (t) => {
  const { slack, nowMs } = await startWorkspace(t);
  const env = { SLACK_TOKEN: testToken, SLACK_API_URL: slack.url, SLACK_ETL_NOW: String(nowMs) };
  const common = ['export', '--quiet', '--tier-rates', scaledTierRatesFlag, '--no-sync-users', '--time-zone', 'UTC'];
  const all = await runCliInProcess([...common, '--fetch-last-n-days', '0'], { env });
  t.equal(all.code, 0, all.stderr);
  const since = new Date(nowMs - 60 * 86_400_000).toISOString();
  const until = new Date(nowMs - 20 * 86_400_000).toISOString();
  const windowed = await runCliInProcess([...common, '--since', since, '--until', until], { env });
  t.equal(windowed.code, 0, windowed.stderr);
  const [sinceTs, untilTs] = [since, until].map((iso) => String(Date.parse(iso) / 1000));
  const inWindow = (ts: string) => compareTs(ts, sinceTs!) >= 0 && compareTs(ts, untilTs!) < 0;
  const topLevel = (documents: Array<Record<string, any>>) =>
    documents.filter((document) => document.type === 'message' && (!document.thread_ts || document.thread_ts === document.ts));
  const expected = topLevel(parseNdjson(all.stdout))
    .filter((message) => inWindow(message.ts))
    .map((message) => message._id)
    .sort();
  const got = parseNdjson(windowed.stdout);
  t.ok(expected.length > 10, `the window holds ${expected.length} top-level messages`);
  t.strictSame(
    topLevel(got)
      .map((message) => message._id)
      .sort(),
    expected,
    'top-level messages are exactly those in [since, until)',
  );
  const replies = got.filter((document) => document.type === 'message' && document.thread_ts && document.thread_ts !== document.ts);
  // A broadcast reply is also a channel message: it is in the window by its own ts, whatever its thread's age.
  const [broadcasts, threadReplies] = [
    replies.filter((reply) => reply.subtype === 'thread_broadcast'),
    replies.filter((reply) => reply.subtype !== 'thread_broadcast'),
  ];
  t.ok(
    threadReplies.every((reply) => inWindow(reply.thread_ts)),
    'every reply belongs to a thread started in the window',
  );
  t.ok(
    broadcasts.every((reply) => inWindow(reply.ts)),
    'every broadcast was posted in the window',
  );

  const reversed = await runCliInProcess([...common, '--since', until, '--until', since], { env });
  t.equal(reversed.code, 2);
  t.match(reversed.stderr, /--until .* is not after --since/);
  t.equal(reversed.stdout, '');
  const both = await runCliInProcess([...common, '--since', '30d', '--fetch-last-n-days', '30'], { env });
  t.equal(both.code, 2);
  t.match(both.stderr, /--fetch-last-n-days cannot be combined with --since/);
});
