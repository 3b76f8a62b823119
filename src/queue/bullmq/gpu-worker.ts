// The consumer half of the BullMQ backend: one process per GPU, anywhere that reaches Redis. Runs one
// engine call at a time (BullMQ concurrency 1), reports progress with small previews through
// job.updateProgress, stores the result PNGs in Redis for the bot to collect, and honours cancellation
// (pub/sub + a key) and a per-job timeout. A worker that dies mid-job loses its lock; BullMQ's stalled
// check hands the job to another worker, and the dispatcher settles it exactly once.
import type { Exclusive } from './exclusive.ts';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker as BullWorker, UnrecoverableError, WaitingError, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { GenerateRequest, GenerateResult, ImageGenerator, StepProgress } from '../../engine/types.ts';
import type { MediaFile, MediaRenderer } from '../../media/renderer.ts';
import { isMediaJob, requestSeeds, runMediaJob, type MediaRun } from '../media-jobs.ts';
import { CrashCounts, JobTimeoutError, StopRequeue, runEnd, untilAbortedPlusGrace } from '../job-run.ts';
import { encodeResultPngs } from '../result-files.ts';
import { DAY_MS } from '../limits.ts';
import {
  cancelChannel,
  cancelKey,
  CANCELLED_REASON,
  DEFAULT_PREFIX,
  DEFAULT_QUEUE_NAME,
  encodeFailure,
  encodePreview,
  resultKey,
  workersKey,
  type WireJob,
  type WireProgress,
  type WireResult,
} from './protocol.ts';

export interface GpuWorkerOptions {
  redisUrl: string;
  /** Shown in logs and stored on each BullMQ job (processedBy). Default `worker-<random>`. */
  name?: string;
  queueName?: string;
  prefix?: string;
  /** Shared by the workers of one process (one per model): one engine call at a time on its GPU. */
  exclusive?: Exclusive;
  /** A job running longer is aborted and fails. Default 10 minutes. */
  jobTimeoutMs?: number;
  /** After an abort, how long to wait for the engine before giving up on the call. Default 30 s. */
  abortGraceMs?: number;
  /** Ask the engine for step previews. Default true. */
  previews?: boolean;
  /** Least gap between progress events that carry a preview (others carry step counts only). Default 250 ms. */
  previewIntervalMs?: number;
  /** How long result PNGs wait in Redis for the bot. Default 1 day. */
  resultTtlMs?: number;
  /**
   * BullMQ lock: a worker that has not renewed it for this long counts as dead and its job goes to
   * another worker. Default 30 s (tests use ~2 s). The engine runs off the event loop, so renewals
   * are not starved by a long step.
   */
  lockDurationMs?: number;
  /** How often this worker looks for stalled jobs (any live worker rescues a dead one's job). Default 30 s. */
  stalledIntervalMs?: number;
  /** How many times one job may be rescued from a dead worker before it fails. Default 2. */
  maxStalledCount?: number;
  /** Makes timelapse / diffusion / --video jobs; without it they fail with a clear message. */
  media?: MediaRenderer;
  /** Observes each job's start and end (logs, tests). */
  onJob?: (event: {
    type: 'start' | 'done' | 'failed';
    jobId: string;
    error?: string;
    engineMs?: number;
    encodeMs?: number;
    storeMs?: number;
  }) => void;
}

export class GpuWorker {
  readonly name: string;
  private readonly prefix: string;
  private readonly queueName: string;
  private readonly jobTimeoutMs: number;
  private readonly abortGraceMs: number;
  private readonly previews: boolean;
  private readonly previewIntervalMs: number;
  private readonly resultTtlMs: number;
  private readonly controllers = new Map<string, AbortController>();
  private readonly crashes = new CrashCounts();
  private bull!: BullWorker<WireJob, WireResult>;
  private redis!: Redis;
  private sub!: Redis;
  private closing?: Promise<void>;
  private announceTimer?: NodeJS.Timeout;
  private readonly lockMs: number;
  /** Jobs this worker finished (completed or failed), for logs and tests. */
  finished = 0;

