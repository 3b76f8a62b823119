// 🎞 under a result: a new, cheap-to-explain job that re-runs the stored request (same seed and
// parameters, so the same picture) and posts the film of its denoising steps. Anyone may press it; the
// job counts against the presser's own limits, like 🔄.
import type { BaseInteraction, ButtonInteraction } from 'discord.js';
import { assertJobVisible } from '../discord/job-access.ts';
import { UnknownJobError } from '../discord/errors.ts';
import { showableMode } from '../discord/safety.ts';
import type { JobRecord } from '../queue/index.ts';
import type { ButtonRef } from '../discord/custom-id.ts';
import { submitJob } from './submit.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { singleImageRequest } from './variants.ts';

/** A finished job of this server, visible to the caller, whose parameters can be run again; or a user-facing error. */
export async function finishedJobFor(
  interaction: BaseInteraction,
  jobId: string,
  services: Services,
): Promise<JobRecord> {
  const job = await services.queue.get(jobId);
  if (job?.state !== 'done' || !job.result) {
    throw new UnknownJobError('That result is no longer available (it may have expired). Start again with /imagine.', {
      jobId,
    });
  }
  await assertJobVisible(interaction, job);
  if (job.kind === 'timelapse' || job.kind === 'diffusion') {
    throw new UnknownJobError('That is already a timelapse or a diffusion picture; use the image it was made from.', {
      jobId,
    });
  }
  return job;
}

export const timelapseButton: ButtonFamily = {
  actions: ['timelapse'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply();
    const parent = await finishedJobFor(interaction, ref.jobId, services);
    // A film ends on the image itself: a flagged one is filmed only where it may be shown as is.
    await showableMode(services.settings, parent, ref.index === undefined ? undefined : ref.index - 1, false);
    await submitJob(interaction, services, singleImageRequest(parent, ref.index), 'timelapse', { parentId: parent.id });
  },
};
