// Cheap step previews: the predicted clean latent mapped to RGB by a fixed linear map (or a TAESD decoder).
import type { RawImage } from './types.ts';

/**
 * x0 of one image, [channels, h, w] as the sampler sees it (scaled), to an h x w RGB image.
 * rgb = factors^T * latent + bias, read as [-1, 1].
 */
export function latentToRgb(
  latent: Float32Array,
  offset: number,
  channels: number,
  h: number,
  w: number,
  factors: readonly (readonly number[])[],
  bias: readonly number[],
): RawImage {
  const plane = h * w;
  const data = new Uint8Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    let r = bias[0];
    let g = bias[1];
    let b = bias[2];
    for (let c = 0; c < channels; c++) {
      const v = latent[offset + c * plane + p];
      const f = factors[c];
      r += v * f[0];
      g += v * f[1];
      b += v * f[2];
    }
    data[p * 3] = toByte(r);
    data[p * 3 + 1] = toByte(g);
    data[p * 3 + 2] = toByte(b);
  }
  return { width: w, height: h, data };
}

/** [-1, 1] -> 0..255, clamped and rounded. */
export function toByte(v: number): number {
  const x = Math.round((v + 1) * 127.5);
  return x < 0 ? 0 : Math.min(x, 255);
}

/** Planar [count, 3, h, w] in [-1, 1] (a decoder's output) to one RawImage per image. */
export function planarToImages(data: Float32Array, count: number, h: number, w: number): RawImage[] {
  const plane = h * w;
  const images: RawImage[] = [];
  for (let n = 0; n < count; n++) {
    const base = n * 3 * plane;
    const out = new Uint8Array(plane * 3);
    // A clamped view rounds and clamps in the store itself (NaN -> 0), several times faster than toByte.
    const clamped = new Uint8ClampedArray(out.buffer);
    for (let k = 0; k < 3; k++) {
      const src = base + k * plane;
      for (let p = 0, o = k; p < plane; p++, o += 3) clamped[o] = (data[src + p] + 1) * 127.5;
    }
    images.push({ width: w, height: h, data: out });
  }
  return images;
}

/** RGB bytes to planar [1, 3, h, w] in [-1, 1] (a VAE encoder's input). */
export function imageToPlanar(image: RawImage): Float32Array {
  const plane = image.width * image.height;
  const out = new Float32Array(plane * 3);
  for (let p = 0; p < plane; p++) {
    for (let k = 0; k < 3; k++) out[k * plane + p] = image.data[p * 3 + k] / 127.5 - 1;
  }
  return out;
}