  private constructor(
    private readonly generator: ImageGenerator,
    private readonly options: GpuWorkerOptions,
  ) {
    this.name = options.name ?? `worker-${randomBytes(4).toString('hex')}`;
    this.prefix = options.prefix ?? DEFAULT_PREFIX;
    this.queueName = options.queueName ?? DEFAULT_QUEUE_NAME;
    this.jobTimeoutMs = options.jobTimeoutMs ?? 10 * 60 * 1000;
    this.abortGraceMs = options.abortGraceMs ?? 30_000;
    this.previews = options.previews ?? true;
    this.previewIntervalMs = options.previewIntervalMs ?? 250;
    this.resultTtlMs = options.resultTtlMs ?? DAY_MS;
    this.lockMs = options.lockDurationMs ?? 30_000;
  }

  /** Connects, subscribes to cancellations, and starts taking jobs. */
  static async start(generator: ImageGenerator, options: GpuWorkerOptions): Promise<GpuWorker> {
    const worker = new GpuWorker(generator, options);
    await worker.connect();
    return worker;
  }

  /** True while a job is running here. */
  get busy(): boolean {
    return this.controllers.size > 0;
  }

  /**
   * Stops taking jobs. `requeue: false` lets the running job finish; `true` aborts it and puts it back at
   * the front of BullMQ's wait list for another worker. Closes the Redis connections.
   */
  stop(options: { requeue?: boolean } = {}): Promise<void> {
    // A second call (grace over) may only add the requeue; closing happens once.
    if (options.requeue) for (const c of this.controllers.values()) c.abort(new StopRequeue('worker stopping'));
    this.closing ??= (async () => {
      // Stop counting as a free worker first, so the dispatcher hands this one nothing more.
      clearInterval(this.announceTimer);
      await this.redis.zrem(workersKey(this.prefix, this.queueName), this.name).catch(() => 0);
      await this.bull.close();
      await Promise.allSettled([this.sub.quit(), this.redis.quit()]);
    })();
    return this.closing;
  }

