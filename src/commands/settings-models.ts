// /settings models: the model /imagine uses here by default, and which of the bot's models members may
// pick. Only names of the bot's own models are saved.
import type { AutocompleteInteraction, ChatInputCommandInteraction, SlashCommandSubcommandBuilder } from 'discord.js';
import type { Services } from '../discord/command-types.ts';
import { InvalidOptionError } from '../discord/errors.ts';
import { modelChoices, modelsHere } from '../discord/model-choice.ts';
import type { GuildSettings, SettingsChange } from '../queue/index.ts';

export function modelsSubcommand(s: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return s
    .setName('models')
    .setDescription('Which models members may use here, and the default one')
    .addStringOption((o) =>
      o
        .setName('action')
        .setDescription('What to do')
        .setRequired(true)
        .addChoices(
          { name: 'default (use this one when none is named)', value: 'default' },
          { name: 'allow', value: 'allow' },
          { name: 'disallow', value: 'disallow' },
          { name: 'all (allow every model)', value: 'all' },
          { name: 'list', value: 'list' },
        ),
    )
    .addStringOption((o) => o.setName('model').setDescription('The model').setAutocomplete(true).setMaxLength(100));
}

export function describeModels(s: GuildSettings, services: Pick<Services, 'models'>): string {
  const here = modelsHere(services.models, s).map((m) => m.name);
  const fallback = s.defaultModel || services.models[0]?.name;
  return `**Models** ${here.join(', ') || 'none'} · default ${fallback}`;
}

/** The change /settings models asks for (undefined for list). Throws InvalidOptionError. */
export function modelsChange(
  interaction: ChatInputCommandInteraction,
  services: Pick<Services, 'models'>,
): SettingsChange | undefined {
  const action = interaction.options.getString('action', true);
  if (action === 'list') return undefined;
  if (action === 'all') return { allowedModels: [] };
  const name = interaction.options.getString('model')?.trim();
  const model = services.models.find((m) => m.name === name);
  if (!model)
    throw new InvalidOptionError(
      `Give one of this bot's models in \`model\`: ${services.models.map((m) => m.name).join(', ')}.`,
    );
  const all = services.models.map((m) => m.name);
  return (now: GuildSettings): Partial<GuildSettings> => {
    const allowed = now.allowedModels.length === 0 ? all : now.allowedModels;
    if (action === 'default')
      return {
        defaultModel: model.name,
        ...(allowed.includes(model.name) ? {} : { allowedModels: [...allowed, model.name] }),
      };
    if (action === 'allow') return { allowedModels: [...new Set([...now.allowedModels, model.name])] };
    const left = allowed.filter((m) => m !== model.name);
    if (left.length === 0)
      throw new InvalidOptionError(`${model.name} is the only model allowed here; allow another first.`);
    return { allowedModels: left, ...(now.defaultModel === model.name ? { defaultModel: '' } : {}) };
  };
}

/** Every model of the bot (a moderator may allow any). */
export async function modelsAutocomplete(interaction: AutocompleteInteraction, services: Services): Promise<void> {
  const typed = String(interaction.options.getFocused(true).value);
  await interaction.respond(modelChoices(services.models, { allowedModels: [] }, typed));
}
