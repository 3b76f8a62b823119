// 🎞 under a result: a new, cheap-to-explain job that re-runs the stored request (same seed and
// parameters, so the same picture) and posts the film of its denoising steps. Anyone may press it; the
// job counts against the presser's own limits, like 🔄.
import type { BaseInteraction, ButtonInteraction } from 'discord.js';
import { assertJobVisible } from '../discord/job-access.ts';
import { UnknownJobError } from '../discord/errors.ts';
import type { GenerateRequest } from '../engine/types.ts';
import type { JobRecord } from '../queue/index.ts';
import type { ButtonRef } from '../discord/custom-id.ts';
import { submitJob } from './submit.ts';
import type { ButtonFamily, Services } from '../discord/command-types.ts';
import { seedOf } from './variants.ts';

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

/**
 * The request that makes exactly image `index` (1-based) of `parent`, alone: image i of a batch is
 * seed + i with variation seed + i, so one image costs one image's work. Without an index: the whole
 * request, as posted (a grid films as a grid).
 */
export function singleImageRequest(parent: JobRecord, index?: number): GenerateRequest {
  const r = parent.request;
  if (index === undefined) return structuredClone(r);
  const seed = seedOf(parent, index);
  const i = index - 1;
  return {
    ...structuredClone(r),
    seed,
    count: 1,
    ...(r.variation ? { variation: { ...r.variation, seed: (r.variation.seed + i) >>> 0 } } : {}),
  };
}

export const timelapseButton: ButtonFamily = {
  actions: ['timelapse'],
  async execute(interaction: ButtonInteraction, ref: ButtonRef, services: Services): Promise<void> {
    await interaction.deferReply();
    const parent = await finishedJobFor(interaction, ref.jobId, services);
    await submitJob(interaction, services, singleImageRequest(parent, ref.index), 'timelapse', { parentId: parent.id });
  },
};
