// The training images and the feature spaces the evaluation ranks them in, L2 distance in both:
// - pooled: each 64x64 drawing composited on white, RGB in [0, 1], average-pooled to 16x16 (768 numbers); the
//   same filter, order and feature as training/prepare_data.py + sample.py: the Noto emoji, then the other
//   artists' drawings of them (training/styles.ts);
// - framed: the same after cropping to the square around the drawing (non-white pixels), so a picture drawn
//   smaller or off-centre is still compared shape for shape (the model is trained on such views for variety).
// Read straight from node_modules so a fresh clone needs no .work/.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RawImage } from '../src/engine/index.ts';
import { loadStyle, NOTO_STYLE, OTHER_STYLES } from './styles.ts';

export const FEATURE_SIDE = 16;
export const FEATURE_SIZE = FEATURE_SIDE * FEATURE_SIDE * 3;

export interface EmojiEntry {
  unified: string;
  image: string;
  category: string;
  subcategory: string;
  sort_order: number;
  has_img_google?: boolean;
}

export const FEATURES = ['pooled', 'framed'] as const;
export type FeatureName = (typeof FEATURES)[number];

export interface TrainingSet {
  /** Per drawing, the emoji it draws (a code appears once per style that has it). */
  codes: string[];
  /** Per drawing, its artist's style name (noto, fluent, flat, twemoji). */
  styles: string[];
  /** Per feature space, codes.length x FEATURE_SIZE, row-major. */
  features: Record<FeatureName, Float32Array>;
}

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** prepare_data.py's keep(): no components (skin-tone swatches), keycaps, country or subdivision flags. */
export function keepEmoji(e: EmojiEntry): boolean {
  if (e.category === 'Component') return false;
  if (e.subcategory === 'keycap' || e.subcategory === 'country-flag' || e.subcategory === 'subdivision-flag')
    return false;
  return !!e.has_img_google;
}

/** 64x64 (or any multiple of 16) RGB -> 16x16 average-pooled RGB in [0, 1]. */
export function imageFeature(img: RawImage): Float32Array {
  const { width, height, data } = img;
  if (width % FEATURE_SIDE !== 0 || height % FEATURE_SIDE !== 0 || data.length !== width * height * 3) {
    throw new DatasetError(
      `expected an RGB image with sides a multiple of ${FEATURE_SIDE}, got ${width}x${height} with ${data.length} bytes`,
    );
  }
  const bx = width / FEATURE_SIDE;
  const by = height / FEATURE_SIDE;
  const out = new Float32Array(FEATURE_SIZE);
  for (let y = 0; y < height; y++) {
    const fy = Math.floor(y / by);
    for (let x = 0; x < width; x++) {
      const f = (fy * FEATURE_SIDE + Math.floor(x / bx)) * 3;
      const p = (y * width + x) * 3;
      out[f] += data[p];
      out[f + 1] += data[p + 1];
      out[f + 2] += data[p + 2];
    }
  }
  const scale = 1 / (bx * by * 255);
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/** A pixel darker than this in some channel belongs to the drawing; lighter ones are the white ground. */
const INK = 240;

/** The square (x0, y0, side) around the image's non-white pixels, centred on them; the whole image when blank. */
export function drawingSquare(img: RawImage): { x0: number; y0: number; side: number } {
  const { width, height, data } = img;
  let minX = width,
    minY = height,
    maxX = -1,
    maxY = -1;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = (y * width + x) * 3;
      if (Math.min(data[p], data[p + 1], data[p + 2]) < INK) {
        if (x < minX) minX = x;
        if (x > maxX) maxX = x;
        if (y < minY) minY = y;
        if (y > maxY) maxY = y;
      }
    }
  }
  if (maxX < 0) return { x0: 0, y0: 0, side: Math.max(width, height) };
  const side = Math.max(maxX - minX, maxY - minY) + 1;
  return { x0: (minX + maxX + 1 - side) / 2, y0: (minY + maxY + 1 - side) / 2, side };
}

