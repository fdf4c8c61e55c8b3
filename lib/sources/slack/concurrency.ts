// Small concurrency tools: a semaphore and an unordered pool that yields results as they finish.

export class Semaphore {
  private available: number;
  private readonly waiting: Array<() => void> = [];
  constructor(permits: number) {
    this.available = Math.max(1, permits);
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.available > 0) this.available--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.available++;
    }
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight; yields each result when it is ready (unordered). */
export async function* runPool<Item, Result>(items: readonly Item[], concurrency: number, work: (item: Item) => Promise<Result>): AsyncGenerator<Result> {
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
