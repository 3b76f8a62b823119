// The /diffusion picture: two labelled rows of the actual computation for one image.
// Forward (top, left to right): the finished clean latent noised with the model's own schedule at the
// sampler's timesteps, as the U-Net would see it, ending in static. Reverse (bottom, right to left): the
// sampler's predicted clean image (x0) at the same timesteps during the real run. Every tile goes through
// the model's VAE decoder; column t=0 is the finished image itself.
import sharp from 'sharp';
import { drawText, fillRect, measureText } from './bitmap-font.ts';
import { traceGeneration, type DenoiseTrace } from './trace.ts';
import { randn } from '../engine/noise.ts';
import { createScheduler } from '../engine/schedulers/index.ts';
import { displaySize, resizeTo } from './timelapse.ts';
import type { GenerateRequest, LatentEngine, RawImage } from '../engine/types.ts';

export interface DiffusionStripOptions {
  signal?: AbortSignal;
  /** Columns, the clean t=0 column included (default 6, 2..12; fewer when the run has fewer steps). */
  columns?: number;
  /** Short side of a tile in pixels (default 128). */
  tileSide?: number;
  /** Which image of a batch (default 0). */
  index?: number;
}

export interface StripColumn {
  /** Model timestep (0 for the clean column); rounded for display. */
  timestep: number;
  /** Sampler step index whose noise level this column shows (-1 for the clean column). */
  stepIndex: number;
  forward: RawImage;
  reverse: RawImage;
  /** The noised latent behind the forward tile, as the U-Net sees it. */
  forwardLatent: Float32Array;
}

export interface DiffusionStrip {
  png: Buffer;
  image: RawImage;
  /** Two plain-language sentences for the message. */
  caption: string;
  /** Left to right: t = 0, then growing timesteps up to the sampler's first (static). */
  columns: StripColumn[];
  tile: { width: number; height: number };
  /** Pixel rectangles of every tile, for checking the picture: rows[0] forward, rows[1] reverse. */
  tileRects: { x: number; y: number }[][];
}

export class DiffusionStripError extends RangeError {
  override name = 'DiffusionStripError';
}

const BACKGROUND = [24, 24, 28] as const;
const TEXT = [232, 232, 232] as const;
const DIM_TEXT = [160, 160, 170] as const;
const GAP = 8;

export const FORWARD_LABEL = 'forward: adding noise ->';
export const REVERSE_LABEL = '<- reverse: model removes noise';

/** Runs `request` (deterministic in seed and parameters) and draws its forward/reverse strip. */
export async function makeDiffusionStrip(
  engine: LatentEngine,
  request: GenerateRequest,
  options: DiffusionStripOptions = {},
): Promise<DiffusionStrip> {
  const index = options.index ?? 0;
  if (!Number.isInteger(index) || index < 0 || index >= request.count)
    throw new DiffusionStripError(`expected an image index between 0 and ${request.count - 1}, got ${index}`);
  const columns = options.columns ?? 6;
  if (!Number.isInteger(columns) || columns < 2 || columns > 12)
    throw new DiffusionStripError(`expected between 2 and 12 columns, got ${columns}`);
  const trace = await traceGeneration(engine, request, { signal: options.signal });
  return stripFromTrace(engine, trace, { ...options, index, columns });
}

/**
 * Sampler step indices for the noisy columns, growing in noise and ending at index 0 (the start, static):
 * evenly spaced in steps, skipping the last step, whose noise level (t near 0) looks like the clean column.
 */
export function columnStepIndices(total: number, noisyColumns: number): number[] {
  const n = Math.min(noisyColumns, total);
  const out = new Set<number>();
  for (let i = 1; i <= n; i++) out.add(Math.round(total * (1 - i / n)));
  return [...out].map((k) => Math.min(k, total - 1)).sort((a, b) => b - a);
}

