// Messages between WorkerPipeline (main thread) and thread-main.ts (the engine's thread), and error transport.
import { GenerationCancelledError, InvalidRequestError, ModelLoadError } from './errors.ts';
import type { RequestLimits } from './validate.ts';
import type { SchedulerConfig } from './schedulers/types.ts';
import type { GenerateRequest, GenerateResult, RawImage, StepProgress } from './types.ts';

export interface WorkerInit {
  entry: string; // URL of thread-main.ts, imported by the bootstrap after tsx is registered
  modelDir: string;
  executionProvider?: 'cpu' | 'cuda';
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  allowSpinning?: boolean;
  limits?: Partial<RequestLimits>;
}

export interface ModelInfo {
  name: string;
  defaultSize: number;
  vaeScaleFactor: number;
  hasVaeEncoder: boolean;
  latentChannels: number;
  schedulerConfig: SchedulerConfig;
  provider: 'cpu' | 'cuda';
  limits: RequestLimits;
}

export interface SerializedError {
  name: string;
  message: string;
  stack?: string;
  field?: string;
  file?: string;
  step?: number;
  total?: number;
}

export type ToWorker =
  // `aborted`: the caller's signal had fired before the message left; a later 'cancel' message could
  // arrive only after a short run had already finished.
  | {
      type: 'generate';
      id: number;
      request: GenerateRequest;
      previews: boolean;
      steps: boolean;
      reportLatents: boolean;
      startLatents?: Float32Array;
      aborted?: boolean;
    }
  | { type: 'decode'; id: number; latents: Float32Array; count: number; height: number; width: number }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: object; msg?: string }
  | ({ type: 'step'; id: number } & StepProgress)
  | { type: 'done'; id: number; result: GenerateResult }
  | { type: 'decoded'; id: number; images: RawImage[] }
  | { type: 'failed'; id: number; error: SerializedError }
  | { type: 'closed' };

export function serializeError(error: unknown): SerializedError {
  if (error instanceof ModelLoadError)
    return {
      name: error.name,
      message: error.message.slice(error.file.length + 2),
      file: error.file,
      stack: error.stack,
    };
  if (error instanceof InvalidRequestError)
    return { name: error.name, message: error.message, field: error.field, stack: error.stack };
  if (error instanceof GenerationCancelledError)
    return { name: error.name, message: error.message, step: error.step, total: error.total };
  if (error instanceof Error) return { name: error.name, message: error.message, stack: error.stack };
  return { name: 'Error', message: String(error) };
}

/** Rebuilds the engine's error classes so callers on the main thread can still use instanceof. */
export function deserializeError(e: SerializedError): Error {
  let error: Error;
  if (e.name === 'ModelLoadError' && e.file !== undefined) error = new ModelLoadError(e.file, e.message);
  else if (e.name === 'InvalidRequestError' && e.field !== undefined)
    error = new InvalidRequestError(e.field, e.message);
  else if (e.name === 'GenerationCancelledError') return new GenerationCancelledError(e.step ?? 0, e.total ?? 0);
  else {
    error = new Error(e.message);
    error.name = e.name;
  }
  if (e.stack) error.stack = e.stack;
  return error;
}

/** The buffers of these images, to transfer instead of copy (only whole, unshared buffers). */
export function transferables(images: readonly RawImage[]): ArrayBuffer[] {
  const out: ArrayBuffer[] = [];
  for (const { data } of images) {
    const buffer = data.buffer as ArrayBuffer;
    if (data.byteOffset === 0 && data.byteLength === buffer.byteLength && !out.includes(buffer)) out.push(buffer);
  }
  return out;
}

/** The buffers of a step's or a result's latents (copies made for the caller, so they can move). */
export function latentBuffers(...arrays: Array<Float32Array | undefined>): ArrayBuffer[] {
  return arrays.filter((a): a is Float32Array => a !== undefined).map((a) => a.buffer as ArrayBuffer);
}
