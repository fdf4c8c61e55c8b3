// Reads several streams at once (the channel fan-out) and hands on their values as they come: ix's flatMap with a limit.

import { AbortError } from 'ix/aborterror';
import { AsyncIterableX } from 'ix/asynciterable/asynciterablex';
import { flatMap } from 'ix/asynciterable/operators/flatmap';

/**
 * Opens a stream per item, at most `concurrency` at a time, and yields their values in arrival order. Each open
 * stream has at most one value being produced: a consumer that stops pulling stops them all. A stream is asked for
 * its next value (and so may run its code after its last `yield`) only after its previous value was handed on and
 * the consumer came back for more. On early exit, or when one stream fails, every open stream is closed at once.
 * The work is per stream and per value handed on (here a page of documents), never per document.
 */
export function interleave<Item, Value>(
  items: Iterable<Item>,
  concurrency: number,
  open: (item: Item) => AsyncIterator<Value>,
): AsyncIterable<Value> {
  return AsyncIterableX.from(items).pipe(
    flatMap((item: Item, _index: number, signal?: AbortSignal) => closedOnAbort(open(item), signal), Math.max(1, concurrency)),
  );
}

/**
 * The stream as ix's flatMap should see it: when flatMap closes its streams (early exit, or another stream failed) it
 * aborts `signal` and then waits for each to finish. A stream waiting on Slack (a call, a Retry-After) would hold that
 * up, so an abort ends the pending `next` at once and closes the stream without waiting; its calls end with the run.
 */
function closedOnAbort<Value>(stream: AsyncIterator<Value>, signal: AbortSignal | undefined): AsyncIterable<Value> {
  const close = (): void => void stream.return?.(undefined)?.catch(() => {});
  if (signal === undefined) return { [Symbol.asyncIterator]: () => stream };
  signal.addEventListener('abort', close, { once: true });
  return {
    [Symbol.asyncIterator]: () => ({
      // One abort listener per pending `next`, removed when it settles. (Racing every `next` against one long-lived
      // "aborted" promise kept a reaction per call on that promise, and with it every page ever handed on: 725 MB of
      // heap at 1M messages.) ix's own AbortError: flatMap ignores it from a stream it aborted.
      next: () =>
        new Promise<IteratorResult<Value>>((resolve, reject) => {
          if (signal.aborted) return reject(new AbortError());
          const onAbort = (): void => reject(new AbortError());
          signal.addEventListener('abort', onAbort, { once: true });
          stream.next().then(
            (result) => {
              signal.removeEventListener('abort', onAbort);
              resolve(result);
            },
            (error: unknown) => {
              signal.removeEventListener('abort', onAbort);
              reject(error);
            },
          );
        }),
      return: async () => {
        signal.removeEventListener('abort', close);
        close();
        return { done: true, value: undefined };
      },
    }),
  };
}
