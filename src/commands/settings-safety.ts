// /settings safety: what a flagged image becomes, for the server or one channel. `off` is only for a
// channel Discord marks age-restricted (its developer policy), checked on the channel itself.
import { ChannelType, type ChatInputCommandInteraction, type SlashCommandSubcommandBuilder } from 'discord.js';
import { InvalidOptionError } from '../discord/errors.ts';
import { SAFETY_MODES, type GuildSettings, type SafetyMode, type SettingsChange } from '../queue/index.ts';

export function safetySubcommand(s: SlashCommandSubcommandBuilder): SlashCommandSubcommandBuilder {
  return s
    .setName('safety')
    .setDescription("What an image the model's safety checker flags becomes")
    .addStringOption((o) =>
      o
        .setName('mode')
        .setDescription('block: a notice instead; spoiler: behind a spoiler; off: as is (age-restricted channels only)')
        .setRequired(true)
        .addChoices(...SAFETY_MODES.map((m) => ({ name: m, value: m }))),
    )
    .addChannelOption((o) =>
      o
        .setName('channel')
        .setDescription('Only this channel (default: the whole server)')
        .addChannelTypes(ChannelType.GuildText),
    );
}

export function describeSafety(s: GuildSettings): string {
  const channels = Object.entries(s.safetyChannels).map(([id, mode]) => `<#${id}> ${mode}`);
  return `**Safety** ${s.safetyDefault} in the server (spoiler by default in age-restricted channels)${channels.length ? ` · ${channels.join(' · ')}` : ''}`;
}

/** The change /settings safety asks for. Throws InvalidOptionError (nothing is saved). */
export async function safetyChange(interaction: ChatInputCommandInteraction): Promise<SettingsChange> {
  const mode = interaction.options.getString('mode', true) as SafetyMode;
  if (!(SAFETY_MODES as readonly string[]).includes(mode))
    throw new InvalidOptionError(`mode must be one of ${SAFETY_MODES.join(', ')}.`);
  const picked = interaction.options.getChannel('channel');
  if (!picked) {
    if (mode === 'off')
      throw new InvalidOptionError(
        'safety off is only for a channel Discord marks age-restricted; give it in the `channel` option.',
      );
    return { safetyDefault: mode };
  }
  const channel = await interaction.client.channels.fetch(picked.id).catch(() => null);
  if (!channel || !('guildId' in channel) || channel.guildId !== interaction.guildId)
    throw new InvalidOptionError('That channel is not one of this server.');
  const ageRestricted = 'nsfw' in channel && channel.nsfw === true;
  if (mode === 'off' && !ageRestricted)
    throw new InvalidOptionError(
      `<#${picked.id}> is not age-restricted, so safety cannot be off there (Discord's developer policy). Mark it Age-Restricted in its channel settings first.`,
    );
  return (now: GuildSettings) => ({ safetyChannels: { ...now.safetyChannels, [picked.id]: mode } });
}
