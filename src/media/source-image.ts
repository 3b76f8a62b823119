// A picture a user starts from: checked (a still PNG, JPEG, WebP or GIF within the size caps), turned
// upright, cropped to the aspect it will be drawn at and scaled to the model's size, as a PNG. The engine
// then encodes exactly these pixels, so a re-run of the stored file starts from the same latents.
import sharp from 'sharp';
import { SourceImageError } from './errors.ts';

/** What a source image may be: Discord's own upload cap for bots (25 MB) and a side no phone exceeds. */
export const SOURCE_LIMITS = { maxBytes: 25 * 1024 * 1024, maxSide: 8000 } as const;
const FORMATS = ['png', 'jpeg', 'webp', 'gif'] as const;

export interface FittedSource {
  /** The picture at the size it will be drawn at, as PNG (no metadata). */
  png: Buffer;
  width: number;
  height: number;
  /** Its size as given (after turning it upright). */
  original: { width: number; height: number; format: string };
}

/**
 * Checks `bytes` and fits them to the size `sizeFor(aspect ratio)` returns (cropping the middle to that
 * ratio, as Midjourney and A1111 do). Throws SourceImageError with a message for the user.
 */
export async function fitSourceImage(
  bytes: Buffer,
  sizeFor: (ratio: number) => { width: number; height: number },
): Promise<FittedSource> {
  if (bytes.length > SOURCE_LIMITS.maxBytes)
    throw new SourceImageError('too_large', `The image is over ${SOURCE_LIMITS.maxBytes / 1024 / 1024} MB.`);
  let meta: sharp.Metadata;
  try {
    meta = await sharp(bytes).metadata();
  } catch {
    throw new SourceImageError('not_an_image', 'That file is not an image I can read (PNG, JPEG, WebP or GIF).');
  }
  const format = meta.format ?? 'unknown';
  if (!(FORMATS as readonly string[]).includes(format))
    throw new SourceImageError('format', `That is a ${format} file; send a PNG, JPEG, WebP or GIF.`);
  const { width = 0, height = 0 } = meta;
  if (width > SOURCE_LIMITS.maxSide || height > SOURCE_LIMITS.maxSide)
    throw new SourceImageError(
      'too_many_pixels',
      `The image is ${width}×${height}; at most ${SOURCE_LIMITS.maxSide} px a side, please.`,
    );
  if (width < 1 || height < 1) throw new SourceImageError('not_an_image', 'That image has no pixels.');
  if ((meta.pages ?? 1) > 1)
    throw new SourceImageError('animated', 'That image is animated; send a still picture (or one frame of it).');
  // EXIF orientations 5-8 swap the sides once the picture is turned upright.
  const upright = (meta.orientation ?? 1) >= 5 ? { width: height, height: width } : { width, height };
  const size = sizeFor(upright.width / upright.height);
  const png = await sharp(bytes, { limitInputPixels: SOURCE_LIMITS.maxSide ** 2 })
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize(size.width, size.height, { fit: 'cover', position: 'centre', kernel: 'lanczos3' })
    .removeAlpha()
    .png()
    .toBuffer()
    .catch(() => {
      throw new SourceImageError('not_an_image', 'That image is damaged; I could not decode it.');
    });
  return { png, ...size, original: { ...upright, format } };
}
