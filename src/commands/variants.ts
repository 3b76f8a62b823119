// How a button turns a stored job into a new request. Only the stored record is trusted: the
// custom_id names the job and (for U/V) an image index, nothing else.
//
// Decisions (documented in /help and the README):
//  - 🔄 reroll: same parameters, new seed. On a variation, the base stays and the variation seed
//    is new (that is the randomness the user saw). Under a picked image it makes one image.
//  - Vary (Subtle) / Vary (Strong): one image, base seed = that image's seed, a new variation seed
//    mixed in at strength 0.2 / 0.55.
//  - Vn on a grid: like Vary (Strong) on image n (Midjourney's V buttons default to strong too).
//  - Varying a variation keeps its base seed and draws a fresh variation seed (an approximation;
//    the engine mixes exactly one variation seed).
import type { GenerateRequest } from '../engine/types.ts';
import { imageRequest } from '../engine/noise.ts';
import type { JobRecord } from '../queue/index.ts';
import { InvalidOptionError } from '../discord/errors.ts';

export const SUBTLE_STRENGTH = 0.2;
export const STRONG_STRENGTH = 0.55;

export function imageCount(job: JobRecord): number {
  return job.result?.images.length ?? job.request.count;
}

/** The seed image n (1-based) of a job was made from. */
export function seedOf(job: JobRecord, index: number): number {
  const count = imageCount(job);
  if (!Number.isInteger(index) || index < 1 || index > count) {
    throw new InvalidOptionError(
      `This result has ${count} image${count === 1 ? '' : 's'}; there is no image ${index}.`,
    );
  }
  return job.result?.seeds[index - 1] ?? (job.request.seed + index - 1) >>> 0;
}

export function rerollRequest(parent: JobRecord, newSeed: number, index?: number): GenerateRequest {
  const base = parent.request;
  if (base.variation) return { ...base, count: 1, variation: { ...base.variation, seed: newSeed } };
  const { variation: _drop, ...rest } = base;
  return { ...rest, seed: newSeed, count: index === undefined ? base.count : 1 };
}

export function variationRequest(parent: JobRecord, index: number, newSeed: number, strength: number): GenerateRequest {
  const seed = seedOf(parent, index);
  return { ...parent.request, seed, count: 1, variation: { seed: newSeed, strength } };
}

/**
 * The request that makes exactly image `index` (1-based) of `parent`, alone (the engine's imageRequest: image
 * i of a batch is seed + i with variation seed + i), so one image costs one image's work and comes out the
 * same. Without an index: the whole request, as posted (a grid stays a grid).
 */
export function singleImageRequest(parent: JobRecord, index?: number): GenerateRequest {
  if (index === undefined) return structuredClone(parent.request);
  seedOf(parent, index);
  return imageRequest(structuredClone(parent.request), index - 1);
}
