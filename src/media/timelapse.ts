// A denoising timelapse: the starting noise, the sampler's predicted clean image after evenly spaced steps,
// and the finished image, as one animated WebP that fits an attachment size limit.
//
// Frames are x0 predictions decoded by the model's real VAE decoder, not the cheap step previews: the
// preview map is latent-sized with its own colours, so the film would jump at the final frame. The last
// frame is the pipeline's own result (the posted image), not a re-decode.
import sharp from 'sharp';
import { makeGrid } from '../engine/images.ts';
import { MediaTooLargeError } from './errors.ts';
import { samplerTimesteps, traceGeneration, type DenoiseTrace } from './trace.ts';
import type { GenerateRequest, GenerateResult, LatentEngine, RawImage, StepProgress } from '../engine/types.ts';

export interface TimelapseOptions {
  signal?: AbortSignal;
  /** Most frames, the static and the final image included (default 24, at least 2). */
  maxFrames?: number;
  /** Short side of a frame in pixels (default 512); small models are enlarged by whole pixels. */
  displaySide?: number;
  /** The WebP must not be larger than this (default 10 MiB, Discord's attachment limit). */
  byteLimit?: number;
  /** WebP quality 1..100 (default 70). */
  quality?: number;
  /** Film only this image of a batch (0-based); by default the whole batch as one grid, as posted. */
  index?: number;
}

export interface Timelapse {
  webp: Buffer;
  /** What each frame shows: 0 = the starting noise, n = x0 after step n, total + 1 = the final image. */
  frameSteps: number[];
  width: number;
  height: number;
  /** Sampler steps of the run. */
  totalSteps: number;
}

export const TIMELAPSE_DEFAULTS = {
  maxFrames: 24,
  displaySide: 512,
  byteLimit: 10 * 1024 * 1024,
  quality: 70,
} as const;
const MIN_SIDE = 64;
const MIN_FRAMES_BEFORE_SHRINKING = 8;
const FIRST_MS = 500;
const FRAME_MS = 150;
const HOLD_MS = 2500;

/**
 * Runs `request` (deterministic in its seed and parameters, so a stored job's run is repeated exactly),
 * records its steps and makes the film. `result` is what generate() would have returned.
 */
export async function makeTimelapse(
  engine: LatentEngine,
  request: GenerateRequest,
  options: TimelapseOptions & { onStep?: (p: StepProgress) => void; previews?: boolean } = {},
): Promise<Timelapse & { result: GenerateResult }> {
  const maxFrames = options.maxFrames ?? TIMELAPSE_DEFAULTS.maxFrames;
  if (!Number.isInteger(maxFrames) || maxFrames < 2)
    throw new RangeError(`expected maxFrames to be an integer >= 2, got ${maxFrames}`);
  // Steps are known before the run, so only the x0s that can be shown are kept.
  const keepSteps = new Set(pickSteps(samplerTimesteps(engine.schedulerConfig, request).length, maxFrames));
  const trace = await traceGeneration(engine, request, {
    signal: options.signal,
    onStep: options.onStep,
    previews: options.previews,
    keepSteps,
  });
  const frames = await timelapseFrames(engine, trace, maxFrames, options.index);
  return { ...(await encodeTimelapse(frames, trace.total, options)), result: trace.result };
}

/**
 * The x0 steps worth showing between the static and the final image: at most maxFrames - 2 of steps
 * 1..total-1, evenly spaced (step `total`'s x0 is the final image itself, shown as the last frame).
 */
export function pickSteps(total: number, maxFrames: number): number[] {
  const room = maxFrames - 2;
  const candidates = total - 1;
  if (room <= 0 || candidates <= 0) return [];
  if (candidates <= room) return Array.from({ length: candidates }, (_, i) => i + 1);
  const picked = new Set<number>();
  for (let i = 0; i < room; i++) picked.add(1 + Math.round((i * (candidates - 1)) / Math.max(1, room - 1)));
  return [...picked].sort((a, b) => a - b);
}

export interface Frame {
  /** 0 = starting noise, n = x0 after step n, total + 1 = the final image. */
  step: number;
  image: RawImage;
}

/**
 * Decodes the trace into frames at the model's output size: static, x0 at picked steps, the final image.
 * `index` films one image of a batch; by default frames are grids of the whole batch, as it was posted.
 */
