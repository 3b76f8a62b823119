// Fetching a picture a user pointed at: only from Discord's CDN (an attachment's signed URL), with a size
// cap and a time limit, following a redirect only when it stays on the CDN. Anything else is a URL the
// bot would fetch for a stranger (another host, the bot's own network), so it is refused before any request.
import { UserFacingError } from './errors.ts';

/** Where attachments live: Discord serves the same file from both hosts. */
export const DISCORD_CDN_ORIGINS = ['https://cdn.discordapp.com', 'https://media.discordapp.net'] as const;
const ATTACHMENT_PATH = /^\/(ephemeral-)?attachments\/\d+\/\d+\/[^/]+$/;
const MAX_REDIRECTS = 3;

export interface CdnFetchOptions {
  /** Origins accepted as Discord's CDN (DISCORD_CDN_ORIGINS, plus DISCORD_CDN_URL's when set). */
  origins: readonly string[];
  maxBytes: number;
  timeoutMs: number;
}

export class ImageUrlError extends UserFacingError {
  constructor(message: string) {
    super('imageUrl', message);
  }
}

/** The URL when it is an attachment on Discord's CDN, else undefined. */
export function cdnAttachmentUrl(text: string, origins: readonly string[]): URL | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return undefined;
  }
  if (url.username || url.password) return undefined;
  return origins.includes(url.origin) && ATTACHMENT_PATH.test(url.pathname) ? url : undefined;
}

/** The file's bytes. Throws ImageUrlError (a message for the user) for every way the fetch can fail. */
export async function fetchCdnImage(link: string, options: CdnFetchOptions): Promise<Buffer> {
  let url = cdnAttachmentUrl(link, options.origins);
  if (!url) throw new ImageUrlError("I only fetch images uploaded to Discord (a link to Discord's CDN).");
  const signal = AbortSignal.timeout(options.timeoutMs);
  try {
    for (let hop = 0; ; hop++) {
      const response = await fetch(url, { redirect: 'manual', signal });
      if (response.status >= 300 && response.status < 400) {
        await response.body?.cancel();
        const next = cdnAttachmentUrl(new URL(response.headers.get('location') ?? '', url).href, options.origins);
        if (!next || hop >= MAX_REDIRECTS)
          throw new ImageUrlError("That image link leads away from Discord's CDN; upload the image instead.");
        url = next;
        continue;
      }
      if (!response.ok) {
        await response.body?.cancel();
        throw new ImageUrlError(
          `Discord's CDN answered ${response.status} for that image (links expire after a day); upload it again.`,
        );
      }
      return await readCapped(response, options.maxBytes);
    }
  } catch (error) {
    if (error instanceof ImageUrlError) throw error;
    if (signal.aborted)
      throw new ImageUrlError(`That image took over ${Math.round(options.timeoutMs / 1000)} s to download; try again.`);
    throw new ImageUrlError('I could not download that image; try again, or upload it.');
  }
}

async function readCapped(response: Response, maxBytes: number): Promise<Buffer> {
  const tooLarge = () => new ImageUrlError(`That image is over ${Math.round(maxBytes / 1024 / 1024)} MB.`);
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of response.body ?? []) {
    total += chunk.length;
    if (total > maxBytes) throw tooLarge();
    chunks.push(Buffer.from(chunk));
  }
  return Buffer.concat(chunks);
}
