// ROLE=worker: one GPU worker process (`npm run start:worker`, or ROLE=worker npm start). It loads
// MODEL_DIR (or MODELS_DIR's models) on this machine's device (EXECUTION_PROVIDER; pick the GPU with CUDA_VISIBLE_DEVICES),
// joins the BullMQ queue on REDIS_URL and runs one job at a time. No Discord token, no job store: the
// bot owns the records, the fair order and the delivery; this process only generates.
// SIGTERM/SIGINT: take no new job, let the running one finish within SHUTDOWN_GRACE_SECONDS, else hand
// it back to BullMQ (front of the wait list) for another worker; a second signal hands it back at once.
import { hostname } from 'node:os';
import { ConfigError, type Config } from './config.ts';
import type { Logger } from './log.ts';
import { WorkerPipeline } from '../engine/index.ts';
import { createMediaRenderer, libraryRenderer } from '../media/renderer.ts';
import { startGpuWorkers, type GpuWorker } from '../queue/bullmq/index.ts';
import { offeredModels, openLibrary } from './models.ts';

export interface WorkerProcess {
  worker: GpuWorker;
  /** Graceful stop (see the header); resolves when the engine and connections are closed. */
  stop(options?: { graceMs?: number }): Promise<void>;
}

export async function startWorkerRole(config: Config, logger: Logger): Promise<WorkerProcess> {
  if (!config.redisUrl) throw new ConfigError(['REDIS_URL: expected a redis:// URL for ROLE=worker, got nothing']);
  const log = logger.child({ component: 'worker' });
  // In a worker thread: a long ONNX run must not starve BullMQ's lock renewals on this event loop.
  // With MODELS_DIR: the library of this machine's models, and a queue joined for each of them.
  const library =
    config.modelsDir === undefined ? undefined : await openLibrary(offeredModels(config, logger).found, config, logger);
  const engine =
    library ??
    (await WorkerPipeline.load(config.modelDir, {
      executionProvider: config.executionProvider,
      intraOpNumThreads: config.intraOpThreads,
      interOpNumThreads: config.interOpThreads,
      logger: logger.child({ component: 'engine' }),
    }));
  const lockMs = Math.round(config.workerLockSeconds * 1000);
  let workers: GpuWorker[];
  try {
    workers = await startGpuWorkers(
      engine,
      library?.models.map((m) => m.name),
      {
        redisUrl: config.redisUrl,
        name: config.workerName ?? `${hostname()}-${process.pid}`,
        jobTimeoutMs: Math.round(config.jobTimeoutSeconds * 1000),
        lockDurationMs: lockMs,
        stalledIntervalMs: lockMs,
        // Films and strips are drawn here from the latents the engine thread reports.
        media: library ? libraryRenderer(library) : createMediaRenderer(engine as WorkerPipeline),
        onJob: (e) =>
          e.type === 'failed'
            ? log.warn(e, 'job failed')
            : log.info(e, e.type === 'start' ? 'job started' : 'job done'),
      },
    );
  } catch (error) {
    await engine.close();
    throw error;
  }
  const worker = workers[0];
  log.info({ name: worker.name, model: engine.modelName, provider: config.executionProvider }, 'worker ready');

  let stopping: Promise<void> | undefined;
  const stopAll = (requeue: boolean) => Promise.all(workers.map((w) => w.stop({ requeue })));
  return {
    worker,
    stop(options = {}) {
      const graceMs = options.graceMs ?? config.shutdownGraceSeconds * 1000;
      if (stopping) {
        if (graceMs === 0) void stopAll(true);
        return stopping;
      }
      stopping = (async () => {
        const timer = setTimeout(() => void stopAll(true), graceMs);
        await stopAll(graceMs === 0);
        clearTimeout(timer);
        await engine.close();
        log.info('worker stopped');
      })();
      return stopping;
    },
  };
}
