// Seeded Gaussian noise: the same seed gives bit-identical Float32Arrays on the same Node/V8 build.
// PRNG: xoshiro128** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018),
// seeded through splitmix32 so that neighbouring seeds (seed, seed+1, ...) start far apart.
// Normals: Box-Muller (Box & Muller, 1958), both outputs of each pair used.
import type { NoiseSource } from './schedulers/types.ts';
import type { GenerateRequest } from './types.ts';
import { InvalidRequestError } from './errors.ts';

import { randomInt } from 'node:crypto';

export const MAX_SEED = 0xffffffff;

/** A random seed for a request that names none. */
export function randomSeed(): number {
  return randomInt(0, MAX_SEED);
}

/** A seed that is not an integer in [0, 2^32 - 1]. */
export class InvalidSeedError extends RangeError {
  constructor(readonly seed: unknown) {
    super(`expected a seed that is an integer between 0 and ${MAX_SEED}, got ${String(seed)}`);
    this.name = 'InvalidSeedError';
  }
}

/** A noise argument out of its domain (strength outside [0, 1], arrays of different lengths...). */
export class NoiseArgumentError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'NoiseArgumentError';
  }
}

function checkSeed(seed: number): number {
  if (!Number.isInteger(seed) || seed < 0 || seed > MAX_SEED) throw new InvalidSeedError(seed);
  return seed >>> 0;
}

const TWO_PI = 2 * Math.PI;
const INV_2_32 = 1 / 4294967296;

/**
 * One seeded stream of standard normals. Draws continue where the last one stopped, so a pipeline
 * can take the starting latent first and then the ancestral noise of every step from the same stream.
 */
export class NoiseStream {
  readonly seed: number;
  // xoshiro128** state
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;
  // Box-Muller makes normals in pairs; the second waits here.
  private spare = 0;
  private hasSpare = false;

