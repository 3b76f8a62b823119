// Starting from a picture: /imagine's `image` attachment or a Discord CDN link at the start of the prompt
// (as Midjourney reads prompts). Checked before the acknowledgement where the interaction already says
// enough (the model, the strength, the declared size), fetched and fitted after it, stored with the job.
import type { Attachment, ChatInputCommandInteraction } from 'discord.js';
import { InvalidOptionError } from '../discord/errors.ts';
import { cdnAttachmentUrl, fetchCdnImage } from '../discord/cdn-image.ts';
import type { Services } from '../discord/command-types.ts';
import type { GenerateRequest } from '../engine/types.ts';
import { SourceImageError } from '../media/errors.ts';
import { SOURCE_LIMITS, fitSourceImage } from '../media/source-image.ts';
import { aspectToSize } from './aspect.ts';
import { sizeForRatio } from '../engine/model-size.ts';

export const STRENGTH_RANGE = [0.05, 1] as const;
export const DEFAULT_STRENGTH = 0.6;
const LEADING_URL = /^<?(https?:\/\/[^\s>]+)>?(?:\s+|$)/;

/** Where a job's picture comes from, once the options were read. */
export interface SourceChoice {
  url: string;
  /** How the user knows the picture (the file's name). */
  name: string;
  strength: number;
}

/** Takes a leading image link off the prompt: `{ url, rest }`, or the prompt as it was. */
export function splitLeadingUrl(prompt: string): { url?: string; rest: string } {
  const match = LEADING_URL.exec(prompt.trimStart());
  if (!match) return { rest: prompt };
  return { url: match[1], rest: prompt.trimStart().slice(match[0].length) };
}

/** The picture the options ask for (undefined for text alone). Throws InvalidOptionError. */
export function chooseSource(
  interaction: ChatInputCommandInteraction,
  url: string | undefined,
  services: Pick<Services, 'imageToImage' | 'imageFetch'>,
): SourceChoice | undefined {
  const attachment = interaction.options.getAttachment('image');
  const strength = interaction.options.getNumber('strength');
  if (!attachment && !url) {
    if (strength !== null)
      throw new InvalidOptionError('strength only applies when you start from an image (the image option).');
    return undefined;
  }
  if (attachment && url)
    throw new InvalidOptionError('Give one image: either the image option or a link before the prompt, not both.');
  if (!services.imageToImage)
    throw new InvalidOptionError(
      'This model cannot start from an image (it has no VAE encoder); describe the picture in words instead.',
    );
  const [min, max] = STRENGTH_RANGE;
  if (strength !== null && !(strength >= min && strength <= max))
    throw new InvalidOptionError(`strength must be between ${min} and ${max}, got ${strength}.`);
  const chosen = { strength: strength ?? DEFAULT_STRENGTH };
  if (attachment) return { ...chosen, ...fromAttachment(attachment) };
  const link = url ? cdnAttachmentUrl(url, services.imageFetch.origins) : undefined;
  if (!link)
    throw new InvalidOptionError(
      "I only fetch images uploaded to Discord: the link before the prompt must point at Discord's CDN.",
    );
  return { ...chosen, url: link.href, name: fileName(link.pathname) };
}

function fromAttachment(attachment: Attachment): { url: string; name: string } {
  if (attachment.size > SOURCE_LIMITS.maxBytes)
    throw new InvalidOptionError(`The image is over ${SOURCE_LIMITS.maxBytes / 1024 / 1024} MB.`);
  const type = attachment.contentType ?? '';
  if (type !== '' && !type.startsWith('image/'))
    throw new InvalidOptionError(`That attachment is ${type.split(';')[0]}, not an image (PNG, JPEG, WebP or GIF).`);
  const { width, height } = attachment;
  if ((width ?? 0) > SOURCE_LIMITS.maxSide || (height ?? 0) > SOURCE_LIMITS.maxSide)
    throw new InvalidOptionError(
      `The image is ${width}×${height}; at most ${SOURCE_LIMITS.maxSide} px a side, please.`,
    );
  return { url: attachment.url, name: cleanName(attachment.name) };
}

/**
 * After the acknowledgement: fetches the picture, fits it to the size the job will draw (its own shape, or
 * the aspect the user asked for), stores it, and returns the request that starts from it.
 */
export async function attachSource(
  request: GenerateRequest,
  source: SourceChoice,
  aspect: string | undefined,
  services: Pick<Services, 'imageFetch' | 'size' | 'queue'>,
): Promise<GenerateRequest> {
  const bytes = await fetchCdnImage(source.url, { ...services.imageFetch, maxBytes: SOURCE_LIMITS.maxBytes });
  const fitted = await fitSourceImage(bytes, (ratio) =>
    aspect ? aspectToSize(aspect, services.size) : sizeForRatio(ratio, services.size),
  ).catch((error: unknown) => {
    throw error instanceof SourceImageError ? new InvalidOptionError(error.message) : error;
  });
  const imagePath = await services.queue.storeSource(fitted.png);
  return { ...request, width: fitted.width, height: fitted.height, init: { imagePath, strength: source.strength } };
}

function fileName(pathname: string): string {
  const last = pathname.split('/').pop() ?? '';
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {}
  return cleanName(decoded);
}

/** A file name as the user may read it back: no control or markdown characters, at most 64 characters. */
function cleanName(name: string): string {
  const clean = name.replace(/[\u0000-\u001f\u007f*_`~|<>@#\\]/g, '').trim();
  return (clean || 'image').slice(0, 64);
}
