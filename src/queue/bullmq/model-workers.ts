// The GPU workers of one process: one on the shared queue, or with several models one per model's queue
// (each named after its model), taking turns on the process's one engine.
import type { ImageGenerator } from '../../engine/types.ts';
import { Exclusive } from './exclusive.ts';
import { GpuWorker, type GpuWorkerOptions } from './gpu-worker.ts';
import { modelQueueName } from './protocol.ts';

/** Starts them all, or none: a worker that fails to start stops the ones started before it. */
export async function startGpuWorkers(
  engine: ImageGenerator,
  models: readonly string[] | undefined,
  options: Omit<GpuWorkerOptions, 'queueName' | 'exclusive'>,
): Promise<GpuWorker[]> {
  const exclusive = new Exclusive();
  const workers: GpuWorker[] = [];
  try {
    for (const model of models ?? [undefined])
      workers.push(
        await GpuWorker.start(engine, {
          ...options,
          ...(model
            ? {
                queueName: modelQueueName(model),
                exclusive,
                ...(options.name ? { name: `${options.name}/${model}` } : {}),
              }
            : {}),
        }),
      );
  } catch (error) {
    await Promise.allSettled(workers.map((w) => w.stop({ requeue: true })));
    throw error;
  }
  return workers;
}
