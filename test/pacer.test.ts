// The method pacer on its own: arrival order, spacing by actual release times, Retry-After pauses, aborts that leave nothing behind.

import t from 'tap';
import { MethodPacer, Pacers, parseTierRates } from '../lib/sources/slack/pacer.js';

const timers = () =>
  (process as unknown as { getActiveResourcesInfo(): string[] }).getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

t.test('waiting requests are released in arrival order, never closer together than the interval', async (t) => {
  const intervalMs = 40;
  const pacer = new MethodPacer(intervalMs);
  const order: number[] = [];
  const started = performance.now();
  const times: number[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4].map((index) =>
      pacer.acquire().then(() => {
        order.push(index);
        times[index] = performance.now();
      }),
    ),
  );
  t.same(order, [0, 1, 2, 3, 4]);
  // The rate holds in every window: k + 1 releases span at least k intervals, less the pacer's 5 ms make-up for a
  // late timer. The first release happens at once (its callback may run late), so spans are measured from the start.
  const spans = [started, ...times.slice(1)];
  for (let first = 0; first < spans.length; first++) {
    for (let last = first + 1; last < spans.length; last++) {
      const span = spans[last]! - spans[first]!;
      if (span < (last - first) * intervalMs - 5 - 2) t.fail(`releases ${first}..${last} span only ${span.toFixed(1)} ms`);
    }
  }
  t.pass('every span of releases holds the rate');
});

t.test('a pause (Retry-After) holds every later release until it has passed; slowTo lowers the rate for good', async (t) => {
  const pacer = new MethodPacer(0);
  await pacer.acquire();
  const pausedAt = performance.now();
  pacer.pauseFor(60);
  await pacer.acquire();
  t.ok(performance.now() - pausedAt >= 59, 'released only after the pause');
  pacer.slowTo(40);
  const before = performance.now();
  await pacer.acquire();
  await pacer.acquire();
  t.ok(performance.now() - before >= 40 - 5 - 1, 'two releases after slowTo(40) are one interval apart');
  pacer.slowTo(1);
  const again = performance.now();
  await pacer.acquire();
  await pacer.acquire();
  t.ok(performance.now() - again >= 40 - 5 - 1, 'slowTo never speeds a pacer up');
});

t.test('an abort while waiting rejects with its reason, keeps the others in order, and leaves no timer behind', async (t) => {
  const before = timers();
  const pacer = new MethodPacer(0);
  pacer.pauseFor(86_400_000); // Retry-After: 86400
  const controller = new AbortController();
  const reason = new Error('interrupted');
  const first = pacer.acquire(controller.signal);
  const second = pacer.acquire(controller.signal);
  t.equal(timers(), before + 1, 'one timer waits for the pause to end');
  controller.abort(reason);
  await t.rejects(first, reason);
  await t.rejects(second, reason);
  t.equal(timers(), before, 'no timer is kept for nobody: the process can exit');
  await t.rejects(pacer.acquire(AbortSignal.abort(reason)), reason, 'an aborted signal is refused at once');

  const shared = new MethodPacer(5);
  const leaving = new AbortController();
  const released: string[] = [];
  const a = shared.acquire().then(() => released.push('a'));
  const b = shared.acquire(leaving.signal).then(
    () => released.push('b'),
    () => released.push('b aborted'),
  );
  const c = shared.acquire().then(() => released.push('c'));
  leaving.abort();
  await Promise.all([a, b, c]);
  t.same(released, ['a', 'b aborted', 'c'], 'the aborted waiter leaves its place and is never released; the others keep theirs');
});

t.test('Pacers keep one pacer per method: a pause of one method never delays another', async (t) => {
  const pacers = new Pacers({ tier1: 1, tier2: 60_000, tier3: 60_000, tier4: 60_000 }, 0);
  t.equal(pacers.for('conversations.history'), pacers.for('conversations.history'), 'the same pacer for the same method');
  pacers.for('conversations.history').pauseFor(86_400_000);
  const controller = new AbortController();
  const held = pacers.for('conversations.history').acquire(controller.signal);
  await pacers.for('users.list').acquire();
  t.pass('users.list released while history is paused for a day');
  controller.abort(new Error('done'));
  await t.rejects(held);
});

