// What the queue's worker needs to make a job's films and strips: a denoising timelapse (🎞, --video) and
// the /diffusion strip. One small interface, so the worker depends on it and not on the engine's classes.
import { makeDiffusionStrip } from './diffusion-strip.ts';
import { makeTimelapse, type Timelapse } from './timelapse.ts';
import { MediaTooLargeError } from './errors.ts';
import type { GenerateRequest, GenerateResult, ImageGenerator, LatentEngine, StepProgress } from '../engine/types.ts';

/** One finished attachment. */
export interface MediaFile {
  data: Buffer;
  name: string;
  /** Plain-language text to post with it. */
  caption: string;
}

export interface MediaOptions {
  signal?: AbortSignal;
  /** Largest attachment in bytes (Discord: the interaction's attachment_size_limit). */
  byteLimit?: number;
}

export interface MediaRenderer {
  /** Re-runs `request` (deterministic in seed and parameters) and films its steps (one image of a batch with `index`). */
  timelapse(request: GenerateRequest, options?: MediaOptions & { index?: number }): Promise<MediaFile>;
  /** Re-runs `request` and draws image `index`'s forward/reverse strip. */
  diffusion(request: GenerateRequest, options?: MediaOptions & { index?: number }): Promise<MediaFile>;
  /** generate() with the same result and progress, plus the film of that very run (no second run). */
  generateWithTimelapse(
    request: GenerateRequest,
    options?: MediaOptions & { onStep?: (p: StepProgress) => void; previews?: boolean },
  ): Promise<{ result: GenerateResult; timelapse: MediaFile }>;
}

export interface MediaRendererOptions {
  /** Most frames in a film (default 24). */
  maxFrames?: number;
  /** Short side of a film frame (default 512). */
  displaySide?: number;
  /** Short side of a strip tile (default 128). */
  tileSide?: number;
}

/** A renderer for an engine that reports its latents (both pipelines); undefined for one that only generates. */
export function mediaRendererFor(engine: ImageGenerator | undefined): MediaRenderer | undefined {
  const latent = engine as Partial<LatentEngine> | undefined;
  if (!latent || typeof latent.decodeLatents !== 'function' || !latent.schedulerConfig) return undefined;
  return createMediaRenderer(latent as LatentEngine);
}

/** Films and strips for several models: each request is drawn by its own model's engine (src/engine/model-library.ts). */
export function libraryRenderer(library: { engine(name?: string): Promise<ImageGenerator> }): MediaRenderer {
  const of = async (request: GenerateRequest): Promise<MediaRenderer> => {
    const renderer = mediaRendererFor(await library.engine(request.model));
    if (!renderer) throw new Error(`model ${request.model ?? '(default)'} does not report its latents`);
    return renderer;
  };
  return {
    timelapse: async (request, options) => (await of(request)).timelapse(request, options),
    diffusion: async (request, options) => (await of(request)).diffusion(request, options),
    generateWithTimelapse: async (request, options) => (await of(request)).generateWithTimelapse(request, options),
  };
}

export function createMediaRenderer(engine: LatentEngine, settings: MediaRendererOptions = {}): MediaRenderer {
  const film = async (
    request: GenerateRequest,
    options: MediaOptions & { index?: number; onStep?: (p: StepProgress) => void; previews?: boolean },
  ) => {
    const made = await makeTimelapse(engine, request, {
      ...options,
      maxFrames: settings.maxFrames,
      displaySide: settings.displaySide,
    });
    return {
      result: made.result,
      timelapse: { data: made.webp, name: 'timelapse.webp', caption: timelapseCaption(request, made) },
    };
  };
  return {
    async timelapse(request, options = {}) {
      return (await film(request, options)).timelapse;
    },
    async diffusion(request, options = {}) {
      const limit = options.byteLimit ?? Infinity;
      // Smaller tiles until the PNG fits (a strip of a 64-pixel model is about 0.2 MB at 128).
      for (let tileSide = settings.tileSide ?? 128; ; tileSide = Math.floor(tileSide / 2)) {
        const strip = await makeDiffusionStrip(engine, request, {
          signal: options.signal,
          index: options.index,
          tileSide,
        });
        if (strip.png.length <= limit) return { data: strip.png, name: 'diffusion.png', caption: strip.caption };
        if (tileSide <= 32) throw new MediaTooLargeError('a diffusion strip', limit, strip.png.length);
      }
    },
    generateWithTimelapse(request, options = {}) {
      return film(request, options);
    },
  };
}

export function timelapseCaption(request: GenerateRequest, film: Timelapse): string {
  const between = film.frameSteps.length - 2;
  return `${film.frameSteps.length} frames: the starting static, the model's guess at the clean picture at ${between} of the ${request.sampler} sampler's ${film.totalSteps} steps, and the finished picture.`;
}
