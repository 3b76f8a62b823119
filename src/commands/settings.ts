// /settings: per-server limits, banned words, channels and moderator roles. Hidden from members
// without Manage Server by default_member_permissions, and checked again here (a server admin can
// change who sees the command; Manage Server or a configured moderator role is what we trust).
import {
  ChannelType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type SlashCommandIntegerOption,
} from 'discord.js';
import type { GuildSettings, SettingsChange } from '../queue/index.ts';
import { INT_RANGES, SettingsError } from '../queue/index.ts';
import { SAMPLERS, type SamplerName } from '../engine/types.ts';
import { InvalidOptionError, NotAllowedError } from '../discord/errors.ts';
import { isModerator } from '../discord/permissions.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';
import { describeStyles, stylesChange, stylesSubcommand } from './settings-styles.ts';
import { describeSettings, slurLine } from './settings-view.ts';
import { describeSafety, safetyChange, safetySubcommand } from './settings-safety.ts';
import { describeModels, modelsAutocomplete, modelsChange, modelsSubcommand } from './settings-models.ts';

/** An integer option whose bounds and description come from the queue's own range for that setting. */
function ranged(
  o: SlashCommandIntegerOption,
  name: string,
  what: string,
  [min, max]: readonly [number, number],
  note = '',
): SlashCommandIntegerOption {
  return o.setName(name).setDescription(`${what} (${min}-${max}${note})`).setMinValue(min).setMaxValue(max);
}

