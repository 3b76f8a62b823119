// The safety checker optimum exports with Stable Diffusion (diffusers' StableDiffusionSafetyChecker: CLIP
// vision features against concept embeddings and their thresholds). Images are prepared as its
// feature_extractor/preprocessor_config.json says (CLIPImageProcessor: shortest edge, centre crop, rescale,
// normalise); only `has_nsfw_concepts` is read: what a flagged image becomes is the bot's choice, not black.
import sharp from 'sharp';
import { join } from 'node:path';
import { readOptionalJson } from './model-config.ts';
import { floatTensor, type ModelSession, type RunClock } from './session.ts';
import type { RawImage } from './types.ts';

/** With a checker, a preview costs a CLIP pass: one a second is plenty for edits paced at 1.5 s. */
export const SAFETY_PREVIEW_MS = 1000;

/** Whether a step's preview is made: always without an interval, else the first, one per interval, and the last. */
export function previewGate(intervalMs: number): (last: boolean) => boolean {
  let shownAt = Number.NEGATIVE_INFINITY;
  return (last) => {
    const now = performance.now();
    if (intervalMs > 0 && !last && now - shownAt < intervalMs) return false;
    shownAt = now;
    return true;
  };
}

export interface ClipPreprocess {
  shortestEdge: number;
  cropHeight: number;
  cropWidth: number;
  mean: [number, number, number];
  std: [number, number, number];
}

/** feature_extractor/preprocessor_config.json, with CLIP's own values where it is silent. */
export function readClipPreprocess(root: string): ClipPreprocess {
  const c = readOptionalJson(join(root, 'feature_extractor', 'preprocessor_config.json'));
  const size = c.size as { shortest_edge?: number } | number | undefined;
  const crop = c.crop_size as { height?: number; width?: number } | number | undefined;
  const edge = typeof size === 'number' ? size : (size?.shortest_edge ?? 224);
  const triple = (v: unknown, fallback: [number, number, number]) =>
    Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number')
      ? (v as [number, number, number])
      : fallback;
  return {
    shortestEdge: edge,
    cropHeight: typeof crop === 'number' ? crop : (crop?.height ?? edge),
    cropWidth: typeof crop === 'number' ? crop : (crop?.width ?? edge),
    mean: triple(c.image_mean, [0.48145466, 0.4578275, 0.40821073]),
    std: triple(c.image_std, [0.26862954, 0.26130258, 0.27577711]),
  };
}

export class SafetyChecker {
  constructor(
    private readonly session: ModelSession,
    readonly preprocess: ClipPreprocess,
  ) {
    session.requireInput('clip_input');
    session.requireInput('images');
    session.pickOutput('has_nsfw_concepts');
  }

  /** One flag per image: true when the checker finds a concept over its threshold. */
  async check(images: readonly RawImage[], clock: RunClock = { sessionRunMs: 0 }): Promise<boolean[]> {
    if (images.length === 0) return [];
    const { cropHeight: h, cropWidth: w } = this.preprocess;
    const clip = new Float32Array(images.length * 3 * h * w);
    for (const [i, image] of images.entries()) clip.set(await this.clipInput(image), i * 3 * h * w);
    return this.checkPrepared(clip, images.length, clock);
  }

  /** CLIPImageProcessor: bicubic resize of the shortest edge, centre crop, /255, (x - mean) / std, planar. */
  async clipInput(image: RawImage): Promise<Float32Array> {
    const { shortestEdge, cropHeight: h, cropWidth: w, mean, std } = this.preprocess;
    const scale = shortestEdge / Math.min(image.width, image.height);
    const rw = Math.max(w, Math.round(image.width * scale));
    const rh = Math.max(h, Math.round(image.height * scale));
    const rgb = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
      .resize(rw, rh, { kernel: 'cubic', fit: 'fill' })
      .extract({ left: Math.floor((rw - w) / 2), top: Math.floor((rh - h) / 2), width: w, height: h })
      .raw()
      .toBuffer();
    const planar = new Float32Array(3 * h * w);
    for (let p = 0; p < h * w; p++)
      for (let c = 0; c < 3; c++) planar[c * h * w + p] = (rgb[p * 3 + c] / 255 - mean[c]) / std[c];
    return planar;
  }

  /** The verdict on CLIP inputs already prepared ([count, 3, h, w]). */
  async checkPrepared(clip: Float32Array, count: number, clock: RunClock = { sessionRunMs: 0 }): Promise<boolean[]> {
    const { cropHeight: h, cropWidth: w } = this.preprocess;
    const type = (name: string) => this.session.requireInput(name).type;
    // The export blacks out flagged `images` in its first output, which is not used: one pixel each will do.
    const out = await this.session.run(
      {
        clip_input: floatTensor(clip, [count, 3, h, w], type('clip_input')),
        images: floatTensor(new Float32Array(count * 3), [count, 1, 1, 3], type('images')),
      },
      clock,
    );
    const flags = out[this.session.pickOutput('has_nsfw_concepts').name].data as ArrayLike<boolean | number>;
    return Array.from({ length: count }, (_, i) => Boolean(flags[i]));
  }
}
