// Prometheus metrics for the bot, fed by the queue's events and discord.js REST events. Observers
// only: nothing here changes the queue or the client. Each instance has its own registry, so tests
// (and a second bot in one process) never collide on prom-client's global one.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, exponentialBuckets } from 'prom-client';
import type { JobQueueEvents } from '../queue/events.ts';
import type { JobRecord, JobState } from '../queue/types.ts';

/** The part of the queue the metrics watch: its typed events and, when it has them, live counts. */
export interface ObservableQueue {
  on<E extends keyof JobQueueEvents>(event: E, listener: JobQueueEvents[E]): unknown;
  off?<E extends keyof JobQueueEvents>(event: E, listener: JobQueueEvents[E]): unknown;
}

/** discord.js's REST manager (client.rest) as the metrics see it. */
export interface ObservableRest {
  on(
    event: 'response',
    listener: (request: { method: string; route: string }, response: { status: number }) => void,
  ): unknown;
  on(
    event: 'rateLimited',
    listener: (info: { global: boolean; scope: string; route: string; method: string }) => void,
  ): unknown;
  off?(event: string, listener: (...args: never[]) => void): unknown;
}

export interface MetricsOptions {
  /**
   * The queue's own counts (JobQueue.stats fits), read at each scrape: queued and running jobs, and
   * optionally every state including finished records still kept. Without it, counts come from events.
   */
  stats?: () => { queued: number; running: number; byState?: Partial<Record<JobState, number>> };
  /** Process metrics (CPU, memory, event loop lag). Default true. */
  processMetrics?: boolean;
  prefix?: string;
}

export const OUTCOMES = ['done', 'failed', 'cancelled', 'requeued'] as const;

export class Metrics {
  readonly registry = new Registry();
  private readonly submitted: Counter;
  private readonly finished: Counter<'outcome'>;
  private readonly safetyChecked: Counter<'verdict'>;
  private readonly stepSeconds: Histogram;
  private readonly generationSeconds: Histogram;
  private readonly discordErrors: Counter<'status' | 'method'>;
  private readonly discordRateLimits: Counter<'scope'>;
  /** Jobs seen through events: id -> state, and when each running job's last step ended. */
  private readonly seen = new Map<string, 'queued' | 'running'>();
  private readonly lastStepAt = new Map<string, number>();
  private readonly unsubscribe: Array<() => void> = [];