t.test('--tier-rates parsing: three positive numbers; Tier 1 scales with Tier 3', async (t) => {
  t.same(parseTierRates('20,50,100'), { tier1: 1, tier2: 20, tier3: 50, tier4: 100 });
  t.same(parseTierRates('1200, 3000, 6000'), { tier1: 60, tier2: 1200, tier3: 3000, tier4: 6000 });
  for (const bad of ['20,50', '20,x,100', '0,50,100', '20,50,100,1', '']) t.throws(() => parseTierRates(bad), RangeError, bad);
});

/** Most calls that can share one window: a call can reach Slack any time from its release until its answer. */
function mostInOneWindow(calls: Array<{ at: number; latestArrival: number }>, windowMs: number): number {
  // Call j is inside the window (t − windowMs, t] for some arrival iff release ≤ t < latestArrival + windowMs.
  const edges = calls.flatMap((call) => [
    { time: call.at, change: 1 },
    { time: call.latestArrival + windowMs, change: -1 },
  ]);
  edges.sort((left, right) => left.time - right.time || left.change - right.change);
  let inside = 0;
  let most = 0;
  for (const edge of edges) most = Math.max(most, (inside += edge.change));
  return most;
}

t.test('with a known window, no window as Slack counts can hold more than the budget, however late calls arrive', async (t) => {
  const windowMs = 100;
  const intervalMs = 10;
  const budget = windowMs / intervalMs;
  const pacer = new MethodPacer(intervalMs, windowMs);
  // Each call is told its answer at once, timed as if it took 2–4 ms; every seventh took 40 ms (a stalled event loop,
  // a slow hop): a call can have reached Slack any time up to its answer, the stuck ones long after their release.
  const answerMs = Array.from({ length: 45 }, (_, index) => (index % 7 === 3 ? 40 : 2 + (index % 3)));
  const released = await Promise.all(
    answerMs.map((tookMs) =>
      pacer.acquire().then((release) => {
        pacer.answered(release, release.at + tookMs);
        return release;
      }),
    ),
  );
  const calls = released.map((call) => ({ at: call.at, latestArrival: call.answeredAt }));
  const most = mostInOneWindow(calls, windowMs);
  t.ok(most <= budget, `at most ${budget} calls can share a window (${most})`);
  t.ok(most > budget / 2, `the budget is used, not just never approached (${most})`);
});

t.test('with a known window, calls still in flight count against it: the next call waits for an answer', async (t) => {
  const pacer = new MethodPacer(1, 20); // a budget of 20 per 20 ms window
  const first = await Promise.all(Array.from({ length: 20 }, () => pacer.acquire()));
  let released = false;
  const next = pacer.acquire().then((release) => {
    released = true;
    return release;
  });
  // Several windows pass: unanswered calls may reach Slack at any moment, so the budget stays spent.
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.equal(released, false, 'held while all 20 calls of the window are unanswered');
  pacer.answered(first[0]!);
  const release = await next;
  t.ok(release.at >= first[0]!.answeredAt, 'released once an answer shows the oldest call has left the window');
  for (const call of first.slice(1)) pacer.answered(call);
  pacer.answered(release);
});

t.test('with a known window, a stall is made up by at most half the budget at once, then the rate holds again', async (t) => {
  const intervalMs = 10;
  const allowance = 10; // half of the budget of 20 per 200 ms window
  const pacer = new MethodPacer(intervalMs, 200);
  const releases: number[] = [];
  for (let index = 0; index < 3; index++) {
    const release = await pacer.acquire();
    pacer.answered(release);
    releases.push(release.at);
  }
  // A stall far longer than the allowance.
  const stalledUntil = performance.now() + 150;
  while (performance.now() < stalledUntil);
  const after = await Promise.all(
    Array.from({ length: 14 }, () =>
      pacer.acquire().then((release) => {
        pacer.answered(release);
        return release.at;
      }),
    ),
  );
  const all = [...releases, ...after];
  // Every span of k + 1 releases is at least k intervals less the allowance, never less.
  for (let first = 0; first < all.length; first++) {
    for (let last = first + 1; last < all.length; last++) {
      const span = all[last]! - all[first]!;
      if (span < (last - first - allowance) * intervalMs - 1) t.fail(`releases ${first}..${last} span only ${span.toFixed(1)} ms`);
    }
  }
  t.pass('no burst beyond the allowance');
});
