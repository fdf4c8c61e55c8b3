// Reads several streams at once and hands on their values as they come, asking each for more only once its last value was taken.

/**
 * Opens a stream per item, at most `concurrency` at a time, and yields their values in arrival order. Each open
 * stream has at most one value being produced: a consumer that stops pulling stops them all. A stream is asked for
 * its next value (and so may run its code after its last `yield`) only after its previous value was handed on and
 * the consumer came back for more. On early exit every open stream is closed.
 */
export async function* interleave<Item, Value>(
  items: Iterable<Item>,
  concurrency: number,
  open: (item: Item) => AsyncIterator<Value>,
): AsyncGenerator<Value> {
  const pending = new Map<number, { stream: AsyncIterator<Value>; next: Promise<[number, IteratorResult<Value>]> }>();
  const queue = items[Symbol.iterator]();
  let opened = 0;
  const pull = (key: number, stream: AsyncIterator<Value>): void => {
    const next = stream.next().then((result): [number, IteratorResult<Value>] => [key, result]);
    next.catch(() => {}); // observed through Promise.race below
    pending.set(key, { stream, next });
  };
  const fill = (): void => {
    while (pending.size < Math.max(1, concurrency)) {
      const item = queue.next();
      if (item.done) return;
      pull(opened++, open(item.value));
    }
  };
  try {
    fill();
    while (pending.size > 0) {
      const [key, result] = await Promise.race([...pending.values()].map((entry) => entry.next));
      const { stream } = pending.get(key)!;
      if (result.done) {
        pending.delete(key);
        fill();
        continue;
      }
      yield result.value;
      pull(key, stream);
    }
  } finally {
    for (const { stream } of pending.values()) void stream.return?.(undefined)?.catch(() => {});
    pending.clear();
  }
}
