// The retry module on its own: backoff growth, cap and jitter bounds, attempt counting, server-told waits, aborts.

import t from 'tap';
import { backoffDelay, retry, sleep, type RetryPolicy } from '../lib/retry.js';

const policy: RetryPolicy = { attempts: 4, baseDelayMs: 100, maxDelayMs: 300, jitter: 0.5 };
const instant: RetryPolicy = { attempts: 4, baseDelayMs: 0, maxDelayMs: 0 };

t.test('backoff doubles from the base delay, stops at the cap, and jitter only shortens it within its share', async (t) => {
  const full = { ...policy, jitter: 0 };
  t.same(
    [1, 2, 3, 4].map((retryNumber) => backoffDelay(full, retryNumber)),
    [100, 200, 300, 300],
    'no jitter: 100, 200, then capped at 300',
  );
  t.equal(
    backoffDelay(policy, 2, () => 0),
    100,
    'jitter 0.5 at its lowest: half of 200',
  );
  t.equal(
    backoffDelay(policy, 2, () => 0.999999),
    200 * (0.5 + 0.5 * 0.999999),
    'at its highest: just under the full wait',
  );
  t.equal(
    backoffDelay({ ...policy, jitter: 1 }, 1, () => 0),
    0,
    'full jitter may wait nothing',
  );
  for (let sample = 0; sample < 200; sample++) {
    const delay = backoffDelay(policy, 3);
    if (delay < 150 || delay > 300) t.fail(`delay ${delay} outside [150, 300]`);
  }
});

t.test('retries a failing operation until it succeeds, numbering the attempts', async (t) => {
  const seen: number[] = [];
  const result = await retry(
    async (attempt) => {
      seen.push(attempt);
      if (attempt < 3) throw new Error(`flaky ${attempt}`);
      return 'done';
    },
    { policy: instant },
  );
  t.equal(result, 'done');
  t.same(seen, [1, 2, 3]);
});

t.test('gives up after `attempts` tries with the last error, or what `exhausted` makes of it', async (t) => {
  let tries = 0;
  await t.rejects(
    retry(
      async () => {
        tries++;
        throw new Error(`failure ${tries}`);
      },
      { policy: instant },
    ),
    { message: 'failure 4' },
  );
  t.equal(tries, 4, 'attempts counts the first try');
  await t.rejects(
    retry(() => Promise.reject(new Error('down')), {
      policy: { ...instant, attempts: 2 },
      exhausted: (error, failures) => new Error(`${(error as Error).message} after ${failures}`),
    }),
    { message: 'down after 2' },
  );
  let once = 0;
  await t.rejects(
    retry(
      async () => {
        once++;
        throw new Error('x');
      },
      { policy: { ...instant, attempts: 0 } },
    ),
    'attempts below 1 still tries once',
  );
  t.equal(once, 1);
});

t.test("a 'fail' decision throws at once; a thrown decision replaces the error", async (t) => {
  let tries = 0;
  await t.rejects(
    retry(
      async () => {
        tries++;
        throw new Error('bad request');
      },
      { policy: instant, decide: () => 'fail' },
    ),
    { message: 'bad request' },
  );
  t.equal(tries, 1);
  await t.rejects(
    retry(() => Promise.reject(new Error('raw')), {
      policy: instant,
      decide: () => {
        throw new TypeError('typed');
      },
    }),
    TypeError,
  );
});

t.test('server-told waits do not use up attempts, and the wait given is the wait used', async (t) => {
  let tries = 0;
  const events: Array<{ failures: number; delayMs: number; counted: boolean }> = [];
  const result = await retry(
    async () => {
      tries++;
      if (tries <= 6) throw Object.assign(new Error('throttled'), { throttled: true });
      if (tries === 7) throw new Error('transient');
      return tries;
    },
    {
      policy: { attempts: 2, baseDelayMs: 1, maxDelayMs: 1 },
      decide: (error) => ((error as { throttled?: boolean }).throttled ? { waitMs: 0 } : 'backoff'),
      onRetry: ({ failures, delayMs, counted }) => events.push({ failures, delayMs, counted }),
    },
  );
  t.equal(result, 8, 'six throttled answers and one failure fit in two attempts');
  t.same(
    events.map((event) => event.counted),
    [false, false, false, false, false, false, true],
  );
  t.equal(events.at(-1)?.failures, 1);
});

t.test('an abort during a backoff wait ends the retry at once with the abort reason', async (t) => {
  const controller = new AbortController();
  const reason = new Error('interrupted');
  let tries = 0;
  const running = retry(
    async () => {
      tries++;
      throw new Error('down');
    },
    // A wait of a day: only the abort can end it.
    { policy: { attempts: 5, baseDelayMs: 86_400_000, maxDelayMs: 86_400_000, jitter: 0 }, signal: controller.signal },
  );
  setImmediate(() => controller.abort(reason));
  await t.rejects(running, reason);
  t.equal(tries, 1, 'no try after the abort');
});

t.test('an operation failing after the abort throws the abort reason, not its own error or a retry', async (t) => {
  const controller = new AbortController();
  const reason = new Error('stop');
  await t.rejects(
    retry(
      async () => {
        controller.abort(reason);
        throw new Error('request aborted');
      },
      { policy: instant, signal: controller.signal },
    ),
    reason,
  );
  const aborted = AbortSignal.abort(reason);
  let tries = 0;
  await t.rejects(
    retry(async () => tries++, { policy: instant, signal: aborted }),
    reason,
    'an already aborted signal tries nothing',
  );
  t.equal(tries, 0);
});

t.test('sleep resolves after its time, rejects on abort with the reason, and holds no timer after an abort', async (t) => {
  await sleep(1);
  await t.rejects(sleep(10, AbortSignal.abort(new Error('early'))), { message: 'early' });
  const timers = () =>
    (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;
  const before = timers();
  const controller = new AbortController();
  const waiting = sleep(86_400_000, controller.signal);
  t.equal(timers(), before + 1, 'the sleep holds one timer');
  controller.abort(new Error('late'));
  await t.rejects(waiting, { message: 'late' });
  t.equal(timers(), before, 'and none once aborted: a long sleep must not keep the process alive');
  const beyondRange = new AbortController();
  const long = sleep(2 ** 40, beyondRange.signal).then(
    () => 'long',
    () => 'aborted',
  );
  const winner = await Promise.race([long, sleep(30).then(() => 'short')]);
  beyondRange.abort();
  t.equal(winner, 'short', 'a delay beyond the timer range is clamped, it does not fire at once');
  t.equal(await long, 'aborted');
});
