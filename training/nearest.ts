// The training images and the feature space the evaluation ranks them in: each 64x64 emoji composited on
// white, RGB in [0, 1], average-pooled to 16x16 (768 numbers), L2 distance. Same filter, order and feature
// as training/prepare_data.py + sample.py, read straight from node_modules so a fresh clone needs no .work/.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RawImage } from '../src/engine/index.ts';

export const FEATURE_SIDE = 16;
export const FEATURE_SIZE = FEATURE_SIDE * FEATURE_SIDE * 3;

interface EmojiEntry {
  unified: string;
  image: string;
  category: string;
  subcategory: string;
  sort_order: number;
  has_img_google?: boolean;
}

export interface TrainingSet {
  codes: string[];
  /** codes.length x FEATURE_SIZE, row-major. */
  features: Float32Array;
}

export class DatasetError extends Error {
  override name = 'DatasetError';
}

/** prepare_data.py's keep(): no components (skin-tone swatches), keycaps, country or subdivision flags. */
export function keepEmoji(e: EmojiEntry): boolean {
  if (e.category === 'Component') return false;
  if (e.subcategory === 'keycap' || e.subcategory === 'country-flag' || e.subcategory === 'subdivision-flag') return false;
  return !!e.has_img_google;
}

/** 64x64 (or any multiple of 16) RGB -> 16x16 average-pooled RGB in [0, 1]. */
export function imageFeature(img: RawImage): Float32Array {
  const { width, height, data } = img;
  if (width % FEATURE_SIDE !== 0 || height % FEATURE_SIDE !== 0 || data.length !== width * height * 3) {
    throw new DatasetError(`expected an RGB image with sides a multiple of ${FEATURE_SIDE}, got ${width}x${height} with ${data.length} bytes`);
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

/** Loads the kept emoji from node_modules/emoji-datasource-google (about 1,600 PNGs, a few seconds). */
export async function loadTrainingSet(root: string): Promise<TrainingSet> {
  const ds = join(root, 'node_modules', 'emoji-datasource-google');
  let list: EmojiEntry[];
  try {
    list = JSON.parse(await readFile(join(ds, 'emoji.json'), 'utf8')) as EmojiEntry[];
  } catch (error) {
    throw new DatasetError(`expected ${join(ds, 'emoji.json')} (npm ci installs emoji-datasource-google), got ${(error as Error).message}`);
  }
  const kept = list.filter(keepEmoji).sort((a, b) => a.sort_order - b.sort_order);
  const features = new Float32Array(kept.length * FEATURE_SIZE);
  for (let i = 0; i < kept.length; i++) {
    const { data, info } = await sharp(join(ds, 'img', 'google', '64', kept[i].image))
      .resize(64, 64, { fit: 'fill', kernel: 'lanczos3' })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    features.set(imageFeature({ width: info.width, height: info.height, data }), i * FEATURE_SIZE);
  }
  return { codes: kept.map((e) => e.unified), features };
}

/** Indices of the training images nearest to `feature`, closest first (k of them). */
export function nearest(set: TrainingSet, feature: Float32Array, k: number): number[] {
  const n = set.codes.length;
  const dist = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let d = 0;
    const base = i * FEATURE_SIZE;
    for (let j = 0; j < FEATURE_SIZE; j++) {
      const diff = set.features[base + j] - feature[j];
      d += diff * diff;
    }
    dist[i] = d;
  }
  const order = Array.from({ length: n }, (_, i) => i);
  order.sort((a, b) => dist[a] - dist[b]);
  return order.slice(0, k);
}

/** RMS difference of two same-sized RGB images, on a 0..1 scale. */
export function rmsDifference(a: RawImage, b: RawImage): number {
  if (a.data.length !== b.data.length) throw new DatasetError(`expected images of one size, got ${a.width}x${a.height} and ${b.width}x${b.height}`);
  let s = 0;
  for (let i = 0; i < a.data.length; i++) {
    const d = (a.data[i] - b.data[i]) / 255;
    s += d * d;
  }
  return Math.sqrt(s / a.data.length);
}
