// Small concurrency tools: a semaphore and an unordered pool that yields results as they finish.

export class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];
  constructor(permits: number) {
    this.available = Math.max(1, permits);
  }

  /** Runs `task` once a permit is free (first come, first served); an abort while waiting rejects with its reason. */
  async run<T>(task: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) throw signal.reason;
    if (this.available > 0) this.available--;
    else await this.queue(signal);
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.available++;
    }
  }

  private queue(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const granted = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const position = this.waiting.indexOf(granted);
        if (position !== -1) this.waiting.splice(position, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiting.push(granted);
    });
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight; yields each result when it is ready (unordered). */
export async function* runPool<Item, Result>(
  items: readonly Item[],
  concurrency: number,
  work: (item: Item) => Promise<Result>,
): AsyncGenerator<Result> {
  const running = new Map<number, Promise<[number, Result]>>();
  let next = 0;
  const start = () => {
    const index = next++;
    const task = work(items[index] as Item).then((result): [number, Result] => [index, result]);
    task.catch(() => {}); // observed through Promise.race below; this only stops an unhandled-rejection report
    running.set(index, task);
  };
  try {
    while (next < items.length && running.size < Math.max(1, concurrency)) start();
    while (running.size > 0) {
      const [index, result] = await Promise.race(running.values());
      running.delete(index);
      if (next < items.length) start();
      yield result;
    }
  } finally {
    // On early exit, let in-flight work settle quietly; its results are dropped.
    running.clear();
  }
}
