// Jobs whose result is (or includes) a file other than the PNGs 'timelapse' (🎞, a re-run
// filmed), 'diffusion' (the forward/reverse strip) and a plain image job asked for with --video (filmed
// during its own run, no second run). They go through the same queue, limits and worker as any job.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { MediaFile, MediaRenderer } from '../media/renderer.ts';
import type { GenerateRequest, GenerateResult, StepProgress } from '../engine/types.ts';
import { basename, extname } from 'node:path';
import type { JobMedia, RunnableJob } from './types.ts';

/** Discord's default attachment limit, used when the job does not say (interaction attachment_size_limit). */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/** The worker was given no MediaRenderer (an engine that cannot record its steps). */
export class MediaUnavailableError extends Error {
  override name = 'MediaUnavailableError';
  constructor(kind: string) {
    super(`expected a media renderer for a ${kind} job, but this worker's engine has none`);
  }
}

/** True when the worker must run the job through the MediaRenderer rather than plain generate(). */
export function isMediaJob(job: RunnableJob): boolean {
  return job.kind === 'timelapse' || job.kind === 'diffusion' || job.extras?.video === true;
}

export interface MediaRun {
  /** Present for --video image jobs: their images, saved as any job's. */
  result?: GenerateResult;
  media: MediaFile;
}

export async function runMediaJob(
  job: RunnableJob,
  renderer: MediaRenderer | undefined,
  options: { signal: AbortSignal; onStep: (p: StepProgress) => void; previews: boolean },
): Promise<MediaRun> {
  const kind = job.kind === 'timelapse' || job.kind === 'diffusion' ? job.kind : 'video';
  if (!renderer) throw new MediaUnavailableError(kind);
  const byteLimit = job.extras?.attachmentLimit ?? DEFAULT_ATTACHMENT_LIMIT;
  const index = job.extras?.index;
  if (job.kind === 'timelapse')
    return { media: await renderer.timelapse(job.request, { signal: options.signal, byteLimit, index }) };
  if (job.kind === 'diffusion')
    return { media: await renderer.diffusion(job.request, { signal: options.signal, byteLimit, index }) };
  const { result, timelapse } = await renderer.generateWithTimelapse(job.request, {
    signal: options.signal,
    byteLimit,
    onStep: options.onStep,
    previews: options.previews,
  });
  return { result, media: timelapse };
}

/** The seeds a request's images use (seed, seed + 1, ...), for a record whose run made no images. */
export function requestSeeds(request: GenerateRequest): number[] {
  return Array.from({ length: request.count }, (_, i) => (request.seed + i) >>> 0);
}

/** The kinds of file a media job makes. */
const MEDIA_EXTENSIONS = new Set(['.webp', '.png', '.gif']);

/** A media file's name may come from a remote worker: it must be a plain name with a known extension. */
export class MediaNameError extends Error {
  override name = 'MediaNameError';
}

export function checkMediaName(name: unknown): string {
  if (
    typeof name !== 'string' ||
    name !== basename(name) ||
    !/^[\w.-]{1,64}$/.test(name) ||
    name.startsWith('.') ||
    !MEDIA_EXTENSIONS.has(extname(name).toLowerCase())
  ) {
    throw new MediaNameError(
      `expected a media file name such as timelapse.webp (letters, digits, _ . -; ${[...MEDIA_EXTENSIONS].join(', ')}), got ${JSON.stringify(name)?.slice(0, 80)}`,
    );
  }
  return name;
}

/** Writes the file into the job's results folder (pruned with the job) and describes it for the record. */
export async function writeMediaFile(dir: string, media: MediaFile): Promise<JobMedia> {
  const name = checkMediaName(media.name);
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  await writeFile(path, media.data);
  return { path, name, caption: media.caption };
}
