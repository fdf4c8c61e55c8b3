// pipeline() and stage composition: user stages, ix operators and plain for-await all work with the library's stages.

import t from 'tap';
import { from } from 'ix/asynciterable';
import { filter } from 'ix/asynciterable/operators';
import { pipeline } from '../lib/pipeline.js';
import { runSteps } from '../lib/document-step.js';
import { dedupe } from '../lib/transforms/dedupe.js';
import { enrich } from '../lib/transforms/enrich.js';
import { syncRules } from '../lib/transforms/sync-rules.js';
import type { AnyDocument } from '../lib/documents.js';
import type { Sink } from '../lib/stage.js';
import { collect, fromArray, messageDocument, staticSource } from './helpers/documents.js';

const documents = (): AnyDocument[] => [
  messageDocument({ ts: '1700000000.000001', text: 'hello <@U1>', author: 'U1' }),
  messageDocument({ ts: '1700000000.000002', text: 'bye', channel: 'random', channel_id: 'C2' }),
  messageDocument({ ts: '1700000000.000001', text: 'hello <@U1>', author: 'U1' }),
];

const arraySink =
  (into: AnyDocument[]): Sink<AnyDocument> =>
  async (input) => {
    for await (const document of input) into.push(document);
    return { written: into.length };
  };

t.test('pipeline(source, ...stages, sink) runs the stages in order and returns per-type counts and stage stats', async (t) => {
  const written: AnyDocument[] = [];
  const shout = async function* (input: AsyncIterable<AnyDocument>) {
    for await (const document of input) yield document.type === 'message' ? { ...document, text: document.text.toUpperCase() } : document;
  };
  const rules = syncRules([{ id: 'no-random', order: 1, policy: 'exclude', field: 'channel', rule: 'equals', value: 'random' }]);
  const report = { completeChannels: ['C1'], skippedChannels: [], windowOldest: null, complete: true };
  const stats = await pipeline(staticSource(documents(), report), rules, shout, dedupe(), arraySink(written));
  t.strictSame(
    written.map((document) => (document as { text: string }).text),
    ['HELLO <@U1>'],
    'excluded by the rule, upper-cased, the repeat dropped',
  );
  t.strictSame(stats.documents, { message: 1 });
  t.equal((stats.stages.syncRules as { excluded: number }).excluded, 1);
  t.equal((stats.stages.dedupe as { duplicates: number }).duplicates, 1);
  t.strictSame(stats.sink, { written: 1 });
  t.strictSame(stats.report, report, 'the source report is passed on once the source is exhausted');
  t.type(stats.elapsedMs, 'number');
});

t.test('stages compose with ix operators and in a plain for-await loop', async (t) => {
  // Library stages go into ix's .pipe(...) as they are, between ix operators.
  const piped = from(fromArray(documents())).pipe(
    enrich({}),
    filter((document: AnyDocument) => document.type === 'message' && document.channel_id === 'C1'),
    dedupe(),
  );
  const viaIx = (await collect(piped)).map((document) => document._id);
  t.strictSame(viaIx, ['C1-1700000000.000001'], 'ix pipe with library stages between ix operators');
  const plain = await collect(dedupe()(enrich({})(fromArray(documents()))));
  t.equal(plain.length, 2, 'function application without any library');
  t.ok(plain.every((document) => document.type !== 'tombstone' && typeof document.content_hash === 'string'));
});

t.test('pipeline rejects a call without a sink', async (t) => {
  // @ts-expect-error the types already refuse it; JavaScript callers get a clear error at run time
  await t.rejects(pipeline(fromArray(documents())), /the last argument must be a sink/);
});

t.test('fused steps keep the input order under concurrent next() calls, stop the input on return(), end after a failure', async (t) => {
  const numbers = async function* (count: number, failAt = -1) {
    for (let index = 0; index < count; index++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (index === failAt) throw new Error('source failed');
      yield index;
    }
  };
  /** `numbers(count)` with a flag telling whether the consumer closed it (its finally ran). */
  const watched = (count: number) => {
    const state = { closed: false };
    const values = (async function* () {
      try {
        yield* numbers(count);
      } finally {
        state.closed = true;
      }
    })();
    return { values, state };
  };
  // Odd numbers are dropped and some steps wait: a caller asking twice at once must still get 0, 2, 4… in order.
  const steps = [
    (value: number) => (value % 2 === 1 ? undefined : value),
    (value: number) => (value % 4 === 0 ? Promise.resolve(value) : value),
  ];
  let ended = 0;
  const fused = runSteps(numbers(20), steps, () => ended++);
  const results = await Promise.all(Array.from({ length: 12 }, () => fused.next()));
  t.strictSame(
    results.map((result) => (result.done ? 'done' : result.value)),
    [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 'done', 'done'],
  );
  t.equal(ended, 1, 'onEnd once, when the input is exhausted');

  const input = watched(100);
  const early = runSteps(input.values, []);
  t.strictSame(await early.next(), { done: false, value: 0 });
  t.strictSame(await early.return!(), { done: true, value: undefined });
  t.ok(input.state.closed, 'return() stops the input');
  t.strictSame(await early.next(), { done: true, value: undefined }, 'and nothing more is read');

  // A next() asked from the callback of the previous answer (not through for-await) still waits its turn.
  const chained = runSteps(numbers(10), [(value: number) => (value % 2 === 1 ? undefined : value)]);
  const order: number[] = [];
  await new Promise<void>((resolve) => {
    const first = chained.next();
    const second = chained.next();
    void first.then((result) => {
      order.push(result.value as number);
      void chained.next().then((third) => {
        order.push(third.value as number);
        resolve();
      });
    });
    void second.then((result) => order.push(result.value as number));
  });
  t.strictSame(order, [0, 2, 4], 'answers in the order asked, whoever asks');
  // A next() after return() is done, even while an earlier call is still being answered.
  const closing = runSteps(numbers(10), []);
  const pending = closing.next();
  const closed = closing.return!();
  t.strictSame(await closing.next(), { done: true, value: undefined }, 'after return(), done');
  t.strictSame(await pending, { done: false, value: 0 }, 'the call made before return() is answered');
  await closed;

  // A step that fails closes the input (as for-await does when its body throws) and the step's error is reported.
  const closable = watched(10);
  const throwing = runSteps(closable.values, [
    (value: number) => {
      if (value === 2) throw new Error('step failed');
      return value;
    },
  ]);
  await t.rejects(async () => {
    for await (const value of throwing) void value;
  }, /step failed/);
  t.ok(closable.state.closed, 'the input was closed');

  const failing = runSteps(numbers(10, 3), []);
  const seen: unknown[] = [];
  await t.rejects(async () => {
    for await (const value of failing) seen.push(value);
  }, /source failed/);
  t.strictSame(seen, [0, 1, 2]);
  t.strictSame(await failing.next(), { done: true, value: undefined }, 'a failed run is over');
});
