// The GPU workers of one process (one per model it serves) take turns: one engine call at a time.

/** One at a time: the next run starts when the one before it settled. */
export class Exclusive {
  private tail: Promise<unknown> = Promise.resolve();
  run<T>(f: () => Promise<T>): Promise<T> {
    const mine = this.tail.catch(() => undefined).then(f);
    this.tail = mine.catch(() => undefined);
    return mine;
  }
}
