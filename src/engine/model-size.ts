// The sizes a model draws well and can run, from its folder's JSON alone (a bot without the engine reads
// them too): its native side (unet sample_size x the VAE factor; SDXL-Turbo's 512), the multiple every side
// must be (an exported diffusers U-Net halves the latent once per level and fixed its upsampling at export,
// so SD 1.x needs 64 px, SDXL 32), and whether aspect ratios go to SDXL's training buckets.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseVaeConfig, readOptionalJson } from './model-config.ts';
import { readModelDefaults } from './model-defaults.ts';

export interface SizeRule {
  /** The side of the square the model was trained at, in pixels. */
  side: number;
  /** Widths and heights are multiples of this. */
  multiple: number;
  /** SDXL: aspect ratios map to its training buckets (scaled to `side`). */
  buckets: boolean;
}

export interface Size {
  width: number;
  height: number;
}

/** What a folder that does not say (or is not on this machine) is sized by. */
export const PLAIN_SIZE_RULE: SizeRule = Object.freeze({ side: 512, multiple: 8, buckets: false });

/** SDXL's aspect-ratio buckets near one megapixel (width x height, multiples of 64), from its training. */
export const SDXL_BUCKETS: readonly Size[] = [
  [1024, 1024],
  [1152, 896],
  [1216, 832],
  [1344, 768],
  [1536, 640],
].flatMap(([w, h]) =>
  w === h
    ? [{ width: w, height: h }]
    : [
        { width: w, height: h },
        { width: h, height: w },
      ],
);

/** Whether a folder is SDXL's (a second text encoder, or its pipeline class). */
export function isSdxlFolder(root: string, index: Record<string, unknown>): boolean {
  return existsSync(join(root, 'text_encoder_2')) || /XL/.test(String(index._class_name ?? ''));
}

export function readSizeRule(modelDir: string): SizeRule {
  const root = resolve(modelDir);
  const unet = readOptionalJson(join(root, 'unet', 'config.json'));
  const vaeFile = join(root, 'vae_decoder', 'config.json');
  const { vaeScaleFactor } = parseVaeConfig(readOptionalJson(vaeFile), vaeFile);
  const sdxl = isSdxlFolder(root, readOptionalJson(join(root, 'model_index.json')));
  const sample = unet.sample_size;
  let side =
    typeof sample === 'number' && Number.isInteger(sample) && sample > 0
      ? sample * vaeScaleFactor
      : PLAIN_SIZE_RULE.side;
  // SDXL-Turbo keeps SDXL's sample_size but was distilled at 512 x 512.
  if (sdxl && readModelDefaults(root).family === 'turbo') side = Math.min(side, 512);
  // diffusers' UNet2DConditionModel: one halving per level but the last
  const levels = Array.isArray(unet.down_block_types) ? unet.down_block_types.length : 0;
  const multiple = Math.max(8, vaeScaleFactor * 2 ** Math.max(0, levels - 1));
  return { side, multiple, buckets: sdxl };
}

/** Width / height `ratio` (held between 1:4 and 4:1) as the rule sizes it: about side x side pixels. */
export function sizeForRatio(ratio: number, rule: SizeRule): Size {
  const held = Math.min(4, Math.max(0.25, ratio));
  const round = (v: number) => Math.max(rule.multiple, Math.round(v / rule.multiple) * rule.multiple);
  if (rule.buckets) {
    const distance = (s: Size) => Math.abs(Math.log(s.width / s.height / held));
    const bucket = SDXL_BUCKETS.reduce((best, s) => (distance(s) < distance(best) ? s : best));
    const scale = rule.side / 1024;
    return { width: round(bucket.width * scale), height: round(bucket.height * scale) };
  }
  return { width: round(rule.side * Math.sqrt(held)), height: round(rule.side / Math.sqrt(held)) };
}
