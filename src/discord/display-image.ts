// Result images are stored at the model's native size; this is the one place they are scaled for
// Discord: a nearest-neighbour upscale to the display side (no pixel is invented), lowered step by
// step, down to native size, when the server's upload limit (the interaction's attachment_size_limit,
// 10 MiB when absent) is smaller.
import sharp from 'sharp';
import { insertPngText, readPngText } from '../engine/images.ts';
import { DEFAULT_ATTACHMENT_LIMIT, type JobRecord } from '../queue/index.ts';

/** Short side a result is shown at unless the model's own is larger. */
export const DISPLAY_SIDE = 512;

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

export interface DisplayPng {
  data: Buffer;
  /** Upscale factor of the bytes returned (1 = the stored native file). */
  factor: number;
  /** True when a lower factor than the display one was needed to fit the limit. */
  reduced: boolean;
  /** Bytes at the display factor (what the user would have got without the limit). */
  fullBytes: number;
}

export interface DisplayOptions {
  /** Short side of one image of the stored file at native size (a grid holds 2 or 4 of them). */
  imageSide: number;
  /** Short side to show one image at. Default DISPLAY_SIDE. */
  displaySide?: number;
  /** Largest attachment in bytes. */
  limit: number;
}

/** The stored native PNG upscaled for display, at the largest factor that fits the limit; text chunks kept. */
export async function displayPng(stored: Buffer, options: DisplayOptions): Promise<DisplayPng> {
  const { width = options.imageSide, height = options.imageSide } = await sharp(stored).metadata();
  const factor = Math.max(1, Math.ceil((options.displaySide ?? DISPLAY_SIDE) / options.imageSide));
  const text = readPngText(stored);
  let fullBytes = 0;
  let smallest = Number.POSITIVE_INFINITY;
  for (const f of [...new Set([factor, ...halvings(factor), 1])]) {
    const data = f === 1 ? stored : await upscalePng(stored, width * f, height * f, text);
    if (f === factor) fullBytes = data.length;
    smallest = Math.min(smallest, data.length);
    if (data.length <= options.limit) return { data, factor: f, reduced: f < factor, fullBytes };
  }
  throw new AttachmentTooLargeError(smallest, options.limit);
}

async function upscalePng(png: Buffer, width: number, height: number, text: Record<string, string>): Promise<Buffer> {
  const data = await sharp(png)
    .resize(width, height, { kernel: 'nearest' })
    .png({ compressionLevel: 9, adaptiveFiltering: true })
    .toBuffer();
  return Object.keys(text).length > 0 ? insertPngText(data, text) : data;
}

function halvings(factor: number): number[] {
  const out: number[] = [];
  for (let f = Math.floor(factor / 2); f >= 1; f = Math.floor(f / 2)) out.push(f);
  return out;
}

/** The limit the job carries (from the interaction), else Discord's default. */
export function attachmentLimitOf(job: JobRecord): number {
  const limit = job.extras?.attachmentLimit;
  return typeof limit === 'number' && Number.isFinite(limit) && limit > 0 ? limit : DEFAULT_ATTACHMENT_LIMIT;
}

export function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024) return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
  if (bytes >= 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${bytes} bytes`;
}
