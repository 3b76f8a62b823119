// One interface for whatever runs the queue's jobs, chosen by configuration:
//   local  - the in-process Worker on this process's engine (the default; SQLite or Redis store)
//   bullmq - the Dispatcher hands jobs to BullMQ on Redis in fair order; GpuWorker processes run them,
//            and, when this process has an engine too (ROLE=all), one GpuWorker runs here as well.
import type { ImageGenerator } from '../engine/types.ts';
import type { MediaRenderer } from '../media/renderer.ts';
import type { JobQueue } from '../queue/queue.ts';
import { Worker } from '../queue/worker.ts';
import type { GpuWorker } from '../queue/bullmq/gpu-worker.ts';

export type RunnerBackend = 'local' | 'bullmq';

export interface JobRunner {
  readonly backend: RunnerBackend;
  /** Starts taking jobs from the queue. */
  start(): void;
  /**
   * Stops taking jobs. `requeue: false` lets running jobs finish; `true` puts them back at the front of
   * their owner's line (bullmq: BullMQ keeps running or re-queues them; the next start collects them).
   */
  stop(options?: { requeue?: boolean }): Promise<void>;
  /** True while a job this runner took is unfinished. */
  readonly busy: boolean;
  /** Releases connections (bullmq). Call after stop(). */
  close(): Promise<void>;
}

export interface RunnerOptions {
  backend: RunnerBackend;
  queue: JobQueue;
  /** Required for 'local'; for 'bullmq' it adds an in-process GPU worker. */
  engine?: ImageGenerator;
  /** Makes timelapse / diffusion / --video jobs (media/renderer.ts mediaRendererFor); without it they fail with a clear message. */
  media?: MediaRenderer;
  resultsDir: string;
  jobTimeoutMs?: number;
  /** Required for 'bullmq'. */
  redisUrl?: string;
  /** bullmq: this process's worker name and lock (see GpuWorkerOptions). */
  workerName?: string;
  lockDurationMs?: number;
  /** bullmq: see DispatcherOptions.prefetch (default 1; 0 keeps the fair order exact). */
  prefetch?: number;
  /** After an abort, how long to wait for the engine. Default 30 s. */
  abortGraceMs?: number;
  /** bullmq with several models (the default first): a queue per model, so a job reaches a worker serving it. */
  models?: readonly string[];
  warn?: (message: string) => void;
}

/** A backend was asked for without what it needs (an engine for local, a Redis URL for bullmq). */
export class RunnerConfigError extends Error {
  override name = 'RunnerConfigError';
}

export async function openRunner(options: RunnerOptions): Promise<JobRunner> {
  if (options.backend === 'local') {
    if (!options.engine)
      throw new RunnerConfigError(
        'expected an engine for the local backend, got none (ROLE=bot needs QUEUE_BACKEND=bullmq)',
      );
    const worker = new Worker(options.queue, options.engine, {
      resultsDir: options.resultsDir,
      jobTimeoutMs: options.jobTimeoutMs,
      ...(options.media ? { media: options.media } : {}),
      ...(options.abortGraceMs !== undefined ? { abortGraceMs: options.abortGraceMs } : {}),
    });
    return {
      backend: 'local',
      start: () => worker.start(),
      stop: (o) => worker.stop(o),
      get busy() {
        return worker.busy;
      },
      close: async () => {},
    };
  }
  if (!options.redisUrl)
    throw new RunnerConfigError('expected a Redis URL for the bullmq backend, got none (set REDIS_URL)');
  // Loaded only when chosen: the default install path never touches BullMQ.
  const bullmq = await import('../queue/bullmq/index.ts');
  // One queue (and dispatcher) per model with several models; otherwise the one queue.
  const models = options.models && options.models.length > 1 ? options.models : undefined;
  const lanes = models?.map((model) => ({ model, queueName: bullmq.modelQueueName(model) })) ?? [
    { model: undefined, queueName: undefined },
  ];
  const modelOf = (job: { request: { model?: string } }) => job.request.model ?? models?.[0];
  const dispatchers = await Promise.all(
    lanes.map(({ model, queueName }) =>
      bullmq.Dispatcher.open(options.queue, {
        redisUrl: options.redisUrl!,
        resultsDir: options.resultsDir,
        prefetch: options.prefetch,
        warn: options.warn,
        ...(queueName ? { queueName, accepts: (job) => modelOf(job) === model } : {}),
      }),
    ),
  );
  const local: GpuWorker[] = options.engine
    ? await bullmq.startGpuWorkers(options.engine, models, {
        redisUrl: options.redisUrl,
        name: options.workerName,
        jobTimeoutMs: options.jobTimeoutMs,
        lockDurationMs: options.lockDurationMs,
        stalledIntervalMs: options.lockDurationMs,
        abortGraceMs: options.abortGraceMs,
        media: options.media,
      })
    : [];
  return {
    backend: 'bullmq',
    start: () => {
      for (const d of dispatchers) d.start();
    },
    async stop(o = {}) {
      await Promise.all([...local.map((w) => w.stop(o)), ...dispatchers.map((d) => d.stop(o))]);
    },
    get busy() {
      return dispatchers.some((d) => d.busy);
    },
    close: async () => {
      await Promise.all(dispatchers.map((d) => d.close()));
    },
  };
}
