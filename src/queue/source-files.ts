// The pictures image-to-image jobs start from, one file per distinct picture (named by its hash), so a
// reroll or Vary of such a job, or a restart, starts from the very same pixels. A file lives as long as the
// newest job that uses it: each use renews its time, and pruning removes those unused for the retention.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { SubmitError } from './errors.ts';

/** Stores a source PNG (or renews the one already stored) and returns its path. */
export async function storeSourceFile(dir: string, png: Buffer): Promise<string> {
  const path = join(dir, `${createHash('sha256').update(png).digest('hex').slice(0, 32)}.png`);
  await mkdir(dir, { recursive: true });
  const now = new Date();
  try {
    await utimes(path, now, now);
  } catch {
    // Written to a temporary name first: a crash never leaves half a picture under the final name.
    const partial = `${path}.${process.pid}.partial`;
    await writeFile(partial, png);
    await rename(partial, path);
  }
  return path;
}

/** Keeps a stored source alive as long as a new job that starts from it (a reroll, a Vary). */
export async function renewSourceFile(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}

/** Deletes sources not used since `before` (ms since epoch); returns how many. */
export async function pruneSourceFiles(dir: string, before: number): Promise<number> {
  const names = await readdir(dir).catch(() => [] as string[]);
  let removed = 0;
  for (const name of names) {
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < before) {
      await rm(path, { force: true });
      removed++;
    }
  }
  return removed;
}

/** Only a picture this queue stored, and still has, may start a job (never any other file of the host). */
export function assertStoredSource(dir: string | undefined, path: string): void {
  if (!dir || dirname(resolve(path)) !== dir) throw new SubmitError('expected a source image stored by this queue');
  if (!existsSync(path)) throw new SubmitError('the source image of that job is no longer stored');
}
