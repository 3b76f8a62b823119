// The engine's public contract. Plain data only: requests and results travel through the queue as JSON.

import type { SamplerName, SchedulerConfig } from './schedulers/types.ts';

export { SAMPLERS, type SamplerName } from './schedulers/types.ts';

/** One text-to-image (or image-to-image) request. `count` images use seeds seed, seed+1, ... */
export interface GenerateRequest {
  prompt: string;
  negativePrompt?: string;
  seed: number; // uint32
  steps: number;
  guidance: number;
  width: number; // multiple of 8
  height: number; // multiple of 8
  sampler: SamplerName;
  count: number; // 1..4
  /** Mix a second seed's noise into each image's own noise by slerp (subtle ~0.2, strong ~0.55). */
  variation?: { seed: number; strength: number };
  /** Image-to-image: start from this PNG (path on disk) noised to `strength` (needs a VAE encoder). */
  init?: { imagePath: string; strength: number };
  /** Larger than the model's own size: denoise it as overlapping windows of that size (an upscale pass). */
  tiled?: boolean;
  /** Which of the bot's models draws it (a MODELS_DIR folder name); absent: the default. Engines ignore it. */
  model?: string;
}

/** An 8-bit RGB image, row-major, 3 bytes a pixel. */
export interface RawImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export interface StepProgress {
  step: number; // 1-based, after the step finished
  total: number;
  /** Small RGB preview of the predicted clean image (absent when previews are off). */
  preview?: RawImage;
  /** With a safety checker: whether it flagged this preview (only checked previews are sent). */
  flagged?: boolean;
  /** With `reportLatents: true` (as diffusers' callback_on_step_end): the step's model timestep, ... */
  timestep?: number;
  /** ... the latents after the step, [count, channels, h, w], as the U-Net sees them (scaled) ... */
  latents?: Float32Array;
  /** ... and the sampler's predicted clean latents (x0), the same shape. Copies: safe to keep. */
  x0?: Float32Array;
}

export interface GenerateOptions {
  onStep?: (progress: StepProgress) => void;
  signal?: AbortSignal;
  previews?: boolean; // default true
  /** Report each step's latents and x0 to onStep, and the run's starting and final latents in the result. */
  reportLatents?: boolean;
  /**
   * The starting noise, as diffusers' pipelines take it (`latents`): unit-variance values of every image,
   * [count, channels, height / 8, width / 8], scaled by the sampler's starting sigma here. Replaces the
   * seeded starting noise (and a variation's); the seeds still drive the per-step noise of ancestral samplers.
   */
  startLatents?: Float32Array;
}

/** A run's latents (with `reportLatents: true`): what a film or a strip of the run is made from. */
export interface RunLatents {
  /** Latent dims of one image. */
  channels: number;
  height: number;
  width: number;
  /** The U-Net's input at the first step (scaled noise; the noised init image for img2img), [count, ...]. */
  start: Float32Array;
  /** The model timesteps of the steps that ran, in order (img2img skips the first ones). */
  timesteps: number[];
  /** The latents the VAE decoded into the images (scaled as the U-Net sees them). */
  final: Float32Array;
}

export interface GenerateResult {
  images: RawImage[];
  seeds: number[];
  /** Which model made the images (model_index.json name or folder name). */
  model: string;
  /** With a safety checker (safety_checker/): one flag per image; absent for a model without one. */
  flagged?: boolean[];
  timings: { totalMs: number; sessionRunMs: number };
  /** Only with `reportLatents: true`. */
  latents?: RunLatents;
}

/** An engine whose latents can be decoded after a run (both pipelines): what the media layer needs. */
export interface LatentEngine extends ImageGenerator {
  /** Latent channels and the scheduler config of the model, to place the run's steps. */
  readonly latentChannels: number;
  readonly schedulerConfig: SchedulerConfig;
  /** The model's VAE decoder on latents as the U-Net sees them: [count, channels, h, w] -> count images. */
  decodeLatents(latents: Float32Array, count: number, height: number, width: number): Promise<RawImage[]>;
}

/** What the queue's worker needs from an engine: one call at a time, cancellable. */
export interface ImageGenerator {
  readonly modelName: string;
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult>;
}
