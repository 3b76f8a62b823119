// The one request policy: the ranges a request's fields may take (the engine's own limits merged with a
// server's settings), the check every submit passes, and the fitting of what a user left to defaults
// under those settings. The commands, the queue and the CLI ask this module; nobody else holds a range.
import { MAX_SEED } from '../engine/noise.ts';
import { SAMPLERS, type GenerateRequest, type SamplerName } from '../engine/types.ts';
import { DEFAULT_LIMITS } from '../engine/validate.ts';
import type { GuildSettings } from './settings.ts';

/** Characters a prompt may have (Discord's option cap; the engine allows more). */
export const MAX_PROMPT_CHARS = 1000;
/** Characters a negative prompt may have. */
export const MAX_NEGATIVE_CHARS = 500;

/** Every range a request field may take anywhere, before any server lowers it. */
export const REQUEST_RANGES = {
  steps: [1, DEFAULT_LIMITS.maxSteps],
  count: [1, DEFAULT_LIMITS.maxCount],
  guidance: [0, DEFAULT_LIMITS.maxGuidance],
  seed: [0, MAX_SEED],
} as const satisfies Record<string, readonly [number, number]>;

export type RangedField = keyof typeof REQUEST_RANGES;

/** What one server allows: the engine's limits merged with its settings. */
export interface RequestPolicy {
  maxSteps: number;
  maxCount: number;
  maxSide: number;
  maxGuidance: number;
  samplers: readonly SamplerName[];
}

export function policyFor(
  settings: Pick<GuildSettings, 'maxSteps' | 'maxCount' | 'maxSide' | 'allowedSamplers'>,
): RequestPolicy {
  return {
    maxSteps: Math.min(settings.maxSteps, DEFAULT_LIMITS.maxSteps),
    maxCount: Math.min(settings.maxCount, DEFAULT_LIMITS.maxCount),
    maxSide: settings.maxSide,
    maxGuidance: DEFAULT_LIMITS.maxGuidance,
    samplers: settings.allowedSamplers,
  };
}

/** The field a value is out of range for, or undefined when every ranged field is within REQUEST_RANGES. */
export function outOfRange(values: Partial<Record<RangedField, number>>): RangedField | undefined {
  for (const [field, [min, max]] of Object.entries(REQUEST_RANGES) as [RangedField, readonly [number, number]][]) {
    const v = values[field];
    if (v !== undefined && !(v >= min && v <= max)) return field;
  }
  return undefined;
}

/** A request field the policy refuses: which, and a sentence for the user. */
export interface ParamProblem {
  field: string;
  message: string;
}

const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);

/** The first problem with the request under the server's policy, or undefined. */
export function paramProblem(policy: RequestPolicy, r: GenerateRequest): ParamProblem | undefined {
  const problem = (field: string, message: string) => ({ field, message });
  if (typeof r.prompt !== 'string' || r.prompt.trim() === '')
    return problem('prompt', 'expected a prompt, got an empty one');
  if (r.prompt.length > MAX_PROMPT_CHARS) {
    return problem('prompt', `expected a prompt of at most ${MAX_PROMPT_CHARS} characters, got ${r.prompt.length}`);
  }
  if (!isInt(r.steps) || r.steps < 1 || r.steps > policy.maxSteps) {
    return problem('steps', `expected steps between 1 and ${policy.maxSteps}, got ${r.steps}`);
  }
  if (!isInt(r.count) || r.count < 1 || r.count > policy.maxCount) {
    return problem('count', `expected count between 1 and ${policy.maxCount}, got ${r.count}`);
  }
  for (const side of ['width', 'height'] as const) {
    const v = r[side];
    if (!isInt(v) || v < 8 || v % 8 !== 0)
      return problem(side, `expected ${side} to be a multiple of 8 of at least 8, got ${v}`);
    // A stored job re-run after the limit was lowered: said in the image's terms, not a field's.
    if (v > policy.maxSide) {
      const size = `${r.width}×${r.height}`;
      return problem(
        side,
        `this image is ${size}, over this server's ${policy.maxSide} px limit for a side; make a new one with /imagine`,
      );
    }
  }
  if (!(SAMPLERS as readonly string[]).includes(r.sampler)) {
    return problem('sampler', `expected a sampler from ${SAMPLERS.join(', ')}, got ${r.sampler}`);
  }
  if (!policy.samplers.includes(r.sampler)) {
    return problem(
      'sampler',
      `the ${r.sampler} sampler is not allowed here; expected one of ${policy.samplers.join(', ')}`,
    );
  }
  const [, maxSeed] = REQUEST_RANGES.seed;
  if (!isInt(r.seed) || r.seed < 0 || r.seed > maxSeed)
    return problem('seed', `expected a seed between 0 and ${maxSeed}, got ${r.seed}`);
  if (
    typeof r.guidance !== 'number' ||
    !Number.isFinite(r.guidance) ||
    r.guidance < 0 ||
    r.guidance > policy.maxGuidance
  ) {
    return problem('guidance', `expected guidance between 0 and ${policy.maxGuidance}, got ${r.guidance}`);
  }
  if (r.variation && (!isInt(r.variation.seed) || !(r.variation.strength >= 0 && r.variation.strength <= 1))) {
    return problem(
      'variation',
      `expected a variation seed and a strength between 0 and 1, got ${JSON.stringify(r.variation)}`,
    );
  }
  if (r.init && !(r.init.strength > 0 && r.init.strength <= 1)) {
    return problem('init', `expected an init strength above 0 and at most 1, got ${r.init.strength}`);
  }
  return undefined;
}

/** Which of a request's values the user chose (the rest were defaults the policy may adjust). */
export interface GivenFields {
  steps: boolean;
  sampler: boolean;
  /** The multiple the model's sides must be (its size rule); a size fitted under max_side is floored to it. Default 8. */
  sizeMultiple?: number;
}

/**
 * Fits what the user left to us under the server's policy, so a default is never what gets them
 * refused: the default steps under max_steps, the default sampler to one the server allows, and the size
 * of an aspect ratio under max_side (the long side at or under the limit, multiples of the model's, the ratio kept).
 */
export function fitDefaults(request: GenerateRequest, given: GivenFields, policy: RequestPolicy): GenerateRequest {
  const fitted = { ...request };
  if (!given.steps) fitted.steps = Math.min(fitted.steps, policy.maxSteps);
  if (!given.sampler && !policy.samplers.includes(fitted.sampler)) fitted.sampler = policy.samplers[0];
  const long = Math.max(fitted.width, fitted.height);
  if (long > policy.maxSide) {
    const step = given.sizeMultiple ?? 8;
    const floor = (v: number) => Math.max(step, Math.floor(v / step) * step);
    const scale = policy.maxSide / long;
    fitted.width = floor(fitted.width * scale);
    fitted.height = floor(fitted.height * scale);
  }
  return fitted;
}
