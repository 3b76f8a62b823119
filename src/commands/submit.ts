// Shared by /imagine and the job buttons: turn an acknowledged interaction plus a request into a
// queued job whose record carries everything delivery needs (even after a restart).
import type { ButtonInteraction, ChatInputCommandInteraction } from 'discord.js';
import type { GenerateRequest } from '../engine/types.ts';
import type { JobExtras, JobKind, JobOwner, JobRecord } from '../queue/index.ts';
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
    // The server's upload limit for this interaction (Discord sends attachment_size_limit).
    ...(typeof interaction.attachmentSizeLimit === 'number' && interaction.attachmentSizeLimit > 0
      ? { attachmentLimit: interaction.attachmentSizeLimit }
      : {}),
  };
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
  parentId?: string,
  extras?: JobExtras,
): Promise<JobRecord> {
  const job = await services.queue.submit({
    owner: ownerOf(interaction),
    request,
    kind,
    parentId,
    delivery: deliveryOf(interaction),
    ...(extras && Object.keys(extras).length > 0 ? { extras } : {}),
  });
  services.track(job);
  return job;
}
