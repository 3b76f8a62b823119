// The model facts the front end needs, from the model folder's JSON without loading any ONNX: its size rule
// (aspect ratios are sized by it) and its defaults. ROLE=bot runs no engine at all (GPU workers do).
import { existsSync, readFileSync } from 'node:fs';
import type { ModelChoice } from '../discord/model-choice.ts';
import { join, resolve } from 'node:path';
import { readSizeRule, type SizeRule } from '../engine/model-size.ts';
import { readModelDefaults, type ModelDefaults } from '../engine/model-defaults.ts';
import { DEFAULT_SETTINGS, INT_RANGES } from '../queue/index.ts';

/** What the Discord front end reads from the engine; a bot without an engine gets it from the files. */
export interface ModelFacts {
  /** How aspect ratios are sized: native side (unet sample_size x the VAE factor), multiples, SDXL's buckets. */
  readonly size: SizeRule;
  /** What /imagine uses when the user leaves steps, guidance or the sampler out. */
  readonly defaults: ModelDefaults;
  /** Whether /imagine may start from an image (the folder has a VAE encoder). */
  readonly imageToImage: boolean;
  close(): Promise<void>;
}

/** From the folder's JSON; 512 px when it does not say (or is not on this machine: the workers have the model, the bot may not). */
export function readModelFacts(modelDir: string): ModelFacts {
  const root = resolve(modelDir);
  const imageToImage = existsSync(join(root, 'vae_encoder', 'model.onnx'));
  return { size: readSizeRule(root), defaults: readModelDefaults(root), imageToImage, close: async () => {} };
}

/** The max_side of a server that never set one: the largest native side offered (SDXL's 1024), at least 512. */
export function defaultMaxSide(sizes: readonly SizeRule[]): number {
  return Math.min(INT_RANGES.maxSide[1], Math.max(DEFAULT_SETTINGS.maxSide, ...sizes.map((s) => s.side)));
}

/** What /imagine offers of a model folder: its facts, named, with its model card's first line. */
export function modelChoiceOf(
  name: string,
  dir: string,
  facts: Pick<ModelFacts, 'size' | 'defaults' | 'imageToImage'>,
): ModelChoice {
  const card = join(resolve(dir), 'MODEL_CARD.md');
  const first = existsSync(card)
    ? (readFileSync(card, 'utf8')
        .split('\n')
        .map((l) => l.replace(/^#+\s*/, '').trim())
        .find(Boolean) ?? '')
    : '';
  return {
    name,
    description: first.slice(0, 80),
    size: facts.size,
    defaults: { steps: facts.defaults.steps, guidance: facts.defaults.guidance, sampler: facts.defaults.sampler },
    imageToImage: facts.imageToImage,
  };
}