export async function timelapseFrames(
  engine: LatentEngine,
  trace: DenoiseTrace,
  maxFrames: number,
  index?: number,
): Promise<Frame[]> {
  const { channels, height: lh, width: lw } = trace.latent;
  const count = trace.request.count;
  if (index !== undefined && !(Number.isInteger(index) && index >= 0 && index < count))
    throw new RangeError(`expected an image index between 0 and ${count - 1}, got ${index}`);
  const per = channels * lh * lw;
  const decode = async (latents: Float32Array): Promise<RawImage> =>
    index === undefined
      ? makeGrid(await engine.decodeLatents(latents, count, lh, lw))
      : (await engine.decodeLatents(latents.subarray(index * per, (index + 1) * per), 1, lh, lw))[0];
  const wanted = new Set(pickSteps(trace.total, maxFrames));
  const frames: Frame[] = [{ step: 0, image: await decode(trace.start) }];
  for (const s of trace.steps) if (wanted.has(s.step)) frames.push({ step: s.step, image: await decode(s.x0) });
  frames.push({
    step: trace.total + 1,
    image: index === undefined ? makeGrid(trace.result.images) : trace.result.images[index],
  });
  return frames;
}

/** Encodes frames as a looping animated WebP, dropping frames and then shrinking until it fits byteLimit. */
export async function encodeTimelapse(
  frames: Frame[],
  totalSteps: number,
  options: TimelapseOptions = {},
): Promise<Timelapse> {
  if (frames.length < 2) throw new RangeError(`expected at least 2 frames, got ${frames.length}`);
  const limit = options.byteLimit ?? TIMELAPSE_DEFAULTS.byteLimit;
  const quality = options.quality ?? TIMELAPSE_DEFAULTS.quality;
  const last = frames[frames.length - 1].image;
  let side = options.displaySide ?? TIMELAPSE_DEFAULTS.displaySide;
  let n = frames.length;
  for (;;) {
    options.signal?.throwIfAborted();
    const shown = thin(frames, n);
    const { width, height } = displaySize(last, side);
    const webp = await encodeAnimatedWebp(
      await Promise.all(shown.map((f) => resizeTo(f.image, width, height))),
      delays(shown.length),
      quality,
    );
    if (webp.length <= limit) return { webp, frameSteps: shown.map((f) => f.step), width, height, totalSteps };
    const ratio = limit / webp.length;
    if (n > MIN_FRAMES_BEFORE_SHRINKING) n = Math.max(MIN_FRAMES_BEFORE_SHRINKING, Math.floor(n * ratio * 0.9));
    else if (Math.min(width, height) > MIN_SIDE) side = Math.max(MIN_SIDE, Math.floor(side * Math.sqrt(ratio) * 0.9));
    else if (n > 2) n = Math.max(2, Math.floor(n * ratio * 0.9));
    else throw new MediaTooLargeError('a timelapse (2 frames at the smallest size)', limit, webp.length);
  }
}

/** n frames of `frames`, evenly spaced, always keeping the first (static) and the last (final image). */
export function thin<T>(frames: readonly T[], n: number): T[] {
  if (n >= frames.length) return [...frames];
  if (n < 2) throw new RangeError(`expected to keep at least 2 frames, got ${n}`);
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(frames[Math.round((i * (frames.length - 1)) / (n - 1))]);
  return out;
}

function delays(n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? FIRST_MS : i === n - 1 ? HOLD_MS : FRAME_MS));
}

/** Frame size for a short side of `side`: whole-pixel enlargement for small images (crisp), else a plain resize. */
export function displaySize(image: RawImage, side: number): { width: number; height: number } {
  const short = Math.min(image.width, image.height);
  if (short <= side) {
    const factor = Math.max(1, Math.floor(side / short));
    return { width: image.width * factor, height: image.height * factor };
  }
  const scale = side / short;
  return { width: Math.max(1, Math.round(image.width * scale)), height: Math.max(1, Math.round(image.height * scale)) };
}

/** Resizes RGB to exactly width x height: nearest when enlarging (crisp pixels), lanczos when shrinking. */
export async function resizeTo(image: RawImage, width: number, height: number): Promise<RawImage> {
  if (image.width === width && image.height === height) return image;
  const enlarging = width >= image.width && height >= image.height;
  const { data } = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(width, height, { fit: 'fill', kernel: enlarging ? 'nearest' : 'lanczos3' })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** Same-size RGB frames -> looping animated WebP (frames stacked vertically, one page each). */
export async function encodeAnimatedWebp(
  frames: readonly RawImage[],
  delayMs: readonly number[],
  quality: number,
): Promise<Buffer> {
  const { width, height } = frames[0];
  const frameBytes = width * height * 3;
  const strip = Buffer.alloc(frameBytes * frames.length);
  frames.forEach((f, i) => {
    if (f.width !== width || f.height !== height)
      throw new RangeError(`expected every frame to be ${width}x${height}, got ${f.width}x${f.height}`);
    strip.set(f.data, i * frameBytes);
  });
  return sharp(strip, { raw: { width, height: height * frames.length, channels: 3, pageHeight: height } })
    .webp({ quality, effort: 2, loop: 0, delay: [...delayMs] })
    .toBuffer();
}