  constructor(seed: number) {
    this.seed = checkSeed(seed);
    // splitmix32 expands the 32-bit seed into the 128-bit state (never all zero).
    let z = this.seed;
    const next = (): number => {
      z = (z + 0x9e3779b9) | 0;
      let x = z;
      x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
      x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
      return (x ^ (x >>> 16)) >>> 0;
    };
    this.s0 = next();
    this.s1 = next();
    this.s2 = next();
    this.s3 = next();
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next uniform 32-bit unsigned integer (xoshiro128**). */
  nextUint32(): number {
    const s1 = this.s1;
    const x = Math.imul(s1, 5);
    const result = Math.imul((x << 7) | (x >>> 25), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = (this.s3 << 11) | (this.s3 >>> 21);
    return result;
  }

  /** Uniform in (0, 1]: never 0, so log() in Box-Muller stays finite. */
  nextUniform(): number {
    return (this.nextUint32() + 1) * INV_2_32;
  }

  /** Fill `out[offset .. offset+length)` with standard normals; returns `out`. */
  fill(out: Float32Array, offset = 0, length = out.length - offset): Float32Array {
    if (offset < 0 || length < 0 || offset + length > out.length) {
      throw new NoiseArgumentError(`expected offset+length within ${out.length}, got ${offset}+${length}`);
    }
    let i = offset;
    const end = offset + length;
    if (this.hasSpare && i < end) {
      out[i++] = this.spare;
      this.hasSpare = false;
    }
    while (i < end) {
      const r = Math.sqrt(-2 * Math.log(this.nextUniform()));
      const theta = TWO_PI * this.nextUint32() * INV_2_32;
      out[i++] = r * Math.cos(theta);
      const second = r * Math.sin(theta);
      if (i < end) out[i++] = second;
      else {
        this.spare = second;
        this.hasSpare = true;
      }
    }
    return out;
  }

  /** A new array of `length` standard normals. */
  next(length: number): Float32Array {
    if (!Number.isInteger(length) || length < 0) throw new NoiseArgumentError(`expected a length >= 0, got ${length}`);
    return this.fill(new Float32Array(length));
  }
}

/** `length` standard normals from `seed` (the first draws of `new NoiseStream(seed)`). */
export function randn(seed: number, length: number): Float32Array {
  return new NoiseStream(seed).next(length);
}

/**
 * A scheduler NoiseSource for a batch: image k's slice of every draw comes from streams[k], so an image's
 * noise does not depend on how many images share its batch.
 */
export function batchNoiseSource(streams: readonly NoiseStream[], perImageLength: number): NoiseSource {
  return () => {
    const out = new Float32Array(streams.length * perImageLength);
    streams.forEach((stream, k) => stream.fill(out, k * perImageLength, perImageLength));
    return out;
  };
}

/**
 * Spherical interpolation between two noise tensors (Shoemake, 1985), t=0 gives a and t=1 gives b.
 * Unlike a straight mix it keeps the norm of unit-variance noise, so the result is still noise the
 * sampler expects. Near-parallel inputs (|cos| > 0.9995) fall back to linear interpolation.
 */
export function slerp(a: Float32Array, b: Float32Array, t: number): Float32Array {
  if (a.length !== b.length)
    throw new NoiseArgumentError(`expected arrays of equal length, got ${a.length} and ${b.length}`);
  if (!Number.isFinite(t)) throw new NoiseArgumentError(`expected a finite interpolation factor, got ${t}`);
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
  }
  const out = new Float32Array(a.length);
  const denom = Math.sqrt(na * nb);
  const cos = denom > 0 ? dot / denom : 1;
  let wa: number;
  let wb: number;
  if (Math.abs(cos) > 0.9995) {
    wa = 1 - t;
    wb = t;
  } else {
    const theta = Math.acos(cos);
    const sin = Math.sin(theta);
    wa = Math.sin((1 - t) * theta) / sin;
    wb = Math.sin(t * theta) / sin;
  }
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + wb * b[i];
  return out;
}

/** The noise of baseSeed with variationSeed's noise mixed in by slerp at `strength` (0 = base, 1 = variation). */
export function variationNoise(
  baseSeed: number,
  variationSeed: number,
  strength: number,
  length: number,
): Float32Array {
  if (!(strength >= 0 && strength <= 1))
    throw new NoiseArgumentError(`expected a variation strength between 0 and 1, got ${strength}`);
  return slerp(randn(baseSeed, length), randn(variationSeed, length), strength);
}

/**
 * Image `index` (0-based) of a request as a request of its own: its seed, and its variation seed, are the
 * ones the batch gave it, so it draws the same picture alone as it did in the batch.
 */
export function imageRequest(request: GenerateRequest, index: number): GenerateRequest {
  const { variation, ...rest } = request;
  return {
    ...rest,
    seed: (request.seed + index) >>> 0,
    count: 1,
    ...(variation ? { variation: { ...variation, seed: (variation.seed + index) >>> 0 } } : {}),
  };
}

/**
 * Each image's starting noise from its own seeded stream (slerped towards its variation's, when asked),
 * or the caller's `given` noise for all of them; the streams go on to give the per-step noise.
 */
export function startingNoise(
  request: Pick<GenerateRequest, 'variation'>,
  seeds: readonly number[],
  [channels, height, width]: readonly [number, number, number],
  given?: Float32Array,
): { streams: NoiseStream[]; noise: Float32Array } {
  const perImage = channels * height * width;
  const streams = seeds.map((s) => new NoiseStream(s));
  const noise = new Float32Array(seeds.length * perImage);
  streams.forEach((stream, i) => {
    let n = stream.next(perImage);
    if (request.variation)
      n = slerp(n, randn((request.variation.seed + i) >>> 0, perImage), request.variation.strength);
    noise.set(n, i * perImage);
  });
  if (!given) return { streams, noise };
  if (given.length !== noise.length) {
    const dims = `${seeds.length}×${channels}×${height}×${width}`;
    throw new InvalidRequestError(
      'latents',
      `expected starting latents of ${dims} = ${noise.length} values, got ${given.length}`,
    );
  }
  if (!given.every(Number.isFinite)) throw new InvalidRequestError('latents', 'expected finite starting latents');
  noise.set(given);
  return { streams, noise };
}
