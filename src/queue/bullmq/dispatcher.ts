// The producer half of the BullMQ backend. It takes jobs from the JobQueue in fair order (the queue keeps
// its per-user lines, limits and records; BullMQ OSS has no round-robin groups) and hands BullMQ only
// `prefetch` more than the workers are running, so the fair order decides which job a free worker gets.
// Worker events come back through QueueEvents and settle the JobQueue's lease, so everything above the
// queue (delivery, metrics, /queue) sees the same events as with the in-process Worker.
import { join, resolve } from 'node:path';
import type { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { JobQueue, JobLease } from '../queue.ts';
import type { JobRecord, JobResult } from '../types.ts';
import { DAY_MS } from '../limits.ts';
import { addToBull, cancelInBull, collectResults, connect, countLiveWorkers, DispatchError } from './bot-redis.ts';
import { InFlightJobs } from './in-flight.ts';
import { decodeFailure, decodePreview, DEFAULT_PREFIX, DEFAULT_QUEUE_NAME, workersKey } from './protocol.ts';
import type { WireProgress, WireResult } from './protocol.ts';

export { DispatchError };

export interface DispatcherOptions {
  /** redis:// or rediss:// URL shared with the workers. */
  redisUrl: string;
  /** Result PNGs are copied from Redis to `${resultsDir}/<jobId>/` (the bot's DATA_DIR/results). */
  resultsDir: string;
  /** BullMQ queue name. Default 'emojiforge-generate'. */
  queueName?: string;
  /** BullMQ key prefix. Default 'emojiforge-bull'. */
  prefix?: string;
  /**
   * Jobs handed to BullMQ beyond one for each idle live worker. 0 keeps the fair order exact (a job is
   * handed out only when a worker is free to start it); 1 hides the hand-over round trip from the
   * workers at the cost of fixing one job's place early. Default 1.
   */
  prefetch?: number;
  /** How often the live-worker count is read from Redis (workers announce themselves). Default 1000 ms. */
  workerPollMs?: number;
  /** How long BullMQ keeps finished jobs (a restarted bot collects results finished while it was down). Default 1 day. */
  keepFinishedMs?: number;
  /** Warnings (a store or Redis hiccup); default process.emitWarning. */
  warn?: (message: string) => void;
  /** The jobs for this queue's workers (one dispatcher per model). Default: all. */
  accepts?: (job: JobRecord) => boolean;
}

export class Dispatcher {
  private readonly resultsDir: string;
  private readonly queueName: string;
  private readonly prefix: string;
  private readonly prefetch: number;
  private readonly keepFinishedMs: number;
  private readonly warn: (message: string) => void;
  private readonly accepts?: (job: JobRecord) => boolean;
  private readonly inFlight: InFlightJobs;
  /** GPU workers that announced themselves within their lock duration. */
  private liveWorkers = 0;
  private pollTimer?: NodeJS.Timeout;
  private readonly workerPollMs: number;
  private running = false;
  private readonly unsubscribe: Array<() => void> = [];

  private constructor(
    private readonly queue: JobQueue,
    private readonly bull: Queue,
    private readonly events: QueueEvents,
    private readonly redis: Redis,
    options: DispatcherOptions,
  ) {
    this.resultsDir = resolve(options.resultsDir);
    this.queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(this.prefetch) || this.prefetch < 0)
      throw new RangeError(`expected prefetch to be a whole number of at least 0, got ${options.prefetch}`);
    this.workerPollMs = options.workerPollMs ?? 1000;
    this.keepFinishedMs = options.keepFinishedMs ?? DAY_MS;
    this.warn = options.warn ?? ((m) => process.emitWarning(m));
    this.accepts = options.accepts;
    this.inFlight = new InFlightJobs(this.warn);
  }

  /** Connects to Redis (rejects when it cannot) and subscribes to worker events. Call start() next. */
  static async open(queue: JobQueue, options: DispatcherOptions): Promise<Dispatcher> {
    const queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
    const prefix = options.prefix ?? DEFAULT_PREFIX;
    const { redis, bull, events } = await connect(options.redisUrl, queueName, prefix);
    const dispatcher = new Dispatcher(queue, bull, events, redis, options);
    dispatcher.listen();
    return dispatcher;
  }

  /** Jobs handed to BullMQ and not yet settled. */
  get inFlightCount(): number {
    return this.inFlight.size;
  }

  /** True while any dispatched job is unsettled (the Worker-compatible shape app wiring uses). */
  get busy(): boolean {
    return this.inFlight.size > 0;
  }

  /** Starts handing jobs to BullMQ (recovered ones first, as the queue orders them). */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.pump();
    const poll = (): void => {
      void this.pollWorkers().finally(() => {
        if (this.running) this.pollTimer = setTimeout(poll, this.workerPollMs).unref();
      });
    };
    poll();
  }

  /** Live GPU workers as last read from Redis. */
  get workers(): number {
    return this.liveWorkers;
  }

  /**
   * Stops handing out jobs. `requeue: false` waits until every dispatched job has settled (workers keep
   * running them). `requeue: true` stops waiting: their records go back to 'queued' and BullMQ keeps
   * them, so the next start re-adds them under the same id and collects the result (never a second run).
   */
  async stop(options: { requeue?: boolean } = {}): Promise<void> {
    this.running = false;
    clearTimeout(this.pollTimer);
    if (options.requeue) this.inFlight.requeueAll();
    else await this.inFlight.drained();
    await this.inFlight.settled();
  }

  /** Closes the Redis connections. Stop first. */
  async close(): Promise<void> {
    this.running = false;
    clearTimeout(this.pollTimer);
    for (const off of this.unsubscribe.splice(0)) off();
    await Promise.allSettled([this.events.close(), this.bull.close(), this.redis.quit()]);
  }

  // ---- Internals ----------------------------------------------------------------------------

  private listen(): void {
    const on = <A extends unknown[]>(
      emitter: { on(e: string, f: (...a: A) => void): unknown; off(e: string, f: (...a: A) => void): unknown },
      event: string,
      f: (...a: A) => void,
    ): void => {
      emitter.on(event, f);
      this.unsubscribe.push(() => emitter.off(event, f));
    };
    // A new job or one put back by a worker's graceful stop: fill the free slots.
    on(this.queue, 'queued', () => this.pump());
    on(this.queue, 'requeued', () => this.pump());
    on(this.events, 'active', ({ jobId }: { jobId: string }) => this.onActive(jobId));
    on(this.events, 'waiting', ({ jobId, prev }: { jobId: string; prev?: string }) => {
      // A stalled job (its worker died) or one a stopping worker gave back: it waits for a worker again.
      if (prev === 'active') this.onWaitingAgain(jobId);
    });
    on(this.events, 'stalled', ({ jobId }: { jobId: string }) => this.onWaitingAgain(jobId));
    on(this.events, 'progress', ({ jobId, data }: { jobId: string; data: unknown }) =>
      this.onProgress(jobId, data as WireProgress),
    );
    on(this.events, 'completed', ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }) =>
      this.onCompleted(jobId, returnvalue as WireResult),
    );
    on(this.events, 'failed', ({ jobId, failedReason }: { jobId: string; failedReason: string }) =>
      this.onFailed(jobId, failedReason),
    );
    on(this.events, 'error', (err: unknown) =>
      this.warn(`BullMQ events: ${err instanceof Error ? err.message : String(err)}`),
    );
    on(this.bull, 'error', (err: unknown) =>
      this.warn(`BullMQ queue: ${err instanceof Error ? err.message : String(err)}`),
    );
    void this.events
      .run()
      .catch((err: unknown) => this.warn(`BullMQ events stopped: ${err instanceof Error ? err.message : String(err)}`));
  }

  /**
   * Hands jobs to BullMQ while fewer wait there than there are idle live workers plus `prefetch`.
   * Synchronous up to the Redis call, so the fair order decides every hand-out.
   */
  private pump(): void {
    if (!this.running) return;
    const { active } = this.inFlight.phases();
    let { waiting } = this.inFlight.phases();
    while (waiting < this.prefetch + Math.max(0, this.liveWorkers - active)) {
      const lease = this.queue.take(this.accepts);
      if (!lease) return;
      this.dispatch(lease);
      waiting++;
    }
  }

  private async pollWorkers(): Promise<void> {
    try {
      const count = await countLiveWorkers(this.redis, workersKey(this.prefix, this.queueName));
      if (count !== this.liveWorkers) {
        this.liveWorkers = count;
        this.pump();
      }
    } catch (err) {
      this.warn(`could not count GPU workers: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  private dispatch(lease: JobLease): void {
    const id = lease.job.id;
    const entry = this.inFlight.add(lease);
    lease.signal.addEventListener(
      'abort',
      () => void this.cancel(id).catch((err) => this.warn(`cancelling job ${id} failed: ${err}`)),
      { once: true },
    );
    const add = async (): Promise<void> => {
      const added = await addToBull(this.bull, lease.job, this.keepFinishedMs);
      // Finished while no bot was listening (a restart): settle from the stored outcome.
      if (added.state === 'active') this.onActive(id);
      else if (added.state === 'completed') this.onCompleted(id, added.returnvalue);
      else if (added.state === 'failed') this.onFailed(id, added.failedReason ?? 'the job failed on a worker');
    };
    add().catch((err: unknown) => {
      const message = `could not hand the job to a GPU worker: ${err instanceof Error ? err.message : String(err)}`;
      this.settle(id, () => entry.lease.fail(message, 'unavailable'));
    });
  }

  private onActive(jobId: string): void {
    const entry = this.inFlight.get(jobId);
    if (entry?.phase !== 'waiting') return;
    entry.phase = 'active';
    this.pump();
  }

  private onWaitingAgain(jobId: string): void {
    const entry = this.inFlight.open(jobId);
    if (entry?.phase !== 'active') return;
    entry.phase = 'waiting';
  }

  private onProgress(jobId: string, data: WireProgress): void {
    const entry = this.inFlight.open(jobId);
    if (!entry || !data || typeof data.step !== 'number') return;
    if (entry.phase === 'waiting') this.onActive(jobId);
    // Sticky: a step without a preview shows the last one, so the reply updater (latest wins) never
    // swaps a preview for a step count alone.
    if (data.preview) [entry.preview, entry.previewFlagged] = [decodePreview(data.preview), data.flagged === true];
    const shown = entry.preview ? { preview: entry.preview, flagged: entry.previewFlagged === true } : {};
    entry.lease.progress({ step: data.step, total: data.total, ...shown });
  }

  private onCompleted(jobId: string, wire: WireResult | undefined): void {
    const entry = this.inFlight.open(jobId);
    if (!entry) return;
    this.settle(jobId, async () => {
      if (entry.lease.signal.aborted) return entry.lease.cancelled();
      let collected: { result: JobResult; keys: string[] };
      try {
        collected = await collectResults(this.redis, this.prefix, join(this.resultsDir, jobId), jobId, wire);
      } catch (err) {
        return entry.lease.fail(
          `could not collect the images from the worker: ${err instanceof Error ? err.message : String(err)}`,
          'internal',
        );
      }
      const record = await entry.lease.complete(collected.result, wire?.engineMs);
      // Only once 'done' is stored: a bot that dies before that collects them again after its restart.
      await this.redis.del(...collected.keys).catch(() => 0);
      return record;
    });
  }

  private onFailed(jobId: string, reason: string): void {
    const entry = this.inFlight.open(jobId);
    if (!entry) return;
    // Our own state decides: a job we cancelled reports 'cancelled' whatever the worker's text says.
    const failure = decodeFailure(reason);
    this.settle(jobId, () =>
      entry.lease.signal.aborted ? entry.lease.cancelled() : entry.lease.fail(failure.message, failure.code),
    );
  }

  /** Runs the one settlement of a job; the next job is handed out as soon as its worker is free. */
  private settle(jobId: string, run: () => Promise<unknown>): void {
    this.inFlight.settle(jobId, run, () => this.pump());
  }

  /** A waiting job is removed from BullMQ (and settles here); an active one is told to stop. */
  private async cancel(jobId: string): Promise<void> {
    const entry = this.inFlight.open(jobId);
    if (!entry) return;
    const where = { prefix: this.prefix, queueName: this.queueName, keepMs: this.keepFinishedMs };
    if ((await cancelInBull(this.redis, this.bull, where, jobId, entry.phase === 'waiting')) === 'removed') {
      this.settle(jobId, () => entry.lease.cancelled());
    }
  }
}
