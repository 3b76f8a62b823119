// The engine's public surface: what the queue worker, the CLI and the bot import.
// Long-running processes want WorkerPipeline (ONNX off the main thread); DiffusionPipeline runs in the caller's thread.
export { DiffusionPipeline, type PipelineOptions } from './pipeline.ts';
export { WorkerPipeline, type WorkerPipelineOptions } from './worker-pipeline.ts';
export type { ModelInfo } from './worker-protocol.ts';
export { loadModel, TAESD_FOLDERS, type DiffusionModel, type ModelLoadOptions } from './model.ts';
export { EngineCrashedError, GenerationCancelledError, InvalidRequestError, ModelLoadError } from './errors.ts';
export {
  decodeImage,
  encodePng,
  encodePreview,
  formatParameters,
  imageParameters,
  makeGrid,
  readPngText,
} from './images.ts';
export { DEFAULT_LIMITS, validateRequest, type RequestLimits } from './validate.ts';
export { silentLogger, type EngineLogger } from './logger.ts';
export {
  SAMPLERS,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResult,
  type ImageGenerator,
  type RawImage,
  type SamplerName,
  type StepProgress,
} from './types.ts';
