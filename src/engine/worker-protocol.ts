// Messages between WorkerPipeline (main thread) and thread-main.ts (the engine's thread), and error transport.
import { GenerationCancelledError, InvalidRequestError, ModelLoadError } from './errors.ts';
import type { RequestLimits } from './validate.ts';
import type { GenerateRequest, GenerateResult, RawImage } from './types.ts';
import type { MediaFile } from './media.ts';

/** The MediaRenderer calls (issue 8); 'video' is generateWithTimelapse. */
export type MediaKind = 'timelapse' | 'diffusion' | 'video';

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
  | { type: 'generate'; id: number; request: GenerateRequest; previews: boolean; steps: boolean; aborted?: boolean }
  | {
      type: 'media';
      id: number;
      kind: MediaKind;
      request: GenerateRequest;
      byteLimit?: number;
      index?: number;
      previews: boolean;
      steps: boolean;
      aborted?: boolean;
    }
  | { type: 'cancel'; id: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready'; info: ModelInfo }
  | { type: 'load-error'; error: SerializedError }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; obj: object; msg?: string }
  | { type: 'step'; id: number; step: number; total: number; preview?: RawImage }
  | { type: 'done'; id: number; result: GenerateResult }
  | { type: 'media-done'; id: number; media: MediaFile; result?: GenerateResult }
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