/** The drawing's square resampled to 16x16 RGB in [0, 1] (8x8 point samples a cell; outside the image is white). */
export function framedFeature(img: RawImage): Float32Array {
  const { width, height, data } = img;
  if (data.length !== width * height * 3)
    throw new DatasetError(`expected an RGB image, got ${width}x${height} with ${data.length} bytes`);
  const { x0, y0, side } = drawingSquare(img);
  const S = 8;
  const step = side / (FEATURE_SIDE * S);
  const out = new Float32Array(FEATURE_SIZE);
  for (let fy = 0; fy < FEATURE_SIDE; fy++) {
    for (let fx = 0; fx < FEATURE_SIDE; fx++) {
      const f = (fy * FEATURE_SIDE + fx) * 3;
      for (let sy = 0; sy < S; sy++) {
        const y = Math.floor(y0 + (fy * S + sy + 0.5) * step);
        for (let sx = 0; sx < S; sx++) {
          const x = Math.floor(x0 + (fx * S + sx + 0.5) * step);
          if (x < 0 || y < 0 || x >= width || y >= height) {
            out[f] += 255;
            out[f + 1] += 255;
            out[f + 2] += 255;
          } else {
            const p = (y * width + x) * 3;
            out[f] += data[p];
            out[f + 1] += data[p + 1];
            out[f + 2] += data[p + 2];
          }
        }
      }
    }
  }
  const scale = 1 / (S * S * 255);
  for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

export const featureOf: Record<FeatureName, (img: RawImage) => Float32Array> = {
  pooled: imageFeature,
  framed: framedFeature,
};

/** The kept entries of node_modules/emoji-datasource-google, in prepare_data.py's order. */
export async function keptEmoji(root: string): Promise<EmojiEntry[]> {
  const ds = join(root, 'node_modules', 'emoji-datasource-google');
  let list: EmojiEntry[];
  try {
    list = JSON.parse(await readFile(join(ds, 'emoji.json'), 'utf8')) as EmojiEntry[];
  } catch (error) {
    throw new DatasetError(
      `expected ${join(ds, 'emoji.json')} (npm ci installs emoji-datasource-google), got ${(error as Error).message}`,
    );
  }
  return list.filter(keepEmoji).sort((a, b) => a.sort_order - b.sort_order);
}

/** Loads every drawing of the kept emoji: the Noto PNGs, then each other style's SVGs (about 6,400, 30 s). */
export async function loadTrainingSet(root: string): Promise<TrainingSet> {
  const ds = join(root, 'node_modules', 'emoji-datasource-google');
  const kept = await keptEmoji(root);
  const codes = kept.map((e) => e.unified);
  const drawings: { code: string; style: string; img: RawImage }[] = [];
  for (const e of kept) {
    const { data, info } = await sharp(join(ds, 'img', 'google', '64', e.image))
      .resize(64, 64, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    drawings.push({ code: e.unified, style: NOTO_STYLE, img: { width: info.width, height: info.height, data } });
  }
  for (const style of OTHER_STYLES) {
    const images = await loadStyle(root, style, codes, 64);
    images.forEach((img, i) => img && drawings.push({ code: codes[i], style: style.name, img }));
  }
  const features = Object.fromEntries(
    FEATURES.map((name) => [name, new Float32Array(drawings.length * FEATURE_SIZE)]),
  ) as Record<FeatureName, Float32Array>;
  drawings.forEach(({ img }, i) => {
    for (const name of FEATURES) features[name].set(featureOf[name](img), i * FEATURE_SIZE);
  });
  return { codes: drawings.map((d) => d.code), styles: drawings.map((d) => d.style), features };
}

/** Indices of the training images nearest to `feature` in one feature space, closest first (k of them). */
export function nearest(set: TrainingSet, feature: Float32Array, k: number, space: FeatureName = 'pooled'): number[] {
  const n = set.codes.length;
  const features = set.features[space];
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    const base = i * FEATURE_SIZE;
    for (let j = 0; j < FEATURE_SIZE; j++) {
      const diff = features[base + j] - feature[j];
      d += diff * diff;
    }
    dist[i] = d;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => dist[a] - dist[b]);
  return order.slice(0, k);
}

/** The k emoji whose nearest drawings are closest to `feature`, closest first: drawings counted by concept. */
export function nearestConcepts(
  set: TrainingSet,
  feature: Float32Array,
  k: number,
  space: FeatureName = 'pooled',
): string[] {
  const out: string[] = [];
  for (const i of nearest(set, feature, set.codes.length, space)) {
    if (!out.includes(set.codes[i])) out.push(set.codes[i]);
    if (out.length === k) break;
  }
  return out;
}

/** RMS difference of two same-sized RGB images, on a 0..1 scale. */
export function rmsDifference(a: RawImage, b: RawImage): number {
  if (a.data.length !== b.data.length)
    throw new DatasetError(`expected images of one size, got ${a.width}x${a.height} and ${b.width}x${b.height}`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = (a.data[i] - b.data[i]) / 255;
    s += d * d;
  }
  return Math.sqrt(s / a.data.length);
}
