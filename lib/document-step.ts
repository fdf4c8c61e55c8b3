// Stages that work one document at a time: a synchronous step, its async-iterable stage, and the loop that runs several in one pass.

import { defineStage, type ComponentStats, type NamedStage, type Stage } from './stage.js';

/**
 * One document in; the document out (the same object, a changed one or a replacement), or `undefined` to drop it.
 * A promise only when the step must wait for something (enrich's rare name lookups): the common path returns at once.
 */
export type DocumentStep<In, Out> = (document: In) => Out | undefined | Promise<Out | undefined>;

type AnyStep = DocumentStep<any, any>;

/** One document through the steps: the result, `undefined` when a step dropped it, a promise only when a step must wait. */
export function applySteps(document: unknown, steps: readonly AnyStep[], from = 0): unknown {
  let value = document;
  for (let index = from; index < steps.length; index++) {
    const output = steps[index]!(value);
    if (output instanceof Promise)
      return output.then((waited) => (waited === undefined ? undefined : applySteps(waited, steps, index + 1)));
    if (output === undefined) return undefined;
    value = output;
  }
  return value;
}

/**
 * Runs documents through steps in one loop: one async layer for any number of stages, instead of one async generator
 * (and one promise per document) per stage. Order and backpressure are those of the stages chained one by one.
 * Written as an iterator rather than an async generator: a generator's `yield` costs extra promise turns per document.
 */
export function runSteps(documents: AsyncIterable<unknown>, steps: readonly AnyStep[], onEnd?: () => void): AsyncIterableIterator<any> {
  let input: AsyncIterator<unknown> | undefined;
  let finished = false;
  /** return() was called: later next() calls are done at once. */
  let closing = false;
  /**
   * Calls made and not yet finished: while any is, a new next() waits for the last one, so results keep the input's
   * order (as a generator's queue does) and never two pulls read the input at once.
   */
  let active = 0;
  let last: Promise<IteratorResult<any>> | undefined;
  const done: IteratorResult<any> = { done: true, value: undefined };

  /** Closes the input after a step failed, as for-await does when its body throws; the step's error is the one reported. */
  async function closeInput(): Promise<void> {
    try {
      await input?.return?.();
    } catch {
      // The step's failure is what the caller must see.
    }
  }

  async function pull(): Promise<IteratorResult<any>> {
    try {
      if (finished) return done;
      input ??= documents[Symbol.asyncIterator]();
      for (;;) {
        let next: IteratorResult<unknown>;
        try {
          next = await input.next();
        } catch (error) {
          // A failed input is over: nothing to close.
          finished = true;
          throw error;
        }
        if (next.done) {
          if (!finished) {
            finished = true;
            onEnd?.();
          }
          return done;
        }
        let value: unknown;
        try {
          value = applySteps(next.value, steps);
          if (value instanceof Promise) value = await value;
        } catch (error) {
          finished = true;
          await closeInput();
          throw error;
        }
        if (value !== undefined) return { done: false, value };
      }
    } finally {
      active--;
    }
  }

  const iterator: AsyncIterableIterator<any> = {
    [Symbol.asyncIterator]: () => iterator,
    next() {
      if (closing) return Promise.resolve(done);
      const queued = active > 0;
      active++;
      last = queued ? last!.then(pull, pull) : pull();
      return last;
    },
    async return(value?: unknown): Promise<IteratorResult<any>> {
      // Calls already made finish first (a generator queues return() behind them); any later next() is done.
      closing = true;
      if (active > 0) await last!.catch(() => {});
      const wasFinished = finished;
      finished = true;
      if (!wasFinished) await input?.return?.();
      return { done: true, value };
    },
  };
  return iterator;
}

/**
 * A stage from its step: an ordinary `AsyncIterable → AsyncIterable` function (for-await, ix's pipe, any composition),
 * which also carries the step so that pipeline() can fuse it with its neighbours.
 */
export function stepStage<In, Out>(name: string, step: DocumentStep<In, Out>, stats?: () => ComponentStats): NamedStage<In, Out> {
  return Object.assign(
    defineStage(name, (documents: AsyncIterable<In>) => runSteps(documents, [step]) as AsyncIterable<Out>, stats),
    { step },
  );
}

/**
 * Applies stages to a stream, fusing each run of consecutive stages that carry a step into one loop. The steps of the
 * last run are returned unapplied, for the caller to run with its own (pipeline()'s counting, the worker thread).
 */
export function fuseStages(
  source: AsyncIterable<unknown>,
  stages: ReadonlyArray<Stage<any, any>>,
): { stream: AsyncIterable<unknown>; steps: AnyStep[] } {
  let stream = source;
  let steps: AnyStep[] = [];
  for (const stage of stages) {
    if (stage.step) {
      steps.push(stage.step);
      continue;
    }
    if (steps.length > 0) stream = runSteps(stream, steps);
    steps = [];
    stream = stage(stream);
  }
  return { stream, steps };
}
