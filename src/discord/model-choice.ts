// The models a bot offers (one, or the folders of MODELS_DIR) as the front end sees them: name, a line
// describing it, and what /imagine sizes and fills in by (native side, defaults, image-to-image).
import type { SizeRule } from '../engine/model-size.ts';
import type { SamplerName } from '../engine/types.ts';
import type { GuildSettings } from '../queue/index.ts';
import { InvalidOptionError } from './errors.ts';

export interface ModelChoice {
  name: string;
  /** From its model card's first line, for autocomplete. */
  description: string;
  /** How /imagine sizes it: native side, the multiple sides must be, SDXL's buckets. */
  size: SizeRule;
  defaults: { steps: number; guidance: number; sampler: SamplerName };
  imageToImage: boolean;
}

/** The models a member of this server may pick (the server's allow-list, else all). */
export function modelsHere(
  models: readonly ModelChoice[],
  settings: Pick<GuildSettings, 'allowedModels'>,
): ModelChoice[] {
  return settings.allowedModels.length === 0
    ? [...models]
    : models.filter((m) => settings.allowedModels.includes(m.name));
}

/**
 * The model a request uses: the one named, else the server's default, else the bot's (the first). Throws
 * InvalidOptionError for an unknown name or one this server does not allow.
 */
export function chooseModel(
  models: readonly ModelChoice[],
  settings: Pick<GuildSettings, 'allowedModels' | 'defaultModel'>,
  named: string | null,
): ModelChoice {
  const allowed = modelsHere(models, settings);
  const list = allowed.map((m) => m.name).join(', ');
  if (named) {
    const model = models.find((m) => m.name === named);
    if (!model)
      throw new InvalidOptionError(
        `There is no model named \`${named.slice(0, 100)}\`; this bot has ${models.map((m) => m.name).join(', ')}.`,
      );
    if (!allowed.includes(model))
      throw new InvalidOptionError(`The ${model.name} model is not allowed in this server; it allows ${list}.`);
    return model;
  }
  const fallback = models.find((m) => m.name === settings.defaultModel && allowed.includes(m));
  const model = fallback ?? allowed[0] ?? models[0];
  return model;
}

/** Autocomplete choices: models of this server whose name or description holds what is typed. */
export function modelChoices(
  models: readonly ModelChoice[],
  settings: Pick<GuildSettings, 'allowedModels'>,
  typed: string,
) {
  const q = typed.toLowerCase();
  return modelsHere(models, settings)
    .filter((m) => m.name.toLowerCase().includes(q) || m.description.toLowerCase().includes(q))
    .slice(0, 25)
    .map((m) => ({ name: `${m.name}${m.description ? ` — ${m.description}` : ''}`.slice(0, 100), value: m.name }));
}
