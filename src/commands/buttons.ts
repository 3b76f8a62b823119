// Buttons under our messages: 🔄 reroll, Vary (Subtle/Strong), U1–U4 (pick), V1–V4 (variation),
// Cancel and 🗑. Anyone may reroll/vary/pick: it becomes THEIR job, under their own limits. Only the
// job's owner or a moderator of its server may cancel or delete.
import {
  MessageFlags,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type ModalSubmitInteraction,
} from 'discord.js';
import { NotAllowedError, UnknownJobError, UserFacingError } from '../discord/errors.ts';
import { assertJobVisible, moderatesJob } from '../discord/job-access.ts';
import type { JobRecord } from '../queue/index.ts';
import type { ButtonRef } from '../discord/custom-id.ts';
import { ownerOf, submitJob } from './submit.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { STRONG_STRENGTH, SUBTLE_STRENGTH, rerollRequest, seedOf, variationRequest } from './variants.ts';
import { pickPayload } from '../discord/render.ts';
import { showableMode, spoilered } from '../discord/safety.ts';
import { AttachmentTooLargeError, displayPng, formatBytes } from '../discord/display-image.ts';
import { DEFAULT_ATTACHMENT_LIMIT } from '../queue/index.ts';
import { readFile } from 'node:fs/promises';

/** The finished job a button (or its modal) names, when the caller may use it here. */
export async function finishedJob(
  interaction: ButtonInteraction | ModalSubmitInteraction,
  ref: ButtonRef,
  services: Services,
): Promise<JobRecord> {
  const job = await services.queue.get(ref.jobId);
  if (job?.state !== 'done' || !job.result) {
    throw new UnknownJobError('That result is no longer available (it may have expired). Start again with /imagine.', {
      jobId: ref.jobId,
    });
  }
  await assertJobVisible(interaction, job);
  return job;
}

export const jobButtons: ButtonFamily = {
  actions: ['reroll', 'varySubtle', 'varyStrong', 'pick', 'variation'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply();
    const parent = await finishedJob(interaction, ref, services);
    switch (ref.action) {
      case 'reroll':
        await submitJob(interaction, services, rerollRequest(parent, services.randomSeed(), ref.index), 'reroll', {
          parentId: parent.id,
        });
        return;
      case 'varySubtle':
      case 'varyStrong':
      case 'variation': {
        // V1–V4 vary as strongly as "Vary (Strong)".
        const strength = ref.action === 'varySubtle' ? SUBTLE_STRENGTH : STRONG_STRENGTH;
        await submitJob(
          interaction,
          services,
          variationRequest(parent, ref.index ?? 1, services.randomSeed(), strength),
          'variation',
          { parentId: parent.id },
        );
        return;
      }
      case 'pick': {
        // No engine work: the image is stored; it is scaled for display here.
        const index = ref.index ?? 1;
        seedOf(parent, index);
        // It posts like a job would: the same channel rules, and a cooldown of its own.
        await services.queue.admitPost(ownerOf(interaction));
        const path = parent.result?.images[index - 1];
        if (!path) throw new UnknownJobError('That image is no longer stored. Use 🔄 to make a new one.');
        const safety = await showableMode(services.settings, parent, index - 1, true);
        const limit = interaction.attachmentSizeLimit > 0 ? interaction.attachmentSizeLimit : DEFAULT_ATTACHMENT_LIMIT;
        const imageSide = Math.min(parent.request.width, parent.request.height);
        const shown = { imageSide, displaySide: services.displaySide, limit };
        const fitted = await displayPng(await readFile(path), shown).catch((error: unknown) => {
          if (!(error instanceof AttachmentTooLargeError)) throw error;
          throw new UserFacingError(
            'attachmentTooLarge',
            `That image is ${formatBytes(error.smallestBytes)} even at its native size, over this server's ${formatBytes(limit)} upload limit, so it cannot be posted.`,
          );
        });
        const picked = pickPayload(
          parent,
          index,
          { name: `image-${index}.png`, data: fitted.data },
          interaction.user.id,
        );
        const payload = safety === 'spoiler' ? spoilered(picked) : picked;
        await interaction.editReply({
          content: payload.content,
          components: payload.components,
          files: payload.files.map((f) => ({ attachment: f.data, name: f.name })),
          allowedMentions: { parse: [] },
        });
        return;
      }
      default:
        throw new UnknownJobError(`That button (${ref.action}) is not handled here.`);
    }
  },
};

