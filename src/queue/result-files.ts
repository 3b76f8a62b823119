// A finished job's files: the PNGs at the model's native size the worker writes (or encodes, for a remote
// worker), and their removal when the record expires. The front end scales them for display.
import { mkdir, rm, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { GenerateResult } from '../engine/types.ts';
import { encodePng, imageParameters, makeGrid } from '../engine/images.ts';
import { imageRequest } from '../engine/noise.ts';
import type { JobResult, RunnableJob } from './types.ts';

/** Native-size PNGs with the parameters text chunk: one per image, plus a grid when there are several. */
export async function writeResultFiles(
  dir: string,
  job: RunnableJob,
  result: GenerateResult,
): Promise<{ images: string[]; grid?: string }> {
  const pngs = await encodeResultPngs(job, result);
  await mkdir(dir, { recursive: true });
  const images: string[] = [];
  for (let i = 0; i < pngs.images.length; i++) {
    const path = join(dir, `${i}.png`);
    await writeFile(path, pngs.images[i]);
    images.push(path);
  }
  if (!pngs.grid) return { images };
  const grid = join(dir, 'grid.png');
  await writeFile(grid, pngs.grid);
  return { images, grid };
}

/** The same PNGs as bytes (a remote worker ships them through Redis instead of a shared disk). */
export async function encodeResultPngs(
  job: RunnableJob,
  result: GenerateResult,
): Promise<{ images: Buffer[]; grid?: Buffer }> {
  const r = job.request;
  // Each image's parameters are its own request's: the same run makes the same file, byte for byte.
  const images: Buffer[] = [];
  for (let i = 0; i < result.images.length; i++) {
    const own = imageRequest(r, i);
    images.push(await encodePng(result.images[i], imageParameters(own, result.seeds[i] ?? own.seed, result.model)));
  }
  if (result.images.length <= 1) return { images };
  return { images, grid: await encodePng(makeGrid(result.images), imageParameters(r, r.seed, result.model)) };
}

/** Deletes a job's result files, and its folder when that is named after the job. */
export async function removeResultFiles(jobId: string, result: JobResult): Promise<void> {
  const files = [
    ...(result.images ?? []),
    ...(result.grid ? [result.grid] : []),
    ...(result.media ? [result.media.path] : []),
  ];
  await Promise.all(files.map((f) => unlink(f).catch(() => {})));
  // The worker writes into <resultsDir>/<jobId>/; remove that folder only when it is named after the job.
  const dirs = new Set(files.map((f) => dirname(f)).filter((d) => basename(d) === jobId));
  await Promise.all([...dirs].map((d) => rm(d, { recursive: true, force: true })));
}