  private async connect(): Promise<void> {
    this.redis = new Redis(this.options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
    this.sub = new Redis(this.options.redisUrl, { lazyConnect: true });
    await Promise.all([this.redis.connect(), this.sub.connect()]);
    this.sub.on('message', (_channel: string, jobId: string) =>
      this.controllers.get(jobId)?.abort(new Error(CANCELLED_REASON)),
    );
    await this.sub.subscribe(cancelChannel(this.prefix, this.queueName));
    const lock = this.options.exclusive;
    const run = (job: Job<WireJob, WireResult>, token?: string) =>
      lock ? lock.run(() => this.process(job, token)) : this.process(job, token);
    this.bull = new BullWorker<WireJob, WireResult>(this.queueName, run, {
      connection: { url: this.options.redisUrl },
      prefix: this.prefix,
      name: this.name,
      concurrency: 1,
      lockDuration: this.lockMs,
      stalledInterval: this.options.stalledIntervalMs ?? 30_000,
      maxStalledCount: this.options.maxStalledCount ?? 2,
      autorun: false,
    });
    this.bull.on('error', (err) => process.emitWarning(`BullMQ worker ${this.name}: ${err.message}`));
    await this.bull.waitUntilReady();
    // Tell the dispatcher this worker is alive (it hands out one job per idle live worker). The entry
    // expires with the lock, so a killed worker stops counting when its job is rescued.
    const announce = (): Promise<unknown> =>
      this.redis.zadd(workersKey(this.prefix, this.queueName), Date.now() + this.lockMs, this.name).catch(() => 0);
    await announce();
    this.announceTimer = setInterval(() => void announce(), Math.max(50, Math.floor(this.lockMs / 3)));
    this.announceTimer.unref();
    void this.bull
      .run()
      .catch((err: unknown) =>
        process.emitWarning(`BullMQ worker ${this.name} stopped: ${err instanceof Error ? err.message : String(err)}`),
      );
  }

  private async process(job: Job<WireJob, WireResult>, token?: string): Promise<WireResult> {
    const id = job.id!;
    const record = job.data.job;
    this.options.onJob?.({ type: 'start', jobId: id });
    const controller = new AbortController();
    this.controllers.set(id, controller);
    const timer = setTimeout(() => controller.abort(new JobTimeoutError(id, this.jobTimeoutMs)), this.jobTimeoutMs);
    let tmp: string | undefined;
    try {
      // Cancelled before this worker got it? Checked alongside the engine start, not before it (a round trip saved per job).
      void this.redis.exists(cancelKey(this.prefix, id)).then(
        (n) => {
          if (n > 0) controller.abort(new Error(CANCELLED_REASON));
        },
        () => {},
      );
      let request: GenerateRequest = record.request;
      if (request.init && job.data.initPng) {
        // The source image came inline: the bot's path means nothing on this machine.
        tmp = await mkdtemp(join(tmpdir(), 'emojiforge-init-'));
        const path = join(tmp, 'init.png');
        await writeFile(path, Buffer.from(job.data.initPng, 'base64'));
        request = { ...request, init: { ...request.init, imagePath: path } };
      }
      const started = performance.now();
      let lastPreview = -Infinity;
      const onStep = (p: StepProgress): void => {
        const now = performance.now();
        const withPreview =
          p.preview !== undefined && (now - lastPreview >= this.previewIntervalMs || p.step === p.total);
        if (withPreview) lastPreview = now;
        const data: WireProgress = {
          step: p.step,
          total: p.total,
          ...(withPreview ? { preview: encodePreview(p.preview!) } : {}),
          ...(withPreview && p.flagged !== undefined ? { flagged: p.flagged } : {}),
        };
        // Not awaited: one connection keeps them in order, and the engine must not wait on Redis.
        job.updateProgress(data as unknown as object).catch(() => {});
      };
      const run = { signal: controller.signal, previews: this.previews, onStep };
      const call: Promise<GenerateResult | MediaRun> = isMediaJob(record)
        ? runMediaJob({ ...record, request }, this.options.media, run)
        : this.generator.generate(request, run);
      const ran = await untilAbortedPlusGrace(call, controller.signal, this.abortGraceMs);
      const { result, media } = 'media' in ran ? ran : { result: ran, media: undefined };
      const engineMs = performance.now() - started;
      const pngs = result ? await encodeResultPngs(job.data.job, result) : { images: [] };
      const encodeMs = performance.now() - started - engineMs;
      const wire = await this.storeResult(
        id,
        pngs,
        result ?? { seeds: requestSeeds(record.request), model: this.generator.modelName },
        engineMs,
        media,
      );
      this.finished++;
      this.crashes.forget(id);
      this.options.onJob?.({
        type: 'done',
        jobId: id,
        engineMs,
        encodeMs,
        storeMs: performance.now() - started - engineMs - encodeMs,
      });
      return wire;
    } catch (err) {
      const cancelled =
        controller.signal.aborted &&
        !(controller.signal.reason instanceof StopRequeue) &&
        !(controller.signal.reason instanceof JobTimeoutError);
      const end = runEnd(err, controller.signal.reason, cancelled, this.crashes.of(id));
      if (end.kind === 'requeue' && token) {
        // Stopping, or the engine's thread died under it (it restarts): back to the front of the wait list.
        if (end.why === 'engine crashed') this.crashes.add(id);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      this.crashes.forget(id);
      this.finished++;
      this.options.onJob?.({
        type: 'failed',
        jobId: id,
        error: end.kind === 'failed' ? end.message : CANCELLED_REASON,
      });
      // attempts is 1: every failure is final; Unrecoverable says so explicitly. The code travels with it.
      throw new UnrecoverableError(end.kind === 'failed' ? encodeFailure(end.code, end.message) : CANCELLED_REASON);
    } finally {
      clearTimeout(timer);
      this.controllers.delete(id);
      if (tmp) await rm(tmp, { recursive: true, force: true }).catch(() => {});
    }
  }

  private async storeResult(
    jobId: string,
    pngs: { images: Buffer[]; grid?: Buffer },
    result: Pick<GenerateResult, 'seeds' | 'model' | 'flagged'>,
    engineMs: number,
    media?: MediaFile,
  ): Promise<WireResult> {
    const multi = this.redis.multi();
    pngs.images.forEach((png, i) => multi.set(resultKey(this.prefix, jobId, String(i)), png, 'PX', this.resultTtlMs));
    if (pngs.grid) multi.set(resultKey(this.prefix, jobId, 'grid'), pngs.grid, 'PX', this.resultTtlMs);
    if (media) multi.set(resultKey(this.prefix, jobId, 'media'), media.data, 'PX', this.resultTtlMs);
    await multi.exec();
    return {
      images: pngs.images.length,
      grid: pngs.grid !== undefined,
      seeds: result.seeds,
      model: result.model,
      ...(result.flagged ? { flagged: result.flagged } : {}),
      engineMs,
      worker: this.name,
      ...(media ? { media: { name: media.name, caption: media.caption } } : {}),
    };
  }
}