export const deleteButton: ButtonFamily = {
  actions: ['delete'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const job = await services.queue.get(ref.jobId);
    if (!job)
      throw new UnknownJobError('That result is no longer available (it may have expired); nothing to delete.', {
        jobId: ref.jobId,
      });
    await assertJobVisible(interaction, job);
    await assertMayManage(interaction, job, services, 'delete');
    // Only the message this button is on, and only when it is ours about this job (its buttons name it).
    const onIt = interaction.message.components.some((r) =>
      'components' in r ? r.components.some((c) => 'customId' in c && c.customId === interaction.customId) : false,
    );
    if (!onIt || interaction.message.author.id !== interaction.client.user.id)
      throw new NotAllowedError('That button does not belong to this message.', { jobId: job.id });
    await interaction.message.delete();
    // A U post shows one image of a grid that is still posted: the stored images stay for the grid.
    if (ref.index === undefined) await services.queue.deleteResult(job.id);
    await interaction.editReply({
      content: ref.index === undefined ? 'Deleted the image and its stored copy.' : 'Deleted that post.',
    });
  },
};

/** The owner may act on their job from anywhere; a moderator only on jobs of the server they moderate. */
async function assertMayManage(
  interaction: ButtonInteraction | ChatInputCommandInteraction,
  job: JobRecord,
  services: Services,
  verb: 'cancel' | 'delete',
): Promise<boolean> {
  const own = job.owner.userId === interaction.user.id;
  const moderator = !own && moderatesJob(interaction, job, await services.settings.get(job.owner.guildId));
  if (!own && !moderator) {
    throw new NotAllowedError(
      `Only the person who asked for this image, or a moderator of its server, can ${verb} it.`,
      { jobId: job.id },
    );
  }
  return moderator;
}

export const cancelButton: ButtonFamily = {
  actions: ['cancel'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    const job = await cancelJob(interaction, ref.jobId, services);
    await interaction.editReply({ content: cancelOutcome(job) });
  },
};

/**
 * Shared by the Cancel button and /cancel. The owner may cancel from anywhere; a moderator only jobs of
 * the server they moderate. Returns the job as it ended: a running job may finish before it stops.
 */
export async function cancelJob(
  interaction: ButtonInteraction | ChatInputCommandInteraction,
  jobId: string,
  services: Services,
): Promise<JobRecord> {
  const job = await services.queue.get(jobId);
  if (!job) throw new UnknownJobError(`There is no job \`${jobId}\`. /queue lists yours.`, { jobId });
  const moderator = await assertMayManage(interaction, job, services, 'cancel');
  if (job.state !== 'queued' && job.state !== 'running') {
    throw new UnknownJobError(
      `That job has already ${job.state === 'done' ? 'finished' : job.state === 'failed' ? 'failed' : 'been cancelled'}; nothing to cancel.`,
      { jobId },
    );
  }
  return services.queue.cancel(jobId, { userId: interaction.user.id, isModerator: moderator });
}

/** What the cancel did, in the user's words (a running job can finish or fail before it stops). */
export function cancelOutcome(job: JobRecord): string {
  if (job.state === 'done') return `\`${job.id}\` finished before it could be cancelled; its image is posted.`;
  if (job.state === 'failed') return `\`${job.id}\` failed before it could be cancelled.`;
  return `Cancelled \`${job.id}\`.`;
}
