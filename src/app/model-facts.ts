// The model facts the front end needs, from the model folder's JSON without loading any ONNX: its native image
// side (aspect ratios are sized around it) and its defaults. ROLE=bot runs no engine at all (GPU workers do).
import { existsSync, readFileSync } from 'node:fs';
import type { ModelChoice } from '../discord/model-choice.ts';
import { join, resolve } from 'node:path';
import { parseVaeConfig, readOptionalJson } from '../engine/model-config.ts';
import { readModelDefaults, type ModelDefaults } from '../engine/model-defaults.ts';

/** What the Discord front end reads from the engine; a bot without an engine gets it from the files. */
export interface ModelFacts {
  readonly defaultSize: number;
  /** What /imagine uses when the user leaves steps, guidance or the sampler out. */
  readonly defaults: ModelDefaults;
  /** Whether /imagine may start from an image (the folder has a VAE encoder). */
  readonly imageToImage: boolean;
  close(): Promise<void>;
}

/**
 * unet sample_size x the VAE factor, as DiffusionPipeline.defaultSize computes it; 512 when the
 * folder does not say (or is not on this machine: the workers have the model, the bot may not).
 */
export function readModelFacts(modelDir: string): ModelFacts {
  const root = resolve(modelDir);
  const unet = readOptionalJson(join(root, 'unet', 'config.json'));
  const vaeFile = join(root, 'vae_decoder', 'config.json');
  const vae = parseVaeConfig(readOptionalJson(vaeFile), vaeFile);
  const sample = unet.sample_size;
  const defaultSize =
    typeof sample === 'number' && Number.isInteger(sample) && sample > 0 ? sample * vae.vaeScaleFactor : 512;
  const imageToImage = existsSync(join(root, 'vae_encoder', 'model.onnx'));
  return { defaultSize, defaults: readModelDefaults(root), imageToImage, close: async () => {} };
}

/** What /imagine offers of a model folder: its facts, named, with its model card's first line. */
export function modelChoiceOf(
  name: string,
  dir: string,
  facts: Pick<ModelFacts, 'defaultSize' | 'defaults' | 'imageToImage'>,
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
    defaultSide: facts.defaultSize,
    defaults: { steps: facts.defaults.steps, guidance: facts.defaults.guidance, sampler: facts.defaults.sampler },
    imageToImage: facts.imageToImage,
  };
}
