// The BullMQ backend: Dispatcher (bot side, feeds BullMQ in fair order) and GpuWorker (one per GPU).
export { Dispatcher, DispatchError, type DispatcherOptions } from './dispatcher.ts';
export { GpuWorker, type GpuWorkerOptions } from './gpu-worker.ts';
export { Exclusive } from './exclusive.ts';
export { startGpuWorkers } from './model-workers.ts';
export { DEFAULT_PREFIX, DEFAULT_QUEUE_NAME, modelQueueName } from './protocol.ts';
