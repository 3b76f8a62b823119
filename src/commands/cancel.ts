// /cancel: your running job, or your oldest waiting one, or the one named by `job`.
// Moderators may name any job of their own server.
import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { UnknownJobError } from '../discord/errors.ts';
import { cancelJob, cancelOutcome } from './buttons.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';

export const data = new SlashCommandBuilder()
  .setName('cancel')
  .setDescription('Cancel your waiting or running job')
  .setDMPermission(false)
  .addStringOption((o) =>
    o
      .setName('job')
      .setDescription('Job id from /queue (default: your running job, else your oldest waiting one)')
      .setMaxLength(80),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  let jobId = interaction.options.getString('job')?.trim();
  if (!jobId) {
    const mine = await services.queue.listForUser(interaction.user.id);
    const target = mine.find((j) => j.state === 'running') ?? mine[0];
    if (!target) throw new UnknownJobError('You have no jobs waiting or running.');
    jobId = target.id;
  }
  const job = await cancelJob(interaction, jobId, services);
  await interaction.editReply({ content: cancelOutcome(job), allowedMentions: { parse: [] } });
}

export const cancel: SlashCommand = { data, execute };
