// Shared by /imagine and the job buttons: turn an acknowledged interaction plus a request into a
// queued job whose record carries everything delivery needs (even after a restart).
import type { ButtonInteraction, ChatInputCommandInteraction, ModalSubmitInteraction } from 'discord.js';

/** What a job can be asked for from: a slash command, a button, or a button's form. */
export type JobInteraction = ChatInputCommandInteraction | ButtonInteraction | ModalSubmitInteraction;
import type { GenerateRequest } from '../engine/types.ts';
import type { GivenFields, JobExtras, JobKind, JobOwner, JobRecord } from '../queue/index.ts';
import type { Services } from '../discord/command-types.ts';
import { InvalidOptionError } from '../discord/errors.ts';

export function deliveryOf(interaction: JobInteraction): NonNullable<JobRecord['delivery']> {
  return {
    applicationId: interaction.applicationId,
    token: interaction.token,
    createdAt: interaction.createdTimestamp,
    channelId: channelOf(interaction),
    interactionId: interaction.id,
    // Cleared by delivery once the final message landed; a restarted bot delivers what is still false.
    delivered: false,
  };
}

/** The server's upload limit for this interaction (Discord sends attachment_size_limit). */
export function attachmentLimit(interaction: JobInteraction): JobExtras {
  const limit = interaction.attachmentSizeLimit;
  return typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? { attachmentLimit: limit } : {};
}

/** Whether Discord marks the interaction's channel age-restricted (what a flagged image may become there). */
export function ageRestriction(interaction: JobInteraction): JobExtras {
  const channel = interaction.channel;
  return channel && 'nsfw' in channel && channel.nsfw === true ? { ageRestricted: true } : {};
}

/** Who an interaction's job or post belongs to, and where. */
export function ownerOf(interaction: JobInteraction): JobOwner {
  return { userId: interaction.user.id, guildId: interaction.guildId ?? 'dm', channelId: channelOf(interaction) };
}

function channelOf(interaction: JobInteraction): string {
  if (!interaction.channelId) throw new InvalidOptionError('I can only make images in a channel.');
  return interaction.channelId;
}

export async function submitJob(
  interaction: JobInteraction,
  services: Services,
  request: GenerateRequest,
  kind: JobKind,
  options: { parentId?: string; extras?: JobExtras; given?: GivenFields } = {},
): Promise<JobRecord> {
  const { parentId, extras, given } = options;
  const job = await services.queue.submit({
    owner: ownerOf(interaction),
    request,
    kind,
    parentId,
    ...(given ? { given } : {}),
    delivery: deliveryOf(interaction),
    // Stored once, with the extras: the worker fits media to it, the front end the final image.
    ...withLimit(interaction, extras),
  });
  services.track(job);
  return job;
}

function withLimit(interaction: JobInteraction, extras?: JobExtras): { extras?: JobExtras } {
  const all = { ...attachmentLimit(interaction), ...ageRestriction(interaction), ...extras };
  return Object.keys(all).length > 0 ? { extras: all } : {};
}
