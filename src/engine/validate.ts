// One place for the engine's request limits; every refusal names the field, what was expected and what came.
import { existsSync } from 'node:fs';
import { InvalidRequestError } from './errors.ts';
import { SAMPLERS, type GenerateRequest } from './types.ts';
import { MAX_SEED } from './noise.ts';

export interface RequestLimits {
  maxSteps: number; // 150
  minSide: number; // 32
  maxSide: number; // 2048 (servers lower it with max_side)
  maxCount: number; // 4
  maxGuidance: number; // 30
  maxPromptChars: number; // 2000
}

export const DEFAULT_LIMITS: RequestLimits = {
  maxSteps: 150,
  minSide: 32,
  maxSide: 2048,
  maxCount: 4,
  maxGuidance: 30,
  maxPromptChars: 2000,
};

export interface ModelTraits {
  vaeScaleFactor: number;
  hasVaeEncoder: boolean;
  /** The multiple the exported U-Net runs at (model-size.ts); default the VAE factor's. */
  sizeMultiple?: number;
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}

function checkSeed(field: string, seed: unknown): void {
  if (!isInt(seed) || seed < 0 || seed > MAX_SEED)
    throw new InvalidRequestError(
      field,
      `expected ${field} to be an integer between 0 and ${MAX_SEED}, got ${String(seed)}`,
    );
}

/**
 * Throws InvalidRequestError for anything the engine would not run. Sizes that are not multiples of 8
 * (and of the model's VAE factor and U-Net levels) are refused, not rounded, so stored parameters always
 * reproduce the image.
 */
export function validateRequest(
  req: GenerateRequest,
  model: ModelTraits,
  limits: RequestLimits = DEFAULT_LIMITS,
): void {
  if (typeof req !== 'object' || req === null)
    throw new InvalidRequestError('request', `expected a request object, got ${String(req)}`);
  if (typeof req.prompt !== 'string' || req.prompt.trim() === '')
    throw new InvalidRequestError('prompt', 'expected a non-empty prompt, got an empty one');
  if (req.prompt.length > limits.maxPromptChars)
    throw new InvalidRequestError(
      'prompt',
      `expected a prompt of at most ${limits.maxPromptChars} characters, got ${req.prompt.length}`,
    );
  if (req.negativePrompt !== undefined && typeof req.negativePrompt !== 'string')
    throw new InvalidRequestError(
      'negativePrompt',
      `expected the negative prompt to be text, got ${typeof req.negativePrompt}`,
    );
  if ((req.negativePrompt?.length ?? 0) > limits.maxPromptChars)
    throw new InvalidRequestError(
      'negativePrompt',
      `expected a negative prompt of at most ${limits.maxPromptChars} characters, got ${req.negativePrompt!.length}`,
    );
  checkSeed('seed', req.seed);
  if (!SAMPLERS.includes(req.sampler))
    throw new InvalidRequestError(
      'sampler',
      `expected sampler to be one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(req.sampler)}`,
    );
  if (!isInt(req.steps) || req.steps < 1 || req.steps > limits.maxSteps)
    throw new InvalidRequestError('steps', `expected steps between 1 and ${limits.maxSteps}, got ${req.steps}`);
  if (
    typeof req.guidance !== 'number' ||
    !Number.isFinite(req.guidance) ||
    req.guidance < 0 ||
    req.guidance > limits.maxGuidance
  ) {
    throw new InvalidRequestError(
      'guidance',
      `expected guidance between 0 and ${limits.maxGuidance}, got ${req.guidance}`,
    );
  }
  const multiple = lcm(lcm(8, model.vaeScaleFactor), model.sizeMultiple ?? 1);
  for (const field of ['width', 'height'] as const) {
    const v = req[field];
    if (!isInt(v) || v < limits.minSide || v > limits.maxSide)
      throw new InvalidRequestError(
        field,
        `expected ${field} between ${limits.minSide} and ${limits.maxSide}, got ${v}`,
      );
    if (v % multiple !== 0)
      throw new InvalidRequestError(
        field,
        `expected ${field} to be a multiple of ${multiple}, got ${v} (try ${Math.max(multiple, Math.round(v / multiple) * multiple)})`,
      );
  }
  if (!isInt(req.count) || req.count < 1 || req.count > limits.maxCount)
    throw new InvalidRequestError('count', `expected count between 1 and ${limits.maxCount}, got ${req.count}`);
  if (req.variation !== undefined) {
    checkSeed('variation.seed', req.variation.seed);
    const s = req.variation.strength;
    if (typeof s !== 'number' || !(s >= 0 && s <= 1))
      throw new InvalidRequestError('variation.strength', `expected variation strength between 0 and 1, got ${s}`);
  }
  if (req.init !== undefined) {
    if (!model.hasVaeEncoder)
      throw new InvalidRequestError(
        'init',
        'expected a model with a VAE encoder for image-to-image, but this model has none (vae_encoder/model.onnx)',
      );
    if (typeof req.init.imagePath !== 'string' || !existsSync(req.init.imagePath))
      throw new InvalidRequestError(
        'init.imagePath',
        `expected an existing image file, got ${JSON.stringify(req.init.imagePath)}`,
      );
    const s = req.init.strength;
    if (typeof s !== 'number' || !(s > 0 && s <= 1))
      throw new InvalidRequestError(
        'init.strength',
        `expected image-to-image strength above 0 and at most 1, got ${s}`,
      );
  }
  if (req.tiled !== undefined && typeof req.tiled !== 'boolean')
    throw new InvalidRequestError('tiled', `expected tiled to be true or false, got ${JSON.stringify(req.tiled)}`);
}

function lcm(a: number, b: number): number {
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  return (a * b) / gcd(a, b);
}