  constructor(options: MetricsOptions = {}) {
    const prefix = options.prefix ?? 'emojiforge_';
    const registers = [this.registry];
    const counts = () => options.stats?.() ?? this.countSeen();
    new Gauge({
      name: `${prefix}queue_length`,
      help: 'Jobs waiting for the worker.',
      registers,
      collect() {
        this.set(counts().queued);
      },
    });
    new Gauge({
      name: `${prefix}jobs`,
      help: 'Jobs by state: queued and running now, and finished records still kept (when the queue reports them).',
      labelNames: ['state'],
      registers,
      collect() {
        const now = counts();
        for (const [state, n] of Object.entries(now.byState ?? {})) this.set({ state }, n ?? 0);
        this.set({ state: 'queued' }, now.queued);
        this.set({ state: 'running' }, now.running);
      },
    });
    this.submitted = new Counter({
      name: `${prefix}jobs_submitted_total`,
      help: 'Jobs accepted into the queue.',
      registers,
    });
    this.finished = new Counter({
      name: `${prefix}jobs_finished_total`,
      help: 'Jobs that left the worker, by outcome (done, failed, cancelled, requeued at shutdown).',
      labelNames: ['outcome'],
      registers,
    });
    for (const outcome of OUTCOMES) this.finished.inc({ outcome }, 0);
    this.safetyChecked = new Counter({
      name: `${prefix}safety_checked_images_total`,
      help: "Finished images the model's safety checker looked at, by verdict (flagged, passed).",
      labelNames: ['verdict'],
      registers,
    });
    for (const verdict of ['flagged', 'passed']) this.safetyChecked.inc({ verdict }, 0);
    this.stepSeconds = new Histogram({
      name: `${prefix}step_seconds`,
      help: 'Wall time of one sampling step as the worker saw it (U-Net calls, scheduler, preview).',
      buckets: exponentialBuckets(0.002, 2, 14), // 2 ms .. 16 s
      registers,
    });
    this.generationSeconds = new Histogram({
      name: `${prefix}generation_seconds`,
      help: 'Wall time of a finished job, from the worker taking it to its images being stored.',
      buckets: exponentialBuckets(0.05, 2, 14), // 50 ms .. 7 min
      registers,
    });
    this.discordErrors = new Counter({
      name: `${prefix}discord_api_errors_total`,
      help: 'Discord REST responses with an error status (429 included), by status and method.',
      labelNames: ['status', 'method'],
      registers,
    });
    this.discordRateLimits = new Counter({
      name: `${prefix}discord_rate_limited_total`,
      help: 'Times discord.js held a request back for a rate limit, by scope.',
      labelNames: ['scope'],
      registers,
    });
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix });
  }

  /** Subscribe to a queue's events. */
  watchQueue(queue: ObservableQueue): this {
    const on = <E extends keyof JobQueueEvents>(event: E, listener: JobQueueEvents[E]) => {
      queue.on(event, listener);
      this.unsubscribe.push(() => queue.off?.(event, listener));
    };
    on('queued', (job) => {
      this.submitted.inc();
      this.seen.set(job.id, 'queued');
    });
    on('started', (job) => {
      this.seen.set(job.id, 'running');
      this.lastStepAt.set(job.id, performance.now());
    });
    on('progress', ({ job }) => {
      const now = performance.now();
      const last = this.lastStepAt.get(job.id);
      if (last !== undefined) this.stepSeconds.observe((now - last) / 1000);
      this.lastStepAt.set(job.id, now);
    });
    on('done', (job) => {
      const ms = generationMs(job);
      if (ms !== undefined) this.generationSeconds.observe(ms / 1000);
      for (const flagged of job.result?.flagged ?? [])
        this.safetyChecked.inc({ verdict: flagged ? 'flagged' : 'passed' });
      this.end(job, 'done');
    });
    on('failed', (job) => this.end(job, 'failed'));
    on('cancelled', (job) => this.end(job, 'cancelled'));
    on('requeued', (job) => {
      this.finished.inc({ outcome: 'requeued' });
      this.lastStepAt.delete(job.id);
      this.seen.set(job.id, 'queued');
    });
    return this;
  }

  /** Count discord.js REST error responses and rate limits (pass client.rest). */
  watchRest(rest: ObservableRest): this {
    const onResponse = (request: { method: string }, response: { status: number }) => {
      if (response.status >= 400) this.discordError(response.status, request.method);
    };
    const onRateLimited = (info: { global: boolean; scope: string }) =>
      this.rateLimited(info.global ? 'global' : info.scope);
    rest.on('response', onResponse);
    rest.on('rateLimited', onRateLimited);
    this.unsubscribe.push(
      () => rest.off?.('response', onResponse as never),
      () => rest.off?.('rateLimited', onRateLimited as never),
    );
    return this;
  }

  /** One Discord API response with an error status (for REST clients that are not watched). */
  discordError(status: number, method: string): void {
    this.discordErrors.inc({ status: String(status), method: method.toUpperCase() });
  }

  /** One request held back or refused for a rate limit; scope is global, shared or user. */
  rateLimited(scope: string): void {
    this.discordRateLimits.inc({ scope });
  }

  /** Prometheus text exposition. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  /** Stop listening (the registry keeps its last values). */
  close(): void {
    for (const off of this.unsubscribe.splice(0)) off();
  }

  private end(job: JobRecord, outcome: (typeof OUTCOMES)[number]): void {
    this.finished.inc({ outcome });
    this.seen.delete(job.id);
    this.lastStepAt.delete(job.id);
  }

  private countSeen(): { queued: number; running: number; byState?: undefined } {
    let queued = 0;
    let running = 0;
    for (const state of this.seen.values()) state === 'queued' ? queued++ : running++;
    return { queued, running };
  }
}

function generationMs(job: JobRecord): number | undefined {
  if (job.result?.elapsedMs !== undefined) return job.result.elapsedMs;
  if (job.startedAt !== undefined && job.finishedAt !== undefined) return job.finishedAt - job.startedAt;
  return undefined;
}
