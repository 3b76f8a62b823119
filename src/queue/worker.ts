// The consumer: runs one engine call at a time, in the queue's fair order. Writing a finished job's
// PNGs overlaps the next job's engine call so the engine is not idle between jobs.
import { join, resolve } from 'node:path';
import type { GenerateResult, ImageGenerator, StepProgress } from '../engine/types.ts';
import type { JobQueue, JobLease } from './queue.ts';
import type { MediaRenderer } from '../media/renderer.ts';
import { isMediaJob, requestSeeds, runMediaJob, writeMediaFile, type MediaRun } from './media-jobs.ts';
import type { JobRecord, JobResult } from './types.ts';
import { writeResultFiles } from './result-files.ts';
import { CrashCounts, JobTimeoutError, StopRequeue, runEnd, untilAbortedPlusGrace } from './job-run.ts';

export interface WorkerOptions {
  /** Result PNGs go to `${resultsDir}/<jobId>/` (0.png, 1.png, ..., grid.png). */
  resultsDir: string;
  /** A job still running after this many ms is aborted and fails. Default 10 minutes. */
  jobTimeoutMs?: number;
  /** After aborting, how long to wait for the engine to return before moving on anyway. Default 30 s. */
  abortGraceMs?: number;
  /** Ask the engine for step previews. Default true. */
  previews?: boolean;
  /** Makes timelapse / diffusion / --video jobs (media/renderer.ts createMediaRenderer); without it they fail with a clear message. */
  media?: MediaRenderer;
}

export { JobTimeoutError } from './job-run.ts';

export class Worker {
  private readonly resultsDir: string;
  private readonly jobTimeoutMs: number;
  private readonly abortGraceMs: number;
  private readonly previews: boolean;
  private readonly media?: MediaRenderer;
  private loop?: Promise<void>;
  private stopping?: AbortController;
  private current?: { lease: JobLease; controller: AbortController };
  private readonly finishing = new Set<Promise<unknown>>();
  private readonly crashes = new CrashCounts();

  constructor(
    private readonly queue: JobQueue,
    private readonly generator: ImageGenerator,
    options: WorkerOptions,
  ) {
    this.resultsDir = resolve(options.resultsDir);
    this.jobTimeoutMs = options.jobTimeoutMs ?? 10 * 60 * 1000;
    this.abortGraceMs = options.abortGraceMs ?? 30_000;
    this.previews = options.previews ?? true;
    this.media = options.media;
  }

  /** True while an engine call is in progress. */
  get busy(): boolean {
    return this.current !== undefined;
  }

  /** Starts taking jobs. Calling it twice is a no-op. */
  start(): void {
    if (this.loop) return;
    this.stopping = new AbortController();
    this.loop = this.run(this.stopping.signal);
  }

  /**
   * Stops taking jobs. `requeue: true` aborts the running job and puts it back at the front of its owner's
   * line; `false` lets it finish. Resolves when no engine call is left and all results are written.
   */
  async stop(options: { requeue?: boolean } = {}): Promise<void> {
    if (!this.loop) return;
    this.stopping!.abort();
    if (options.requeue && this.current) this.current.controller.abort(new StopRequeue('worker stopping'));
    await this.loop;
    this.loop = undefined;
    while (this.finishing.size > 0) await Promise.allSettled([...this.finishing]);
  }

  private async run(stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const lease = this.queue.take();
      if (!lease) {
        if (!(await this.queue.waitForJob(stop))) break;
        continue;
      }
      await this.runOne(lease);
    }
  }

  private async runOne(lease: JobLease): Promise<void> {
    const { job } = lease;
    const controller = new AbortController();
    this.current = { lease, controller };
    const onCancel = (): void => controller.abort(lease.signal.reason);
    lease.signal.addEventListener('abort', onCancel, { once: true });
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(job.id, this.jobTimeoutMs)), this.jobTimeoutMs);
    const started = performance.now();
    let result: GenerateResult | undefined;
    let media: MediaRun['media'] | undefined;
    let error: unknown;
    try {
      const onStep = (p: StepProgress): void => lease.progress(p);
      if (isMediaJob(job)) {
        const run = await untilAbortedPlusGrace(
          runMediaJob(job, this.media, { signal: controller.signal, previews: this.previews, onStep }),
          controller.signal,
          this.abortGraceMs,
        );
        ({ result, media } = run);
      } else {
        const call = this.generator.generate(job.request, {
          signal: controller.signal,
          previews: this.previews,
          onStep,
        });
        result = await untilAbortedPlusGrace(call, controller.signal, this.abortGraceMs);
      }
    } catch (err) {
      error = err;
    } finally {
      clearTimeout(timer);
      lease.signal.removeEventListener('abort', onCancel);
      this.current = undefined;
    }
    const engineMs = performance.now() - started;
    let settle: Promise<unknown>;
    if (error === undefined && !controller.signal.aborted && (result || media)) {
      this.crashes.forget(job.id);
      settle = this.saveResult(lease, result, engineMs, media);
    } else {
      const end = runEnd(
        error ?? new Error('the engine returned nothing'),
        controller.signal.reason,
        lease.signal.aborted,
        this.crashes.of(job.id),
      );
      if (end.kind === 'requeue') {
        if (end.why === 'engine crashed') this.crashes.add(job.id);
        settle = lease.requeue();
      } else {
        this.crashes.forget(job.id);
        settle = end.kind === 'cancelled' ? lease.cancelled() : lease.fail(end.message, end.code);
      }
    }
    // Not awaited: the next job starts now; stop() waits for these.
    const tracked = settle
      .catch((err) => process.emitWarning(`finishing job ${job.id} failed: ${err}`))
      .finally(() => this.finishing.delete(tracked));
    this.finishing.add(tracked);
  }

  private async saveResult(
    lease: JobLease,
    result: GenerateResult | undefined,
    engineMs: number,
    media?: MediaRun['media'],
  ): Promise<JobRecord> {
    const { job } = lease;
    try {
      const dir = join(this.resultsDir, job.id);
      const files = result ? await writeResultFiles(dir, job, result) : { images: [] };
      const seeds = result?.seeds ?? requestSeeds(job.request);
      const jobResult: JobResult = {
        ...files,
        seeds,
        model: result?.model ?? this.generator.modelName,
        elapsedMs: Math.round(engineMs),
        ...(result?.flagged ? { flagged: result.flagged } : {}),
      };
      if (media) jobResult.media = await writeMediaFile(dir, media);
      return await lease.complete(jobResult, engineMs);
    } catch (err) {
      return lease.fail(`could not save the images: ${err instanceof Error ? err.message : String(err)}`, 'internal');
    }
  }
}
