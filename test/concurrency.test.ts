// Semaphore and runPool on their own: bounds on work in flight, order of admission, errors, aborts and early exits.

import t from 'tap';
import { runPool, Semaphore } from '../lib/sources/slack/concurrency.js';

/** A task that finishes when told to, recording how many tasks were running at its start. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { open, opened };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

t.test('a semaphore lets at most its permits run, admits in arrival order, and frees a permit when a task throws', async (t) => {
  const semaphore = new Semaphore(2);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const gates = [0, 1, 2, 3, 4].map(() => gate());
  const tasks = gates.map((task, index) =>
    semaphore.run(async () => {
      started.push(index);
      running++;
      most = Math.max(most, running);
      await task.opened;
      running--;
      if (index === 1) throw new Error('task 1 failed');
      return index;
    }),
  );
  await tick();
  t.same(started, [0, 1], 'two run, three wait');
  gates[1]!.open();
  await t.rejects(tasks[1]!, { message: 'task 1 failed' });
  await tick();
  t.same(started, [0, 1, 2], 'the failed task gave its permit to the next in line');
  for (const task of gates) task.open();
  t.same(await Promise.all([tasks[0], tasks[2], tasks[3], tasks[4]]), [0, 2, 3, 4]);
  t.equal(most, 2, 'never more than two at once');
  t.equal(new Semaphore(0) instanceof Semaphore, true, 'zero permits is read as one (never a deadlock)');
});

t.test('a task waiting for a permit leaves on abort with the reason and never runs', async (t) => {
  const semaphore = new Semaphore(1);
  const holder = gate();
  const first = semaphore.run(() => holder.opened);
  const controller = new AbortController();
  let ran = false;
  const waiting = semaphore.run(async () => {
    ran = true;
  }, controller.signal);
  const after = semaphore.run(async () => 'after');
  controller.abort(new Error('interrupted'));
  await t.rejects(waiting, { message: 'interrupted' });
  holder.open();
  await first;
  t.equal(await after, 'after', 'the next waiter still gets the permit');
  t.equal(ran, false);
  await t.rejects(
    semaphore.run(async () => 1, AbortSignal.abort(new Error('already'))),
    { message: 'already' },
  );
});

t.test('runPool keeps at most `concurrency` in flight and yields every result as it finishes', async (t) => {
  const gates = new Map([1, 2, 3, 4, 5].map((item) => [item, gate()]));
  let running = 0;
  let most = 0;
  const pool = runPool([1, 2, 3, 4, 5], 2, async (item) => {
    running++;
    most = Math.max(most, running);
    await gates.get(item)!.opened;
    running--;
    return item * 10;
  });
  const results: number[] = [];
  const consuming = (async () => {
    for await (const result of pool) results.push(result);
  })();
  // Finish out of order: the pool yields in completion order, not input order.
  for (const item of [2, 1, 4, 3, 5]) {
    await tick();
    gates.get(item)!.open();
  }
  await consuming;
  t.same(results, [20, 10, 40, 30, 50]);
  t.equal(most, 2);
});

t.test('runPool passes on a failure, and an early exit starts no further work', async (t) => {
  await t.rejects(
    (async () => {
      for await (const _ of runPool([1, 2, 3], 2, async (item) => {
        if (item === 2) throw new Error('channel 2 failed');
        return item;
      }));
    })(),
    { message: 'channel 2 failed' },
  );
  const started: number[] = [];
  for await (const result of runPool([1, 2, 3, 4, 5, 6], 2, async (item) => {
    started.push(item);
    return item;
  })) {
    if (result === 1) break;
  }
  await tick();
  t.ok(started.length <= 3, `stopped starting work after the consumer left (started ${started.join(', ')})`);
  t.same(await collect(runPool([], 4, async () => 1)), [], 'no items, no results');
});

async function collect<T>(source: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of source) items.push(item);
  return items;
}
