// Shared by /imagine and the job buttons: turn an acknowledged interaction plus a request into a
// queued job whose record carries everything delivery needs (even after a restart).
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { GenerateRequest } from '../engine/types.ts';
import type { GivenFields, JobExtras, JobKind, JobOwner, JobRecord } from '../queue/index.ts';
import type { Services } from '../discord/command-types.ts';

export function deliveryOf(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
): NonNullable<JobRecord['delivery']> {
  return {
    applicationId: interaction.applicationId,
    token: interaction.token,
    createdAt: interaction.createdTimestamp,
    channelId: interaction.channelId,
    interactionId: interaction.id,
    // Cleared by delivery once the final message landed; a restarted bot delivers what is still false.
    delivered: false,
  };
}

/** The server's upload limit for this interaction (Discord sends attachment_size_limit). */
export function attachmentLimit(interaction: ButtonInteraction | ChatInputCommandInteraction): JobExtras {
  const limit = interaction.attachmentSizeLimit;
  return typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? { attachmentLimit: limit } : {};
}

/** Who an interaction's job or post belongs to, and where. */
export function ownerOf(interaction: ChatInputCommandInteraction | ButtonInteraction): JobOwner {
  return { userId: interaction.user.id, guildId: interaction.guildId ?? 'dm', channelId: interaction.channelId };
}

export async function submitJob(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
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

function withLimit(
  interaction: ChatInputCommandInteraction | ButtonInteraction,
  extras?: JobExtras,
): { extras?: JobExtras } {
  const all = { ...attachmentLimit(interaction), ...extras };
  return Object.keys(all).length > 0 ? { extras: all } : {};
}
