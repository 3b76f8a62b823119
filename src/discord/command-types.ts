// The command contract (discord.js guide style): each module exports `data` (the definition Discord
// sees) and `execute`. Button families declare the actions they handle instead of `data`.
import type {
  AutocompleteInteraction,
  ButtonInteraction,
  ChatInputCommandInteraction,
  ModalSubmitInteraction,
  RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { JobRecord } from '../queue/index.ts';
import type { SizeRule } from '../engine/model-size.ts';
import type { SamplerName } from '../engine/types.ts';
import type { Logger, QueuePort, SettingsPort } from './ports.ts';
import type { ButtonAction, ButtonRef } from './custom-id.ts';
import type { ModelChoice } from './model-choice.ts';

export interface Services {
  queue: QueuePort;
  settings: SettingsPort;
  logger: Logger;
  /** How the default model sizes aspect ratios: its native side, the multiple sides must be, SDXL's buckets. */
  size: SizeRule;
  /** Short side results are shown at (display-image.ts; default 512). */
  displaySide?: number;
  /** Used when /imagine leaves them out (steps are also capped by the server's max_steps). */
  defaults: { steps: number; guidance: number; sampler: SamplerName };
  /** The models this bot offers, the default first (one entry without MODELS_DIR). */
  models: readonly ModelChoice[];
  /** Whether the model can start from a picture (/imagine image, a CDN link before the prompt). */
  imageToImage: boolean;
  /** Where such pictures may be fetched from, and how long a fetch may take. */
  imageFetch: { origins: readonly string[]; timeoutMs: number };
  /** Hands a just-submitted job to the reply updater (queued status, previews, final). */
  track(job: JobRecord): void;
  randomSeed(): number;
}

export interface SlashCommand {
  data: { name: string; toJSON(): RESTPostAPIChatInputApplicationCommandsJSONBody };
  execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void>;
  /** Choices for an option marked autocomplete (at most 25, within 3 s). */
  autocomplete?(interaction: AutocompleteInteraction, services: Services): Promise<void>;
}

export interface ButtonFamily {
  actions: readonly ButtonAction[];
  execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void>;
  /** For a button that opens a modal: the modal's submission (its custom_id names the same job). */
  submit?(interaction: ModalSubmitInteraction, ref: ButtonRef, services: Services): Promise<void>;
}
