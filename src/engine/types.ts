// The engine's public contract. Plain data only: requests and results travel through the queue as JSON.

import type { SamplerName } from './schedulers/types.ts';

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
}

export interface GenerateOptions {
  onStep?: (progress: StepProgress) => void;
  signal?: AbortSignal;
  previews?: boolean; // default true
}

export interface GenerateResult {
  images: RawImage[];
  seeds: number[];
  /** Which model made the images (model_index.json name or folder name). */
  model: string;
  timings: { totalMs: number; sessionRunMs: number };
}

/** What the queue's worker needs from an engine: one call at a time, cancellable. */
export interface ImageGenerator {
  readonly modelName: string;
  generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult>;
}
