// The engine's own thread: onnxruntime-node's session.run is synchronous on the thread that calls it
// (1.30 defers it with setImmediate, then blocks), so the model lives here and the main thread stays free.
import { parentPort, workerData } from 'node:worker_threads';
import { DiffusionPipeline } from './pipeline.ts';
import { createMediaRenderer, type MediaFile } from './media.ts';
import type { GenerateResult } from './types.ts';
import type { EngineLogger } from './logger.ts';
import type { RawImage } from './types.ts';
import { serializeError, transferables, type FromWorker, type ToWorker, type WorkerInit } from './worker-protocol.ts';

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
      provider: m.provider,
      limits: pipeline.limits,
    },
  });

  const run = async (msg: Extract<ToWorker, { type: 'generate' }>): Promise<void> => {
    const controller = controllers.get(msg.id)!;
    try {
      const result = await pipeline.generate(msg.request, {
        signal: controller.signal,
        previews: msg.previews,
        onStep: msg.steps
          ? ({ step, total, preview }) =>
              post({ type: 'step', id: msg.id, step, total, preview }, preview ? transferables([preview]) : [])
          : undefined,
      });
      post({ type: 'done', id: msg.id, result }, transferables(result.images));
    } catch (error) {
      post({ type: 'failed', id: msg.id, error: serializeError(error) });
    } finally {
      controllers.delete(msg.id);
    }
  };

  const media = createMediaRenderer(pipeline);
  const runMedia = async (msg: Extract<ToWorker, { type: 'media' }>): Promise<void> => {
    const controller = controllers.get(msg.id)!;
    try {
      const base = { signal: controller.signal, byteLimit: msg.byteLimit, index: msg.index };
      let out: { media: MediaFile; result?: GenerateResult };
      if (msg.kind === 'timelapse') out = { media: await media.timelapse(msg.request, base) };
      else if (msg.kind === 'diffusion') out = { media: await media.diffusion(msg.request, base) };
      else {
        const onStep = msg.steps
          ? (p: { step: number; total: number; preview?: RawImage }) =>
              post({ type: 'step', id: msg.id, ...p }, p.preview ? transferables([p.preview]) : [])
          : undefined;
        const { result, timelapse } = await media.generateWithTimelapse(msg.request, {
          ...base,
          previews: msg.previews,
          onStep,
        });
        out = { media: timelapse, result };
      }
      const data = new Uint8Array(out.media.data); // an unshared copy, so its buffer can be transferred
      post({ type: 'media-done', id: msg.id, media: { ...out.media, data: data as Buffer }, result: out.result }, [
        data.buffer,
        ...(out.result ? transferables(out.result.images) : []),
      ]);
    } catch (error) {
      post({ type: 'failed', id: msg.id, error: serializeError(error) });
    } finally {
      controllers.delete(msg.id);
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
    } else if (msg.type === 'media') {
      controllers.set(msg.id, controllerFor(msg));
      queue = queue.then(() => runMedia(msg));
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
