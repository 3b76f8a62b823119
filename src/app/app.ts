// The running bot, assembled: store -> engine -> queue + worker -> front end -> metrics, and the
// orderly way down. The front end (Discord) is passed in, so the order and the shutdown rules live
// here once and are tested with the real queue and engine.
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { ModelLoadError, WorkerPipeline, type ImageGenerator } from '../engine/index.ts';
import { libraryRenderer, mediaRendererFor } from '../media/renderer.ts';
import type { ModelLibrary } from '../engine/model-library.ts';
import { offeredModels, openLibrary } from './models.ts';
import type { ModelChoice } from '../discord/model-choice.ts';
import { DAY_MS, GuildSettingsStore, JobQueue, openStore, StoreError, type Store } from '../queue/index.ts';
import { openRunner, type JobRunner } from './runner.ts';
import { defaultMaxSide, readModelFacts, type ModelFacts } from './model-facts.ts';
import { Metrics, type ObservableRest } from '../metrics/metrics.ts';
import { startMetricsServer, type Health, type MetricsServer } from '../metrics/server.ts';

/** What the app needs from the Discord side (or any other front end). */
export interface FrontEnd {
  /** discord.js's REST manager (client.rest), for the Discord API error metrics. */
  readonly rest?: ObservableRest;
  /** Connected and able to answer interactions. */
  ready(): boolean;
  /** Stop answering; deliver what is in flight; disconnect. */
  stop(): Promise<void>;
}

export interface FrontEndDeps {
  config: Config;
  logger: Logger;
  store: Store;
  queue: JobQueue;
  settings: GuildSettingsStore;
  /** The loaded engine; with ROLE=bot only the model's facts (the GPU workers hold the engine). */
  engine: ModelFacts;
  /** With MODELS_DIR: every model offered, the default first. */
  models?: ModelChoice[];
  metrics: Metrics;
}

export type StartFrontEnd = (deps: FrontEndDeps) => Promise<FrontEnd>;

/** Start-up refused for a reason the operator must fix; `variable` names the setting to look at. */
export class StartupError extends Error {
  override name = 'StartupError';
  constructor(
    readonly variable: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(`${variable}: ${message}`, options);
  }
}

export interface App {
  readonly queue: JobQueue;
  /** The in-process Worker (QUEUE_BACKEND=local) or the BullMQ dispatcher (bullmq). */
  readonly worker: JobRunner;
  /** Undefined with ROLE=bot. */
  readonly engine: WorkerPipeline | undefined;
  readonly metricsServer?: MetricsServer;
  /** Each part checked now: the store answers a read, the engine thread is alive, the worker runs, Discord is connected. */
  health(): Promise<Health>;
  /**
   * Graceful stop: take no new job, give the running one `graceMs` to finish (then re-queue it at the
   * front of its owner's line), stop the front end, close queue, engine and store. Idempotent; a call
   * with `graceMs: 0` while a stop is under way cuts the grace short.
   */
  stop(options?: { graceMs?: number }): Promise<void>;
}

export interface AppOptions {
  /** Wraps the loaded engine before the worker gets it (tests slow it down; a wrapper may add tracing). */
  wrapEngine?: (engine: ImageGenerator) => ImageGenerator;
}

