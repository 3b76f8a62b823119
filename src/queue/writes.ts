// Ordered writes per key: a later state of a job can never be overwritten by an earlier one that was
// still in flight (the worker persists 'running' without waiting, then 'done' a moment later).
import type { Store } from './store.ts';

const DELETE = Symbol('delete');
type Pending = { value: unknown; ttlMs?: number } | typeof DELETE;

export class OrderedWriter {
  private readonly latest = new Map<string, Pending>();
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly store: Store) {}

  /** Resolves once this value (or a newer one for the same key) is stored. */
  set(key: string, value: unknown, ttlMs?: number): Promise<void> {
    return this.enqueue(key, { value, ttlMs });
  }

  delete(key: string): Promise<void> {
    return this.enqueue(key, DELETE);
  }

  /** Waits for every write issued so far. */
  async flush(): Promise<void> {
    while (this.chains.size > 0) await Promise.allSettled([...this.chains.values()]);
  }

  get inFlight(): number {
    return this.chains.size;
  }

  private enqueue(key: string, pending: Pending): Promise<void> {
    this.latest.set(key, pending);
    const previous = this.chains.get(key) ?? Promise.resolve();
    const next = previous
      .catch(() => {})
      .then(async () => {
        // An earlier link may already have written our value (it always writes the newest).
        if (!this.latest.has(key)) return;
        const item = this.latest.get(key)!;
        this.latest.delete(key);
        try {
          if (item === DELETE) await this.store.delete(key);
          else await this.store.set(key, item.value, item.ttlMs);
        } catch (err) {
          if (!this.latest.has(key)) this.latest.set(key, item); // let a later write retry it
          throw err;
        }
      });
    this.chains.set(key, next);
    const cleanup = (): void => {
      if (this.chains.get(key) === next) this.chains.delete(key);
    };
    next.then(cleanup, cleanup);
    return next;
  }
}
