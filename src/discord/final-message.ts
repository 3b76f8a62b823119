// The message a finished job ends with: its image (scaled for display and to the server's upload
// limit, with a note when either limit bit), its film or strip, or a plain sentence for a job that
// failed or was cancelled.
import { readFile } from 'node:fs/promises';
import sharp from 'sharp';
import type { JobRecord, SafetyMode } from '../queue/index.ts';
import { BLOCKED_NOTICE, isFlagged, spoilered } from './safety.ts';
import { endedPayload, finalPayload, mediaPayload, type MessagePayload } from './render.ts';
import { failureText } from './failure.ts';
import { AttachmentTooLargeError, attachmentLimitOf, displayPng, formatBytes } from './display-image.ts';

/** `safety`: the mode of the job's channel, which decides what a flagged image becomes (default block). */
export async function finalMessage(
  job: JobRecord,
  displaySide?: number,
  safety: SafetyMode = 'block',
): Promise<MessagePayload> {
  const flagged = isFlagged(job) && safety !== 'off';
  if (flagged && safety === 'block') return endedPayload(job, BLOCKED_NOTICE);
  const payload = await withVideo(job, await messageFor(job, displaySide));
  return flagged ? spoilered(payload) : payload;
}

async function messageFor(job: JobRecord, displaySide: number | undefined): Promise<MessagePayload> {
  if (job.state === 'cancelled') return endedPayload(job, 'Cancelled.');
  if (job.state === 'failed') {
    return endedPayload(job, `Failed: ${failureText(job)}. Try again, perhaps with fewer steps or a smaller size.`);
  }
  const result = job.result;
  if (result?.media && result.images.length === 0) {
    const file = { name: result.media.name, data: await readFile(result.media.path) };
    return mediaPayload(job, file, result.media.caption);
  }
  if (!result || result.images.length === 0) return endedPayload(job, 'Finished, but the images are missing.');
  const name = result.grid ? 'grid.png' : 'image.png';
  const stored = await readFile(result.grid ?? result.images[0]);
  const limit = attachmentLimitOf(job);
  const imageSide = Math.min(job.request.width, job.request.height);
  try {
    const shown = await displayPng(stored, { imageSide, displaySide, limit });
    const note = shown.reduced
      ? `Shown at ${shown.factor}× (the full size, ${formatBytes(shown.fullBytes)}, is over this server's ${formatBytes(limit)} upload limit).`
      : undefined;
    return finalPayload(job, { name, data: shown.data }, result.images.length, note);
  } catch (error) {
    if (!(error instanceof AttachmentTooLargeError)) throw error;
    const { width, height } = await sharp(stored).metadata();
    const note = `The image could not be attached: even at its native size it is ${formatBytes(error.smallestBytes)}, over this server's ${formatBytes(limit)} upload limit (stored ${width}×${height}). Ask a moderator about the server's upload limit, or try a smaller aspect or fewer images.`;
    return { ...finalPayload(job, { name, data: stored }, result.images.length, note), files: [] };
  }
}

/** --video: the film of this very run rides along with its image (the worker fitted it to the limit). */
async function withVideo(job: JobRecord, payload: MessagePayload): Promise<MessagePayload> {
  const media = job.result?.media;
  if (!media || job.result!.images.length === 0 || payload.files.length === 0) return payload;
  return { ...payload, files: [...payload.files, { name: media.name, data: await readFile(media.path) }] };
}