/** A read of the store within two seconds. */
async function storeAnswers(store: Store): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), 2000);
  });
  try {
    return await Promise.race([
      store.get('health:ping').then(
        () => true,
        () => false,
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export async function startApp(
  config: Config,
  logger: Logger,
  startFrontEnd: StartFrontEnd,
  options: AppOptions = {},
): Promise<App> {
  const closers: Array<() => Promise<unknown>> = [];
  const unwind = async () => {
    for (const close of closers.reverse())
      await close().catch((error) => logger.warn({ err: error }, 'cleanup after a failed start'));
  };
  try {
    let store: Store;
    try {
      store = await openStore({ dataDir: config.dataDir, redisUrl: config.redisUrl });
    } catch (error) {
      if (!(error instanceof StoreError)) throw error;
      const variable = config.redisUrl ? 'REDIS_URL' : 'DATA_DIR';
      throw new StartupError(variable, `could not open the job store: ${error.message}`, { cause: error });
    }
    closers.push(() => store.close());
    logger.info({ backend: store.backend, location: store.location }, 'store open');

    // ROLE=bot: no engine here (GPU workers run it); the front end gets the model's size from its files.
    // The engine runs in a worker thread: onnxruntime-node runs a model on the calling thread, which would
    // stall interaction acknowledgements for a whole U-Net call (seconds on a big model).
    let engine: WorkerPipeline | undefined;
    let library: ModelLibrary | undefined;
    let facts: ModelFacts;
    let models: ModelChoice[] | undefined;
    try {
      // The model's defaults (steps, guidance, sampler) come from its files, before any ONNX loads.
      facts = readModelFacts(config.modelDir);
      if (config.modelsDir !== undefined) {
        const offered = offeredModels(config, logger);
        models = offered.models;
        if (config.role !== 'bot') {
          const lib = await openLibrary(offered.found, config, logger);
          library = lib;
          facts = { ...facts, close: () => lib.close() };
        }
      } else if (config.role !== 'bot') {
        const loaded = await WorkerPipeline.load(config.modelDir, {
          executionProvider: config.executionProvider,
          intraOpNumThreads: config.intraOpThreads,
          interOpNumThreads: config.interOpThreads,
          logger: logger.child({ component: 'engine' }),
        });
        engine = loaded;
        facts = {
          size: facts.size,
          defaults: facts.defaults,
          imageToImage: loaded.imageToImage,
          close: () => loaded.close(),
        };
      }
    } catch (error) {
      if (!(error instanceof ModelLoadError)) throw error;
      throw new StartupError('MODEL_DIR', error.message, { cause: error });
    }
    closers.push(() => facts.close());

    const maxSide = defaultMaxSide((models ?? [facts]).map((m) => m.size));
    const settings = new GuildSettingsStore(store, undefined, { maxSide });
    const queue = await JobQueue.open({
      store,
      settings,
      maxQueued: config.maxQueuedJobs,
      retentionMs: Math.round(config.jobRetentionDays * DAY_MS),
      sourcesDir: join(config.dataDir, 'sources'),
    });
    closers.push(() => queue.close());
    const { queued, running } = queue.stats();
    logger.info({ queued, recovered: running }, 'queue open');

    const metrics = new Metrics({ stats: () => queue.stats() }).watchQueue(queue);
    // QUEUE_BACKEND: local = the in-process Worker; bullmq = jobs go through Redis to GPU worker processes
    // (plus one in this process when it has an engine, ROLE=all).
    const generator = library ?? engine;
    const worker = await openRunner({
      backend: config.queueBackend,
      queue,
      engine: generator && (options.wrapEngine ? options.wrapEngine(generator) : generator),
      // timelapse / diffusion / --video jobs, made by the unwrapped engine (each request's own model's)
      media: library ? libraryRenderer(library) : mediaRendererFor(engine),
      resultsDir: join(config.dataDir, 'results'),
      jobTimeoutMs: Math.round(config.jobTimeoutSeconds * 1000),
      redisUrl: config.redisUrl,
      workerName: config.workerName,
      lockDurationMs: Math.round(config.workerLockSeconds * 1000),
      warn: (message) => logger.warn(message),
      ...(models ? { models: models.map((m) => m.name) } : {}),
    });
    closers.push(() => worker.close());
    queue.on('failed', (job) => logger.warn({ jobId: job.id, error: job.error }, 'job failed'));
    queue.on('done', (job) =>
      logger.info({ jobId: job.id, ms: job.result?.elapsedMs, model: job.result?.model }, 'job done'),
    );
    queue.on('requeued', (job) => logger.info({ jobId: job.id }, 'job re-queued'));

    let frontEnd: FrontEnd | undefined;
    let working = false;
    let stopping: Promise<void> | undefined;
    let cutShort: (() => void) | undefined;
    const health = async (): Promise<Health> => {
      const checks = {
        store: !stopping && (await storeAnswers(store)),
        // ROLE=bot holds no engine: the GPU workers report their own health.
        engine: !stopping && (engine?.alive ?? true),
        worker: working && !stopping,
        discord: !stopping && (frontEnd?.ready() ?? false),
      };
      return { ready: Object.values(checks).every(Boolean), checks };
    };

    // Listening before Discord: a port in use fails the start at once, and /healthz says "not ready"
    // while the bot logs in.
    let metricsServer: MetricsServer | undefined;
    if (config.metricsPort !== undefined) {
      try {
        metricsServer = await startMetricsServer({
          host: config.metricsHost,
          port: config.metricsPort,
          metrics,
          health,
        });
      } catch (error) {
        const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
        throw new StartupError(
          'METRICS_PORT',
          `expected to listen on ${config.metricsHost}:${config.metricsPort} (METRICS_HOST:METRICS_PORT), got ${reason}`,
          { cause: error },
        );
      }
      const server = metricsServer;
      closers.push(() => server.close());
      logger.info({ url: metricsServer.url }, 'metrics listening: /healthz and /metrics');
    }

    // The front end subscribes to queue events before the worker starts, so a job recovered from the
    // store and finished at once is still delivered.
    const front = await startFrontEnd({ config, logger, store, queue, settings, engine: facts, models, metrics });
    frontEnd = front;
    closers.push(() => front.stop());
    if (front.rest) metrics.watchRest(front.rest);
    worker.start();
    working = true;
    closers.push(() => worker.stop({ requeue: true }));

    const stop = async (graceMs: number): Promise<void> => {
      logger.info({ graceMs, running: worker.busy }, 'stopping: no new jobs; the running job may finish');
      let timer: NodeJS.Timeout | undefined;
      const requeueNow = new Promise<void>((resolve) => {
        cutShort = resolve;
        timer = setTimeout(resolve, graceMs);
      });
      // stop() without requeue lets the engine call finish; a second stop() with requeue aborts it.
      const drained = worker.stop({ requeue: false });
      await Promise.race([drained, requeueNow.then(() => worker.stop({ requeue: true }))]);
      await drained;
      clearTimeout(timer);
      for (const close of [
        () => front.stop(),
        () => worker.close(),
        () => queue.close(),
        () => facts.close(),
        () => store.close(),
        () => metricsServer?.close() ?? Promise.resolve(),
      ]) {
        await close().catch((error: unknown) => logger.error({ err: error }, 'error while stopping'));
      }
      metrics.close();
      logger.info('stopped');
    };

    return {
      queue,
      worker,
      engine,
      metricsServer,
      health,
      stop(options = {}) {
        const graceMs = options.graceMs ?? config.shutdownGraceSeconds * 1000;
        if (stopping) {
          if (graceMs === 0) cutShort?.();
          return stopping;
        }
        stopping = stop(graceMs);
        return stopping;
      },
    };
  } catch (error) {
    await unwind();
    throw error;
  }
}
