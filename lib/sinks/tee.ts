// teeSink(first, second): one run into two sinks at once, each document read once and held back until both took it.

import { defineSink, type ComponentStats, type Sink, type SinkContext } from '../stage.js';

/** The first sink's stats (what a caller of that sink alone reads), and each sink's under its name in `sinks`. */
export interface TeeSinkStats extends ComponentStats {
  sinks: Record<string, ComponentStats>;
}

/** What the other sink's input throws when one sink failed: it must abort (never commit) its half of the run. */
export class TeeBranchFailed extends Error {
  constructor(readonly failedSink: string) {
    super(`the run failed in the ${failedSink} sink; this sink stops without committing`);
    this.name = 'TeeBranchFailed';
  }
}

/**
 * Splits one stream into `count` branches that move in lockstep: the source is asked for its next document only
 * when every branch still reading has asked for it, so the slower consumer paces the run and at most one document is
 * held. (ix's `publish`/`memoize` buffer without bound for the slower reader; `share` hands each value to one reader.)
 */
class Lockstep<T> {
  private readonly iterator: AsyncIterator<T>;
  /** Results requested from the source so far; the newest is `latest`. */
  private fetched = 0;
  private latest: Promise<IteratorResult<T>> | undefined;
  /** How many results each branch has asked for. */
  private readonly asked: number[];
  private readonly reading: boolean[];
  private waiting: Array<() => void> = [];
  private failure: Error | undefined;
  private closed = false;

  constructor(source: AsyncIterable<T>, count: number) {
    this.iterator = source[Symbol.asyncIterator]();
    this.asked = new Array<number>(count).fill(0);
    this.reading = new Array<boolean>(count).fill(true);
  }

  branch(index: number): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => this.next(index),
        return: async () => {
          this.leave(index);
          return { done: true, value: undefined };
        },
      }),
    };
  }

  /** Every branch's input now throws `error` (a sink failed): the others abort instead of committing. */
  fail(error: Error): void {
    this.failure ??= error;
    this.wake();
    this.close();
  }

  private async next(index: number): Promise<IteratorResult<T>> {
    if (this.failure) throw this.failure;
    if (!this.reading[index]) return { done: true, value: undefined };
    const wanted = this.asked[index]!++;
    while (wanted === this.fetched && !this.everyoneAsked(wanted)) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      if (this.failure) throw this.failure;
    }
    if (wanted === this.fetched) {
      this.fetched++;
      this.latest = this.iterator.next();
      this.wake();
    }
    return this.latest!;
  }

  private everyoneAsked(wanted: number): boolean {
    return this.asked.every((asked, branch) => !this.reading[branch] || asked > wanted);
  }

  /** A branch stopped reading (its sink left the loop, or resolved without reading everything). */
  leave(index: number): void {
    if (!this.reading[index]) return;
    this.reading[index] = false;
    this.wake();
    if (!this.reading.includes(true)) this.close();
  }

  private wake(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const resume of waiting) resume();
  }

  /** Ends the source early (both sinks left or one failed): its finally blocks run, e.g. the Slack reads stop. */
  private close(): void {
    if (this.closed) return;
    this.closed = true;
    void this.iterator.return?.()?.catch(() => {});
  }
}

const nameOf = (sink: Sink<never>, fallback: string): string => sink.sinkName ?? fallback;

/**
 * Writes the same documents to two sinks in one run (e.g. an Elasticsearch index and an NDJSON file). Each document
 * is read from the stages once; the next is read when both sinks took this one, so memory stays that of one sink.
 * When one sink fails, the other's input throws TeeBranchFailed (it aborts: no half-written file is committed)
 * and the tee rejects with the first failure. Resolves once both sinks have resolved.
 */
export function teeSink<T>(first: Sink<T>, second: Sink<T>): Sink<T> {
  const names = [nameOf(first, 'first'), nameOf(second, 'second')];
  if (names[0] === names[1]) names[1] = `${names[1]} (second)`;
  return defineSink(`tee(${names.join(', ')})`, async (documents: AsyncIterable<T>, context: SinkContext): Promise<TeeSinkStats> => {
    const lockstep = new Lockstep(documents, 2);
    let rootCause: unknown;
    const run = (target: Sink<T>, index: number) =>
      target(lockstep.branch(index), context).then(
        (stats) => {
          lockstep.leave(index);
          return stats;
        },
        (error: unknown) => {
          if (!(error instanceof TeeBranchFailed)) {
            rootCause ??= error;
            lockstep.fail(new TeeBranchFailed(names[index]!));
          }
          throw error;
        },
      );
    const [firstResult, secondResult] = await Promise.allSettled([run(first, 0), run(second, 1)]);
    if (firstResult.status === 'rejected' || secondResult.status === 'rejected') {
      throw rootCause ?? (firstResult.status === 'rejected' ? firstResult.reason : (secondResult as PromiseRejectedResult).reason);
    }
    return { ...firstResult.value, sinks: { [names[0]!]: firstResult.value, [names[1]!]: secondResult.value } };
  });
}
