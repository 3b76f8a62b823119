// The engine's own thread: onnxruntime-node's session.run is synchronous on the thread that calls it
// (1.30 defers it with setImmediate, then blocks), so the model lives here and the main thread stays free.
import { parentPort, workerData } from 'node:worker_threads';
import { DiffusionPipeline } from './pipeline.ts';
import type { EngineLogger } from './logger.ts';
import type { StepProgress } from './types.ts';
import {
  latentBuffers,
  serializeError,
  transferables,
  type FromWorker,
  type ToWorker,
  type WorkerInit,
} from './worker-protocol.ts';

const port = parentPort!;
const init = workerData as WorkerInit;
const post = (message: FromWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);

const logger: EngineLogger = {
  info: (obj, msg) => post({ type: 'log', level: 'info', obj, msg }),
  warn: (obj, msg) => post({ type: 'log', level: 'warn', obj, msg }),
  error: (obj, msg) => post({ type: 'log', level: 'error', obj, msg }),
};

const controllers = new Map<number, AbortController>();
let queue: Promise<void> = Promise.resolve();

try {
  const pipeline = await DiffusionPipeline.load(init.modelDir, { ...init, logger });
  const m = pipeline.model;
  post({
    type: 'ready',
    info: {
      name: m.name,
      defaultSize: pipeline.defaultSize,
      vaeScaleFactor: m.vaeScaleFactor,
      hasVaeEncoder: !!m.vaeEncoder,
      latentChannels: m.latentChannels,
      schedulerConfig: m.schedulerConfig,
      provider: m.provider,
      limits: pipeline.limits,
    },
  });

  const run = async (msg: Extract<ToWorker, { type: 'generate' }>): Promise<void> => {
    const controller = controllers.get(msg.id)!;
    const onStep = (p: StepProgress) => {
      const moved = [...(p.preview ? transferables([p.preview]) : []), ...latentBuffers(p.latents, p.x0)];
      post({ type: 'step', id: msg.id, ...p }, moved);
    };
    try {
      const result = await pipeline.generate(msg.request, {
        signal: controller.signal,
        previews: msg.previews,
        reportLatents: msg.reportLatents,
        startLatents: msg.startLatents,
        onStep: msg.steps ? onStep : undefined,
      });
      const moved = [...transferables(result.images), ...latentBuffers(result.latents?.start, result.latents?.final)];
      post({ type: 'done', id: msg.id, result }, moved);
    } catch (error) {
      post({ type: 'failed', id: msg.id, error: serializeError(error) });
    } finally {
      controllers.delete(msg.id);
    }
  };

  const decode = async (msg: Extract<ToWorker, { type: 'decode' }>): Promise<void> => {
    try {
      const images = await pipeline.decodeLatents(msg.latents, msg.count, msg.height, msg.width);
      post({ type: 'decoded', id: msg.id, images }, transferables(images));
    } catch (error) {
      post({ type: 'failed', id: msg.id, error: serializeError(error) });
    }
  };

  const controllerFor = (msg: { aborted?: boolean }): AbortController => {
    const controller = new AbortController();
    if (msg.aborted) controller.abort();
    return controller;
  };

  port.on('message', (msg: ToWorker) => {
    if (msg.type === 'generate') {
      controllers.set(msg.id, controllerFor(msg));
      queue = queue.then(() => run(msg)); // one generation at a time, in arrival order
    } else if (msg.type === 'decode') {
      queue = queue.then(() => decode(msg));
    } else if (msg.type === 'cancel') {
      controllers.get(msg.id)?.abort();
    } else if (msg.type === 'close') {
      for (const c of controllers.values()) c.abort();
      void queue.then(async () => {
        await pipeline.close();
        post({ type: 'closed' });
        port.close();
      });
    }
  });
} catch (error) {
  post({ type: 'load-error', error: serializeError(error) });
  port.close();
}
