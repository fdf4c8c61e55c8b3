// The channel fan-out on its own: streams open at most `concurrency` at a time, values in arrival order, each stream
// asked for more only after its last value was taken, and a prompt close of every stream on early exit or failure.

import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import t from 'tap';
import { interleave } from '../lib/sources/slack/interleave.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));
const never = new Promise<never>(() => {});

/** Streams whose pages are released by hand: `release(channel)` lets that channel produce its next page. */
function channels(pagesPerChannel: number) {
  const log = { open: 0, mostOpen: 0, asked: new Map<string, number>(), closed: new Set<string>() };
  const waiting = new Map<string, () => void>();
  const release = (channel: string) => {
    const resume = waiting.get(channel);
    waiting.delete(channel);
    resume?.();
  };
  async function* open(channel: string): AsyncGenerator<string> {
    log.open++;
    log.mostOpen = Math.max(log.mostOpen, log.open);
    try {
      for (let page = 1; page <= pagesPerChannel; page++) {
        log.asked.set(channel, page);
        await new Promise<void>((resolve) => waiting.set(channel, resolve));
        yield `${channel}/${page}`;
      }
    } finally {
      log.open--;
      log.closed.add(channel);
    }
  }
  return { log, release, waiting, open };
}

t.test('at most `concurrency` streams are open; values come in arrival order, every one of them', async (t) => {
  const { log, release, waiting, open } = channels(2);
  const values: string[] = [];
  const consuming = (async () => {
    for await (const value of interleave(['A', 'B', 'C', 'D'], 2, open)) values.push(value);
  })();
  for (let step = 0; step < 40 && values.length < 8; step++) {
    await tick();
    // Release the channel that has waited the least: arrival order differs from the input order.
    const ready = [...waiting.keys()];
    if (ready.length > 0) release(ready.at(-1)!);
  }
  await consuming;
  t.equal(values.length, 8, 'two pages of each of four channels');
  t.strictSame([...values].sort(), ['A/1', 'A/2', 'B/1', 'B/2', 'C/1', 'C/2', 'D/1', 'D/2']);
  t.equal(log.mostOpen, 2, 'never more than two channels open');
  t.notSame(values.slice(0, 2), ['A/1', 'B/1'], 'handed on as they arrived, not in input order');
});

t.test('a stream is asked for its next value only once its last one was taken and the consumer came back', async (t) => {
  const { log, release, open } = channels(5);
  const iterator = interleave(['A'], 1, open)[Symbol.asyncIterator]();
  const first = iterator.next();
  await tick();
  release('A');
  t.strictSame(await first, { done: false, value: 'A/1' });
  for (let wait = 0; wait < 5; wait++) await tick();
  t.equal(log.asked.get('A'), 1, 'page 2 is not produced while the consumer has not come back');
  const second = iterator.next();
  await tick();
  t.equal(log.asked.get('A'), 2, 'the consumer came back: the stream goes on');
  release('A');
  t.strictSame(await second, { done: false, value: 'A/2' });
  await iterator.return?.(undefined);
});

t.test('an early exit closes every open stream at once, even one waiting on Slack that never answers', async (t) => {
  const closed: string[] = [];
  const open = (channel: string): AsyncIterator<string> => {
    async function* stream(): AsyncGenerator<string> {
      try {
        if (channel === 'stuck') await never;
        for (;;) yield channel;
      } finally {
        closed.push(channel);
      }
    }
    const iterator = stream();
    // The generator is suspended inside `await never`: its finally cannot run, so record the close request itself.
    const original = iterator.return.bind(iterator);
    iterator.return = (value) => {
      if (channel === 'stuck') closed.push('stuck (asked to close)');
      return original(value);
    };
    return iterator;
  };
  for await (const value of interleave(['stuck', 'busy'], 2, open)) if (value === 'busy') break;
  t.ok(closed.includes('busy'), 'the busy stream was closed');
  t.ok(closed.includes('stuck (asked to close)'), 'the stuck stream was asked to close, and the exit did not wait for it');
});

t.test('a failing stream fails the whole read promptly and closes the others', async (t) => {
  const closed: string[] = [];
  const open = (channel: string): AsyncIterator<string> =>
    (async function* () {
      try {
        if (channel === 'stuck') await never;
        await tick();
        if (channel === 'broken') throw new Error(`channel ${channel} failed`);
        yield channel;
      } finally {
        closed.push(channel);
      }
    })();
  await t.rejects(
    (async () => {
      for await (const _ of interleave(['stuck', 'broken', 'later'], 2, open));
    })(),
    { message: 'channel broken failed' },
  );
  t.notOk(closed.includes('later'), 'no stream is opened after the failure');
  const none: string[] = [];
  for await (const value of interleave([], 4, (item: string) => [item][Symbol.iterator]() as unknown as AsyncIterator<string>))
    none.push(value);
  t.strictSame(none, [], 'no items, no values');
});

t.test('a value handed on is not kept by the fan-out: memory holds the pages in flight, not every page of the run', async (t) => {
  setFlagsFromString('--expose-gc');
  const collect = runInNewContext('gc') as () => void;
  const handedOn: WeakRef<object>[] = [];
  async function* pages(): AsyncGenerator<{ documents: string[] }> {
    for (let page = 0; page < 50; page++) {
      await tick();
      yield { documents: Array.from({ length: 100 }, (_, index) => `message ${page}/${index}`) };
    }
  }
  const stream = interleave(['C1', 'C2'], 2, () => pages()[Symbol.asyncIterator]())[Symbol.asyncIterator]();
  for (let taken = 0; taken < 60; taken++) {
    const { value } = await stream.next();
    handedOn.push(new WeakRef(value!));
  }
  collect();
  await tick();
  collect();
  const kept = handedOn.slice(0, 50).filter((reference) => reference.deref() !== undefined).length;
  t.equal(kept, 0, 'none of the first 50 pages is still reachable while the run goes on');
  await stream.return?.(undefined);
});
