// /diffusion: one picture of what the model actually computes, for a fresh prompt or an earlier result:
// the finished image noised with the model's own schedule (forward) above the sampler's predicted clean
// image at the same timesteps (reverse), with a two-sentence caption. A queued job like any other.
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { InvalidOptionError, NotAllowedError } from '../discord/errors.ts';
import { viewableChannel } from '../discord/job-access.ts';
import { decodeCustomId } from '../discord/custom-id.ts';
import { buildRequest } from './imagine.ts';
import { MAX_PROMPT_CHARS } from '../queue/index.ts';
import { submitJob } from './submit.ts';
import { finishedJobFor } from './timelapse.ts';
import { singleImageRequest } from './variants.ts';
import type { Services, SlashCommand } from '../discord/command-types.ts';

export const data = new SlashCommandBuilder()
  .setName('diffusion')
  .setDescription('See how the model turns static into a picture (forward and reverse process)')
  .setDMPermission(false)
  .addStringOption((o) =>
    o
      .setName('prompt')
      .setDescription('A fresh prompt to run (flags such as --seed 5 work)')
      .setMaxLength(MAX_PROMPT_CHARS),
  )
  .addStringOption((o) =>
    o
      .setName('job')
      .setDescription('Or an earlier result: its job id (in the PNG parameters) or a link to its message')
      .setMaxLength(200),
  )
  .addIntegerOption((o) =>
    o.setName('image').setDescription('Which image of that result (1-4, default 1)').setMinValue(1).setMaxValue(4),
  );

const MESSAGE_LINK = /^https:\/\/(?:\w+\.)?discord(?:app)?\.com\/channels\/(\d+|@me)\/(\d+)\/(\d+)\/?$/;

export async function execute(interaction: ChatInputCommandInteraction, services: Services): Promise<void> {
  const prompt = interaction.options.getString('prompt')?.trim();
  const jobRef = interaction.options.getString('job')?.trim();
  if (!!prompt === !!jobRef)
    throw new InvalidOptionError(
      'Give either a `prompt` to run or the `job` of an earlier result (one of them, not both).',
    );
  if (prompt) {
    if (interaction.options.getInteger('image') !== null)
      throw new InvalidOptionError('`image` picks an image of an earlier result; leave it out with a prompt.');
    const built = buildRequest(interaction, services);
    await interaction.deferReply();
    await submitJob(interaction, services, { ...built.request, count: 1 }, 'diffusion', { given: built.given });
    return;
  }
  await interaction.deferReply();
  const parent = await finishedJobFor(interaction, await resolveJobId(interaction, jobRef!), services);
  const request = singleImageRequest(parent, interaction.options.getInteger('image') ?? 1);
  await submitJob(interaction, services, request, 'diffusion', { parentId: parent.id });
}

/**
 * A job id as typed, or the job behind a link to one of our result messages (read from its buttons). A
 * link must point into this server, at a channel the caller can view, at a message of ours that exists.
 */
async function resolveJobId(interaction: ChatInputCommandInteraction, ref: string): Promise<string> {
  const link = MESSAGE_LINK.exec(ref);
  if (!link) return ref;
  const [, guildId, channelId, messageId] = link;
  if (guildId !== interaction.guildId)
    throw new InvalidOptionError(
      'That link is to a message in another server; I can only use results made in this one.',
    );
  const channel = await viewableChannel(interaction, channelId);
  if (!channel) throw new NotAllowedError('That link is to a channel you cannot see (or that no longer exists).');
  const message = 'messages' in channel ? await channel.messages.fetch(messageId).catch(() => null) : null;
  if (!message)
    throw new InvalidOptionError('That message no longer exists (or I cannot read it). Paste the job id instead.');
  // Only our own messages: another bot could put our custom_id format on its buttons.
  if (message.author.id !== interaction.client.user.id)
    throw new InvalidOptionError('That link is not to one of my results.');
  // Our result messages carry the job in every button's custom_id.
  const json = JSON.stringify(message.components.map((c) => c.toJSON()));
  for (const [, id] of json.matchAll(/"custom_id":"([^"]{1,100})"/g)) {
    const decoded = decodeCustomId(id);
    if (decoded) return decoded.jobId;
  }
  throw new InvalidOptionError(
    'That link is not to one of my finished results (I could not read its buttons). Paste the job id instead.',
  );
}

export const diffusion: SlashCommand = { data, execute };
