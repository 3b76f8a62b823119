// /queue: your waiting and running jobs, and how long the line is.
import { MessageFlags, SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { formatEta } from '../discord/render.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';

export const data = new SlashCommandBuilder()
  .setName('queue')
  .setDescription('Your jobs and the length of the queue')
  .setDMPermission(false);

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const { queued, running } = services.queue.stats();
  // Prompts typed in another server stay there: only this server's jobs are listed.
  const all = await services.queue.listForUser(interaction.user.id);
  const mine = all.filter((job) => job.owner.guildId === interaction.guildId);
  const elsewhere = all.length - mine.length;
  const lines = mine.map((job) => {
    const where = services.queue.position(job.id);
    const prompt = job.request.prompt.length > 60 ? `${job.request.prompt.slice(0, 57)}…` : job.request.prompt;
    const state =
      job.state === 'running'
        ? `running${job.progress ? ` (step ${job.progress.step}/${job.progress.total})` : ''}`
        : `queued, position ${where?.position ?? '?'}${where ? `, starts in about ${formatEta(where.startsInMs)}` : ''}`;
    return `\`${job.id}\` ${state} — ${prompt}`;
  });
  const header = `Queue: ${queued} waiting, ${running} running.`;
  const body =
    lines.length === 0
      ? 'You have no jobs waiting or running here.'
      : `Your jobs:\n${lines.join('\n')}\nCancel one with /cancel job:<id>.`;
  const note = elsewhere > 0 ? `\n(You also have ${elsewhere} in other servers; /queue there lists them.)` : '';
  await interaction.editReply({ content: `${header}\n${body}${note}`.slice(0, 2000), allowedMentions: { parse: [] } });
}

export const queue: SlashCommand = { data, execute };
