// The steps, guidance and sampler a model is meant to be run with, from its folder's JSON alone (so a bot
// without the engine can read them too): a hint in model_index.json, else its family's defaults, the family
// told by the folder's config and its name (model_index.json's, else the folder's own).
//   "emojiforge": { "steps": 4, "guidance": 1.5, "sampler": "lcm" }   in model_index.json
// Families: LCM exports (time_cond_proj_dim / an LCM scheduler) 4 steps with the lcm sampler; distilled
// "turbo" models (SD-Turbo, SDXL-Turbo) 1 step without guidance; "lightning" ones (SDXL-Lightning and its
// kind: Euler on trailing timesteps) the steps their name says ("...-8step"), else 4, without guidance;
// everything else SD's 20 steps at guidance 7.5, euler_a. The spacing itself comes from scheduler_config.json.
import { basename, join, resolve } from 'node:path';
import { ModelLoadError } from './errors.ts';
import { readOptionalJson } from './model-config.ts';
import { SAMPLERS, type SamplerName } from './schedulers/types.ts';
import { DEFAULT_LIMITS } from './validate.ts';

export type ModelFamily = 'sd' | 'lcm' | 'turbo' | 'lightning';

export interface ModelDefaults {
  family: ModelFamily;
  steps: number;
  guidance: number;
  sampler: SamplerName;
}

const FAMILY_DEFAULTS: Record<ModelFamily, Omit<ModelDefaults, 'family'>> = {
  sd: { steps: 20, guidance: 7.5, sampler: 'euler_a' },
  lcm: { steps: 4, guidance: 1.5, sampler: 'lcm' },
  turbo: { steps: 1, guidance: 0, sampler: 'euler_a' },
  lightning: { steps: 4, guidance: 0, sampler: 'euler' },
};

/** Lightning checkpoints come in 1, 2, 4 and 8 steps, named so ("sdxl-lightning-2step"). */
const LIGHTNING_STEPS = /(?:^|[^0-9])([1-8])[-_ ]?steps?\b/i;

function familyOf(
  names: readonly string[],
  unet: Record<string, unknown>,
  scheduler: Record<string, unknown>,
): ModelFamily {
  if (unet.time_cond_proj_dim !== undefined && unet.time_cond_proj_dim !== null) return 'lcm';
  if (scheduler._class_name === 'LCMScheduler') return 'lcm';
  if (names.some((n) => /lightning/i.test(n))) return 'lightning';
  return names.some((n) => /turbo/i.test(n)) ? 'turbo' : 'sd';
}

export function readModelDefaults(modelDir: string): ModelDefaults {
  const root = resolve(modelDir);
  const indexFile = join(root, 'model_index.json');
  const index = readOptionalJson(indexFile);
  // what the model is called: its index's name or hub path, else its folder's name
  const names = [index.name, index._name_or_path, basename(root)].filter((n): n is string => typeof n === 'string');
  const family = familyOf(
    names,
    readOptionalJson(join(root, 'unet', 'config.json')),
    readOptionalJson(join(root, 'scheduler', 'scheduler_config.json')),
  );
  const defaults = { family, ...FAMILY_DEFAULTS[family] };
  if (family === 'lightning') {
    const named = names.map((n) => LIGHTNING_STEPS.exec(n)?.[1]).find(Boolean);
    if (named) defaults.steps = Number(named);
  }
  const hint = index.emojiforge;
  if (hint === undefined) return defaults;
  if (typeof hint !== 'object' || hint === null || Array.isArray(hint)) {
    throw new ModelLoadError(
      indexFile,
      `expected "emojiforge" to be an object of steps, guidance and sampler, got ${JSON.stringify(hint)}`,
    );
  }
  const { steps, guidance, sampler } = hint as Record<string, unknown>;
  if (steps !== undefined) {
    if (!(Number.isInteger(steps) && (steps as number) >= 1 && (steps as number) <= DEFAULT_LIMITS.maxSteps)) {
      throw new ModelLoadError(
        indexFile,
        `expected "emojiforge.steps" between 1 and ${DEFAULT_LIMITS.maxSteps}, got ${JSON.stringify(steps)}`,
      );
    }
    defaults.steps = steps as number;
  }
  if (guidance !== undefined) {
    if (!(typeof guidance === 'number' && guidance >= 0 && guidance <= DEFAULT_LIMITS.maxGuidance)) {
      throw new ModelLoadError(
        indexFile,
        `expected "emojiforge.guidance" between 0 and ${DEFAULT_LIMITS.maxGuidance}, got ${JSON.stringify(guidance)}`,
      );
    }
    defaults.guidance = guidance;
  }
  if (sampler !== undefined) {
    if (!(SAMPLERS as readonly unknown[]).includes(sampler)) {
      throw new ModelLoadError(
        indexFile,
        `expected "emojiforge.sampler" to be one of ${SAMPLERS.join(', ')}, got ${JSON.stringify(sampler)}`,
      );
    }
    defaults.sampler = sampler as SamplerName;
  }
  return defaults;
}