export async function stripFromTrace(
  engine: LatentEngine,
  trace: DenoiseTrace,
  options: Required<Pick<DiffusionStripOptions, 'index' | 'columns'>> & DiffusionStripOptions,
): Promise<DiffusionStrip> {
  const { request } = trace;
  const { channels, height: lh, width: lw } = trace.latent;
  const per = channels * lh * lw;
  const i = options.index;
  const clean = trace.final.slice(i * per, (i + 1) * per);
  const finalImage = trace.result.images[i];

  const scheduler = createScheduler(request.sampler, engine.schedulerConfig);
  scheduler.setTimesteps(request.steps);
  const skipped = request.steps - trace.total; // img2img starts part-way
  // Fresh noise, independent of the run's own: the forward process is how training examples are made.
  const eps = randn(((request.seed + i) ^ 0x9e3779b9) >>> 0, per);
  const decodeOne = async (latent: Float32Array): Promise<RawImage> =>
    (await engine.decodeLatents(latent, 1, lh, lw))[0];

  const cols: StripColumn[] = [
    { timestep: 0, stepIndex: -1, forward: finalImage, reverse: finalImage, forwardLatent: clean },
  ];
  for (const k of columnStepIndices(trace.total, options.columns - 1)) {
    options.signal?.throwIfAborted();
    const k0 = skipped + k;
    const noisy = scheduler.scaleModelInput(scheduler.addNoise(clean, eps, k0), k0);
    const step = trace.steps.find((s) => s.step === k + 1);
    if (!step) throw new DiffusionStripError(`expected the trace to hold step ${k + 1}, but it was not recorded`);
    cols.push({
      timestep: Math.round(scheduler.timesteps[k0]),
      stepIndex: k0,
      forward: await decodeOne(noisy),
      reverse: await decodeOne(step.x0.slice(i * per, (i + 1) * per)),
      forwardLatent: noisy,
    });
  }
  const tileSide = options.tileSide ?? 128;
  const tile = displaySize(finalImage, tileSide);
  const { image, tileRects } = await compose(cols, tile);
  const png = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
  return {
    png,
    image,
    caption: stripCaption(request.sampler, trace.total, cols[cols.length - 1].timestep),
    columns: cols,
    tile,
    tileRects,
  };
}

export function stripCaption(sampler: string, steps: number, maxTimestep: number): string {
  return (
    `Top row: the finished picture with the model's own noise schedule added at growing timesteps t, until at t=${maxTimestep} only static is left; that is how the model's training examples are made. ` +
    `Bottom row, read right to left: what the model predicted the clean picture to be at those same timesteps while the ${sampler} sampler took ${steps} steps from static to this result.`
  );
}

async function compose(
  cols: StripColumn[],
  tile: { width: number; height: number },
): Promise<{ image: RawImage; tileRects: { x: number; y: number }[][] }> {
  const scale = tile.width >= 96 ? 2 : 1;
  const lineH = measureText('x', scale).height;
  const n = cols.length;
  const labelWidth = Math.max(measureText(FORWARD_LABEL, scale).width, measureText(REVERSE_LABEL, scale).width);
  const width = Math.max(GAP + n * (tile.width + GAP), labelWidth + 2 * GAP);
  // label, forward tiles, timestep labels, reverse tiles, label
  const yForwardLabel = GAP;
  const yForward = yForwardLabel + lineH + GAP;
  const yTimes = yForward + tile.height + GAP;
  const yReverse = yTimes + lineH + GAP;
  const yReverseLabel = yReverse + tile.height + GAP;
  const height = yReverseLabel + lineH + GAP;
  const image: RawImage = { width, height, data: new Uint8Array(width * height * 3) };
  fillRect(image, 0, 0, width, height, BACKGROUND);

  const rects: { x: number; y: number }[][] = [[], []];
  for (let c = 0; c < n; c++) {
    const x = GAP + c * (tile.width + GAP);
    const [fwd, rev] = await Promise.all([
      resizeTo(cols[c].forward, tile.width, tile.height),
      resizeTo(cols[c].reverse, tile.width, tile.height),
    ]);
    blit(image, fwd, x, yForward);
    blit(image, rev, x, yReverse);
    rects[0].push({ x, y: yForward });
    rects[1].push({ x, y: yReverse });
    const label = `t=${cols[c].timestep}`;
    const lw = measureText(label, scale).width;
    drawText(image, label, x + Math.max(0, Math.floor((tile.width - lw) / 2)), yTimes, scale, DIM_TEXT);
  }
  drawText(image, FORWARD_LABEL, GAP, yForwardLabel, scale, TEXT);
  const rw = measureText(REVERSE_LABEL, scale).width;
  drawText(image, REVERSE_LABEL, Math.max(GAP, width - GAP - rw), yReverseLabel, scale, TEXT);
  return { image, tileRects: rects };
}

function blit(dst: RawImage, src: RawImage, x: number, y: number): void {
  for (let row = 0; row < src.height; row++) {
    dst.data.set(src.data.subarray(row * src.width * 3, (row + 1) * src.width * 3), ((y + row) * dst.width + x) * 3);
  }
}
