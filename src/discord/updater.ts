// The reply updater: edits ONE message in place while its job runs.
//  - At most one edit is in flight. Previews that arrive meanwhile go into a single latest-wins slot
//    (a newer preview replaces the pending one; nothing queues behind a slow edit).
//  - Edits are spaced by a cadence (default 1.5 s). A rate limit doubles the cadence (at least the
//    server's Retry-After); each successful edit halves it back toward the base.
//  - A preview pushed as `first` (the first one with an image) goes out as soon as no edit is in flight,
//    without waiting for the cadence, and a final that arrives before it was sent sends it first: a fast job
//    still shows one denoising step before its result.
//  - The final edit supersedes any other pending preview and is retried with backoff on 429/5xx/network
//    errors until it lands or `finalAttempts` run out; a fatal error (e.g. expired token) is thrown
//    so the caller can deliver another way.

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export type EditFailure =
  | { kind: 'rateLimit'; retryAfterMs: number }
  | { kind: 'retry' } // 5xx, timeout, network: worth trying again
  | { kind: 'fatal' }; // 4xx such as an expired token: retrying cannot help

export interface UpdaterOptions<P> {
  edit: (payload: P) => Promise<void>;
  classify: (error: unknown) => EditFailure;
  /** Base gap between preview edits. Default 1500 ms. */
  intervalMs?: number;
  /** Ceiling for the backed-off gap. Default 30000 ms. */
  maxIntervalMs?: number;
  /** Tries for the final edit before giving up. Default 8. */
  finalAttempts?: number;
  /** First retry delay for the final edit on 5xx/network errors (doubles each time). Default 500 ms. */
  retryBaseMs?: number;
  clock?: Clock;
  /** Told about preview edits that failed (they are dropped, not retried). */
  onPreviewError?: (error: unknown) => void;
}

export class ReplyUpdater<P> {
  private readonly opts: Required<Omit<UpdaterOptions<P>, 'onPreviewError'>> &
    Pick<UpdaterOptions<P>, 'onPreviewError'>;
  private pending: P | undefined;
  private hasPending = false;
  /** The pending preview must be shown: it skips the cadence, and a final does not drop it. */
  private pendingFirst = false;
  private timer: unknown;
  private inFlightPromise: Promise<void> | undefined;
  private lastEditAt = -Infinity;
  private blockedUntil = -Infinity;
  private closed = false;
  private currentInterval: number;
  /** Observability for tests and the bench. */
  inFlight = 0;
  maxInFlight = 0;
  edits = 0;
  dropped = 0;
  rateLimited = 0;

  constructor(options: UpdaterOptions<P>) {
    this.opts = {
      intervalMs: 1500,
      maxIntervalMs: 30_000,
      finalAttempts: 8,
      retryBaseMs: 500,
      clock: systemClock,
      ...options,
    };
    this.currentInterval = this.opts.intervalMs;
  }

  /** The gap currently used between preview edits (grows under rate limits). */
  get intervalMs(): number {
    return this.currentInterval;
  }

  /**
   * Offers a preview. It replaces any preview still waiting (keeping a waiting first one's standing: the newer
   * preview is shown in its place); it is sent when the cadence allows, or at once when `first`.
   */
  push(payload: P, first = false): void {
    if (this.closed) return;
    if (this.hasPending) this.dropped++;
    this.pending = payload;
    this.hasPending = true;
    this.pendingFirst ||= first;
    if (this.pendingFirst && this.timer !== undefined) {
      this.opts.clock.clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.schedule();
  }

  /** Delivers the final payload (superseding previews). Rejects with the last error if it cannot. */
  async finish(payload: P): Promise<void> {
    const first = this.hasPending && this.pendingFirst ? (this.pending as P) : undefined;
    this.close();
    if (this.inFlightPromise) await this.inFlightPromise;
    if (first !== undefined) await this.sendFirst(first);
    let delay = this.opts.retryBaseMs;
    for (let attempt = 1; ; attempt++) {
      const wait = this.blockedUntil - this.opts.clock.now();
      if (wait > 0) await this.sleep(wait);
      try {
        await this.send(payload);
        return;
      } catch (error) {
        const failure = this.opts.classify(error);
        if (failure.kind === 'fatal' || attempt >= this.opts.finalAttempts) throw error;
        if (failure.kind === 'rateLimit') {
          this.noteRateLimit(failure.retryAfterMs);
        } else {
          await this.sleep(delay);
          delay = Math.min(delay * 2, this.opts.maxIntervalMs);
        }
      }
    }
  }

  /** Stops previews (pending one dropped). Used by finish, and when a job is cancelled or fails. */
  close(): void {
    this.closed = true;
    if (this.hasPending) this.dropped++;
    this.pending = undefined;
    this.hasPending = false;
    this.pendingFirst = false;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves once no edit is in flight (for tests and shutdown). */
  async idle(): Promise<void> {
    while (this.inFlightPromise) await this.inFlightPromise;
  }

  private schedule(): void {
    if (this.closed || !this.hasPending || this.inFlightPromise || this.timer !== undefined) return;
    const now = this.opts.clock.now();
    const due = this.pendingFirst
      ? this.blockedUntil
      : Math.max(this.lastEditAt + this.currentInterval, this.blockedUntil);
    if (due > now) {
      this.timer = this.opts.clock.setTimeout(() => {
        this.timer = undefined;
        this.schedule();
      }, due - now);
      return;
    }
    const payload = this.pending as P;
    this.pending = undefined;
    this.hasPending = false;
    this.pendingFirst = false;
    this.inFlightPromise = this.send(payload)
      .then(
        () => {
          this.currentInterval = Math.max(this.opts.intervalMs, this.currentInterval / 2);
        },
        (error: unknown) => {
          const failure = this.opts.classify(error);
          if (failure.kind === 'rateLimit') this.noteRateLimit(failure.retryAfterMs);
          else this.opts.onPreviewError?.(error);
        },
      )
      .finally(() => {
        this.inFlightPromise = undefined;
        this.schedule();
      });
  }

  /** The first preview, once, before a final: not retried (the final matters), but a rate limit is waited out. */
  private async sendFirst(payload: P): Promise<void> {
    const wait = this.blockedUntil - this.opts.clock.now();
    if (wait > 0) await this.sleep(wait);
    try {
      await this.send(payload);
    } catch (error) {
      const failure = this.opts.classify(error);
      if (failure.kind === 'rateLimit') this.noteRateLimit(failure.retryAfterMs);
      else if (failure.kind === 'fatal') throw error;
      else this.opts.onPreviewError?.(error);
    }
  }

  private async send(payload: P): Promise<void> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.lastEditAt = this.opts.clock.now();
    try {
      await this.opts.edit(payload);
      this.edits++;
    } finally {
      this.inFlight--;
    }
  }

  private noteRateLimit(retryAfterMs: number): void {
    this.rateLimited++;
    this.currentInterval = Math.min(this.opts.maxIntervalMs, Math.max(this.currentInterval * 2, retryAfterMs));
    this.blockedUntil = this.opts.clock.now() + Math.max(retryAfterMs, 0);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.opts.clock.setTimeout(resolve, ms));
  }
}
