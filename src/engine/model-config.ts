// The JSON files of a diffusers/optimum ONNX model folder, parsed with defaults and checked.
import { existsSync, readFileSync } from 'node:fs';
import { ModelLoadError } from './errors.ts';

/** ComfyUI's SD 1.x latent -> RGB factors (rows = latent channels, columns = R, G, B; result in [-1, 1]). */
export const SD15_LATENT_RGB_FACTORS: readonly (readonly number[])[] = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
];

/** ComfyUI's SDXL latent -> RGB factors (SDXL's VAE has the SD layout but its own latent space). */
export const SDXL_LATENT_RGB_FACTORS: readonly (readonly number[])[] = [
  [0.392, 0.4054, 0.4549],
  [-0.2634, -0.0196, 0.0653],
  [0.0568, 0.1687, -0.0755],
  [-0.3112, -0.2359, -0.2076],
];

export function readJsonFile(path: string): Record<string, unknown> {
  if (!existsSync(path)) throw new ModelLoadError(path, 'expected this file, but it is missing');
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new ModelLoadError(path, `expected valid JSON: ${(error as Error).message}`, { cause: error });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ModelLoadError(path, 'expected a JSON object');
  return value as Record<string, unknown>;
}

export function readOptionalJson(path: string): Record<string, unknown> {
  return existsSync(path) ? readJsonFile(path) : {};
}

function num(json: Record<string, unknown>, key: string, fallback: number, file: string): number {
  const v = json[key];
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v))
    throw new ModelLoadError(file, `expected "${key}" to be a number, got ${JSON.stringify(v)}`);
  return v;
}

export interface VaeConfig {
  scalingFactor: number;
  vaeScaleFactor: number;
  latentChannels: number;
  latentRgbFactors: number[][];
  latentRgbBias: number[];
}

/** vae_decoder/config.json (optional): scaling, spatial factor, channels and preview factors (`rgbFactors` when it has none). */
export function parseVaeConfig(
  json: Record<string, unknown>,
  file: string,
  rgbFactors: readonly (readonly number[])[] = SD15_LATENT_RGB_FACTORS,
): VaeConfig {
  const latentChannels = num(json, 'latent_channels', 4, file);
  let vaeScaleFactor = num(json, 'vae_scale_factor', 0, file);
  if (!vaeScaleFactor) {
    const blocks = json.block_out_channels;
    vaeScaleFactor = Array.isArray(blocks) && blocks.length > 0 ? 2 ** (blocks.length - 1) : 8;
  }
  if (!Number.isInteger(vaeScaleFactor) || vaeScaleFactor < 1)
    throw new ModelLoadError(file, `expected a positive integer VAE scale factor, got ${vaeScaleFactor}`);
  // Without factors, a non-4-channel latent gets a crude channel -> colour spread (previews only).
  const fallback =
    latentChannels === 4
      ? rgbFactors
      : Array.from({ length: latentChannels }, (_, c) => [0, 1, 2].map((k) => (k === c % 3 ? 0.5 : 0)));
  const factors = json.latent_rgb_factors ?? fallback;
  if (!isMatrix(factors, latentChannels, 3)) {
    throw new ModelLoadError(
      file,
      `expected "latent_rgb_factors" to be ${latentChannels} rows of 3 numbers, got ${JSON.stringify(factors)}`,
    );
  }
  const bias = json.latent_rgb_bias ?? [0, 0, 0];
  if (!Array.isArray(bias) || bias.length !== 3 || !bias.every((v) => typeof v === 'number')) {
    throw new ModelLoadError(file, `expected "latent_rgb_bias" to be 3 numbers, got ${JSON.stringify(bias)}`);
  }
  const scalingFactor = num(json, 'scaling_factor', 0.18215, file);
  if (!(scalingFactor > 0)) throw new ModelLoadError(file, `expected "scaling_factor" > 0, got ${scalingFactor}`);
  return {
    scalingFactor,
    vaeScaleFactor,
    latentChannels,
    latentRgbFactors: (factors as number[][]).map((r) => [...r]),
    latentRgbBias: [...(bias as number[])],
  };
}

function isMatrix(value: unknown, rows: number, cols: number): boolean {
  return (
    Array.isArray(value) &&
    value.length === rows &&
    value.every((r) => Array.isArray(r) && r.length === cols && r.every((v) => typeof v === 'number'))
  );
}
