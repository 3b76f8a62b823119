// Attachments over the server's upload limit (the interaction's attachment_size_limit, 10 MiB by
// default): a result PNG is a nearest-neighbour upscale of the model's output, so it can be made
// smaller without losing a pixel of the real image by lowering that upscale, down to native size.
import sharp from 'sharp';
import { readPngText, insertPngText } from '../engine/images.ts';
import type { JobRecord } from '../queue/index.ts';

/** Discord's attachment limit when the interaction does not state one. */
export const DEFAULT_ATTACHMENT_LIMIT = 10 * 1024 * 1024;

/** Even at the model's native size the file is over the limit. */
export class AttachmentTooLargeError extends Error {
  override name = 'AttachmentTooLargeError';
  constructor(
    readonly smallestBytes: number,
    readonly limitBytes: number,
  ) {
    super(
      `expected an attachment of at most ${formatBytes(limitBytes)}, got ${formatBytes(smallestBytes)} even at the model's native size`,
    );
  }
}

export interface FittedPng {
  data: Buffer;
  /** Upscale factor of the bytes returned (the stored file's when it already fitted). */
  factor: number;
  /** True when the bytes were re-encoded smaller. */
  reduced: boolean;
}

/** The limit a job's delivery record carries (from the interaction), else Discord's default. */
export function attachmentLimitOf(job: JobRecord): number {
  const limit = job.delivery?.attachmentLimit;
  return typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? limit : DEFAULT_ATTACHMENT_LIMIT;
}

/**
 * `png` as is when it fits in `limit` bytes; otherwise re-encoded at a lower integer upscale (halving,
 * down to 1 = native size), keeping its text chunks. `nativeWidth` is the file's width at factor 1.
 * Throws AttachmentTooLargeError when even the native size does not fit.
 */
export async function fitPng(png: Buffer, limit: number, nativeWidth: number): Promise<FittedPng> {
  const { width, height } = await sharp(png).metadata();
  const factor = Math.max(1, Math.floor((width ?? nativeWidth) / nativeWidth));
  if (png.length <= limit) return { data: png, factor, reduced: false };
  const text = readPngText(png);
  const tries = [...new Set([factor, ...halvings(factor), 1])];
  let smallest = png.length;
  for (const f of tries) {
    const w = Math.max(1, Math.round(((width ?? nativeWidth) * f) / factor));
    const h = Math.max(1, Math.round(((height ?? nativeWidth) * f) / factor));
    let data = await sharp(png)
      .resize(w, h, { kernel: 'nearest' })
      .png({ compressionLevel: 9, adaptiveFiltering: true })
      .toBuffer();
    if (Object.keys(text).length > 0) data = insertPngText(data, text);
    smallest = Math.min(smallest, data.length);
    if (data.length <= limit) return { data, factor: f, reduced: true };
  }
  throw new AttachmentTooLargeError(smallest, limit);
}

function halvings(factor: number): number[] {
  const out: number[] = [];
  for (let f = Math.floor(factor / 2); f >= 1; f = Math.floor(f / 2)) out.push(f);
  return out;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