export const data = new SlashCommandBuilder()
  .setName('settings')
  .setDescription('Server settings for image generation (moderators)')
  .setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild)
  .setDMPermission(false)
  .addSubcommand((s) => s.setName('show').setDescription('Show the current settings'))
  .addSubcommand((s) =>
    s
      .setName('limits')
      .setDescription('Change limits (leave an option out to keep it)')
      .addIntegerOption((o) => ranged(o, 'max_steps', 'Most sampling steps per image', INT_RANGES.maxSteps))
      .addIntegerOption((o) => ranged(o, 'max_count', 'Most images per request', INT_RANGES.maxCount))
      .addIntegerOption((o) => ranged(o, 'max_pending', 'Most waiting or running jobs per user', INT_RANGES.maxPending))
      .addIntegerOption((o) => ranged(o, 'cooldown', "Seconds between a user's requests", INT_RANGES.cooldownSeconds))
      .addIntegerOption((o) => ranged(o, 'daily_quota', 'Requests per user per UTC day', INT_RANGES.dailyQuota))
      .addIntegerOption((o) =>
        ranged(o, 'max_side', 'Largest width or height in pixels', INT_RANGES.maxSide, ', multiple of 8'),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('banned-words')
      .setDescription('Words refused in prompts')
      .addStringOption((o) =>
        o
          .setName('action')
          .setDescription('What to do')
          .setRequired(true)
          .addChoices(
            { name: 'add', value: 'add' },
            { name: 'remove', value: 'remove' },
            { name: 'list', value: 'list' },
            { name: 'slur filter on (the default)', value: 'slurs-on' },
            { name: 'slur filter off', value: 'slurs-off' },
          ),
      )
      .addStringOption((o) => o.setName('words').setDescription('Words, separated by commas').setMaxLength(1000)),
  )
  .addSubcommand((s) =>
    s
      .setName('channels')
      .setDescription('Where image requests are accepted')
      .addStringOption((o) =>
        o
          .setName('action')
          .setDescription('allow: only allowed channels take requests; deny: never here')
          .setRequired(true)
          .addChoices(
            { name: 'allow', value: 'allow' },
            { name: 'deny', value: 'deny' },
            { name: 'clear (forget this channel)', value: 'clear' },
            { name: 'list', value: 'list' },
            { name: 'reset (all channels)', value: 'reset' },
          ),
      )
      .addChannelOption((o) =>
        o.setName('channel').setDescription('The channel (default: this one)').addChannelTypes(ChannelType.GuildText),
      ),
  )
  .addSubcommand((s) =>
    s
      .setName('moderator-role')
      .setDescription('Roles whose members may change settings and cancel any job')
      .addStringOption((o) =>
        o
          .setName('action')
          .setDescription('What to do')
          .setRequired(true)
          .addChoices({ name: 'add', value: 'add' }, { name: 'remove', value: 'remove' }),
      )
      .addRoleOption((o) => o.setName('role').setDescription('The role').setRequired(true)),
  )
  .addSubcommand((s) =>
    s
      .setName('samplers')
      .setDescription('Which sampling algorithms members may use')
      .addStringOption((o) =>
        o
          .setName('action')
          .setDescription('What to do')
          .setRequired(true)
          .addChoices(
            { name: 'allow', value: 'allow' },
            { name: 'disallow', value: 'disallow' },
            { name: 'only (allow just this one)', value: 'only' },
            { name: 'all (allow every sampler)', value: 'all' },
          ),
      )
      .addStringOption((o) =>
        o
          .setName('sampler')
          .setDescription('The sampler (not needed for all)')
          .addChoices(...SAMPLERS.map((v) => ({ name: v, value: v }))),
      ),
  )
  .addSubcommand(stylesSubcommand)
  .addSubcommand(safetySubcommand)
  .addSubcommand(modelsSubcommand)
  .addSubcommand((s) => s.setName('reset').setDescription('Put every setting back to its default'));

const LIMIT_OPTIONS: Record<string, keyof GuildSettings> = {
  max_steps: 'maxSteps',
  max_count: 'maxCount',
  max_pending: 'maxPending',
  cooldown: 'cooldownSeconds',
  daily_quota: 'dailyQuota',
  max_side: 'maxSide',
};

function splitWords(raw: string | null): string[] {
  const words = (raw ?? '')
    .split(',')
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  if (words.length === 0) throw new InvalidOptionError('Give the words in the `words` option, separated by commas.');
  return words;
}

async function change(services: Services, guildId: string, patch: SettingsChange): Promise<GuildSettings> {
  try {
    return await services.settings.update(guildId, patch);
  } catch (error) {
    if (error instanceof SettingsError) throw new InvalidOptionError(error.message, { field: error.field });
    throw error;
  }
}

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const guildId = interaction.guildId;
  if (!guildId) throw new InvalidOptionError('/settings only works inside a server.');
  const current = await services.settings.get(guildId);
  if (!isModerator(interaction, current)) {
    throw new NotAllowedError(
      'Only moderators (Manage Server, or a moderator role set with /settings moderator-role) can use /settings.',
    );
  }
  const o = interaction.options;
  const sub = o.getSubcommand(true);
  let reply: string;
  switch (sub) {
    case 'show':
      reply = describeSettings(current);
      break;
    case 'limits': {
      const patch: Partial<GuildSettings> = {};
      for (const [option, field] of Object.entries(LIMIT_OPTIONS)) {
        const value = o.getInteger(option);
        if (value !== null) (patch as Record<string, number>)[field] = value;
      }
      if (Object.keys(patch).length === 0)
        throw new InvalidOptionError(`Give at least one of ${Object.keys(LIMIT_OPTIONS).join(', ')}.`);
      reply = `Limits updated.\n${describeSettings(await change(services, guildId, patch))}`;
      break;
    }
    case 'banned-words': {
      const action = o.getString('action', true);
      if (action === 'slurs-on' || action === 'slurs-off') {
        const saved = await change(services, guildId, { slurFilter: action === 'slurs-on' });
        reply = slurLine(saved);
        break;
      }
      if (action === 'list') {
        reply =
          current.bannedWords.length === 0
            ? 'No banned words.'
            : `Banned words: ${current.bannedWords.map((w) => `\`${w}\``).join(', ')}`;
        break;
      }
      const words = splitWords(o.getString('words'));
      // Computed from the settings as they are when this change runs: two changes at once both stay.
      const saved = await change(services, guildId, (now) => ({
        bannedWords:
          action === 'add'
            ? [...now.bannedWords, ...words]
            : now.bannedWords.filter((w) => !words.includes(w.toLowerCase())),
      }));
      reply = `${action === 'add' ? 'Added' : 'Removed'} ${words.length} word${words.length === 1 ? '' : 's'}; ${saved.bannedWords.length} banned now.`;
      break;
    }
    case 'channels': {
      const action = o.getString('action', true);
      const channelId = o.getChannel('channel')?.id ?? interaction.channelId;
      const others = (list: string[]) => list.filter((id) => id !== channelId);
      let patch: SettingsChange | undefined;
      if (action === 'allow')
        patch = (now) => ({
          allowedChannels: [...others(now.allowedChannels), channelId],
          deniedChannels: others(now.deniedChannels),
        });
      else if (action === 'deny')
        patch = (now) => ({
          deniedChannels: [...others(now.deniedChannels), channelId],
          allowedChannels: others(now.allowedChannels),
        });
      else if (action === 'clear')
        patch = (now) => ({ allowedChannels: others(now.allowedChannels), deniedChannels: others(now.deniedChannels) });
      else if (action === 'reset') patch = { allowedChannels: [], deniedChannels: [] };
      const saved = patch ? await change(services, guildId, patch) : current;
      reply = `${patch ? 'Channels updated.\n' : ''}${describeSettings(saved).split('\n').slice(5, 7).join('\n')}`;
      break;
    }
    case 'moderator-role': {
      const roleId = o.getRole('role', true).id;
      const add = o.getString('action', true) === 'add';
      const saved = await change(services, guildId, (now) => {
        const others = now.moderatorRoleIds.filter((id) => id !== roleId);
        return { moderatorRoleIds: add ? [...others, roleId] : others };
      });
      reply = describeSettings(saved).split('\n').slice(-1)[0];
      break;
    }
    case 'samplers': {
      const action = o.getString('action', true);
      const sampler = o.getString('sampler') as SamplerName | null;
      if (action !== 'all' && !sampler) throw new InvalidOptionError(`Give the \`sampler\` to ${action}.`);
      const saved = await change(services, guildId, (now): Partial<GuildSettings> => {
        if (action === 'all') return { allowedSamplers: [...SAMPLERS] };
        if (action === 'only') return { allowedSamplers: [sampler!] };
        if (action === 'allow') return { allowedSamplers: [...now.allowedSamplers, sampler!] };
        const left = now.allowedSamplers.filter((v) => v !== sampler);
        if (left.length === 0)
          throw new InvalidOptionError(
            `${sampler} is the only sampler allowed; allow another first (at least one must stay).`,
          );
        return { allowedSamplers: left };
      });
      reply = `**Samplers** ${saved.allowedSamplers.join(', ')}`;
      break;
    }
    case 'styles': {
      const patch = stylesChange(interaction);
      const saved = patch ? await change(services, guildId, patch) : current;
      reply = `${patch ? 'Styles updated.\n' : ''}**Styles**\n${describeStyles(saved.styles)}`;
      break;
    }
    case 'safety': {
      const saved = await change(services, guildId, await safetyChange(interaction));
      reply = describeSafety(saved);
      break;
    }
    case 'models': {
      const patch = modelsChange(interaction, services);
      reply = describeModels(patch ? await change(services, guildId, patch) : current, services);
      break;
    }
    case 'reset':
      reply = `Settings reset to defaults.\n${describeSettings(await services.settings.reset(guildId))}`;
      break;
    default:
      throw new InvalidOptionError(`Unknown /settings subcommand ${sub}.`);
  }
  services.logger.info({ guildId, userId: interaction.user.id, sub }, 'settings changed or shown');
  await interaction.editReply({ content: reply.slice(0, 2000), allowedMentions: { parse: [] } });
}

export const settings: SlashCommand = { data, execute, autocomplete: modelsAutocomplete };
