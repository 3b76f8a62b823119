// Who may see or act on a stored job. Job ids travel in public buttons and can be typed or forged, so
// every read or action checks the job against the interaction: a job is visible only inside its own
// server, to someone who can view the channel it was made in, and a moderator's power covers only the
// jobs of the server where they are a moderator.
import { PermissionFlagsBits, type BaseInteraction, type GuildBasedChannel, type GuildMember } from 'discord.js';
import type { GuildSettings, JobRecord } from '../queue/index.ts';
import { NotAllowedError, UnknownJobError } from './errors.ts';
import { isModerator } from './permissions.ts';

/** Throws unless the caller may see `job` here: same server, and they can view the job's channel. */
export async function assertJobVisible(interaction: BaseInteraction, job: JobRecord): Promise<void> {
  if (!interaction.guildId || job.owner.guildId !== interaction.guildId) {
    throw new UnknownJobError('That result was made in another server; I can only use results made in this one.', {
      jobId: job.id,
    });
  }
  if (job.owner.channelId === interaction.channelId) return;
  if (!(await viewableChannel(interaction, job.owner.channelId))) {
    throw new NotAllowedError('That result was made in a channel you cannot see, so I cannot use it for you.', {
      jobId: job.id,
    });
  }
}

/** Channel `channelId` of the interaction's server when the caller can view it; undefined otherwise (any other server's channel too). */
export async function viewableChannel(
  interaction: BaseInteraction,
  channelId: string,
): Promise<GuildBasedChannel | undefined> {
  const channel = await fetchGuildChannel(interaction, channelId);
  return channel !== undefined && (await canView(interaction, channel)) ? channel : undefined;
}

/** A moderator of the job's own server (Manage Server there, or one of its moderator roles). */
export function moderatesJob(
  interaction: BaseInteraction,
  job: JobRecord,
  settings: Pick<GuildSettings, 'moderatorRoleIds'>,
): boolean {
  return (
    interaction.guildId !== null && interaction.guildId === job.owner.guildId && isModerator(interaction, settings)
  );
}

async function fetchGuildChannel(
  interaction: BaseInteraction,
  channelId: string,
): Promise<GuildBasedChannel | undefined> {
  if (!/^\d{1,25}$/.test(channelId)) return undefined;
  const channel = await interaction.client.channels.fetch(channelId).catch(() => null);
  if (!channel || !('guildId' in channel) || channel.guildId !== interaction.guildId) return undefined;
  return channel as GuildBasedChannel;
}

async function canView(interaction: BaseInteraction, channel: GuildBasedChannel): Promise<boolean> {
  const member = await memberOf(interaction, channel);
  if (!member) return false;
  return channel.permissionsFor(member).has(PermissionFlagsBits.ViewChannel);
}

async function memberOf(interaction: BaseInteraction, channel: GuildBasedChannel): Promise<GuildMember | undefined> {
  if (interaction.inCachedGuild()) return interaction.member;
  return channel.guild.members.fetch(interaction.user.id).catch(() => undefined);
}
