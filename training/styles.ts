// The other artists' drawings of the training emoji: SVG sets in Iconify JSON from npm, joined to the Noto set by
// code point and rasterised with sharp on white, the way prepare_data.py composites the Noto PNGs.
// Share-alike sets (OpenMoji, CC BY-SA) are left out: the model's weights would have to carry that licence.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { RawImage } from '../src/engine/index.ts';

export interface ArtStyle {
  /** The word a caption uses for it: "a fox, flat style". */
  name: string;
  /** The Iconify JSON package that holds it. */
  pkg: string;
  licence: string;
  artist: string;
  /** The package whose chars.json maps code points to this set's icon names (Fluent's colour set has none). */
  charsFrom?: string;
}

/** Noto itself comes from emoji-datasource-google's PNGs; these are the sets drawn by other artists. */
export const OTHER_STYLES: readonly ArtStyle[] = [
  {
    name: 'fluent',
    pkg: '@iconify-json/fluent-emoji',
    licence: 'MIT',
    artist: 'Microsoft Fluent Emoji (Color)',
    charsFrom: '@iconify-json/fluent-emoji-flat',
  },
  { name: 'flat', pkg: '@iconify-json/fluent-emoji-flat', licence: 'MIT', artist: 'Microsoft Fluent Emoji (Flat)' },
  {
    name: 'twemoji',
    pkg: '@iconify-json/twemoji',
    licence: 'CC-BY-4.0',
    artist: 'Twitter Twemoji (Twitter, Inc. and other contributors)',
  },
];

export const NOTO_STYLE = 'noto';

interface IconifyIcon {
  body: string;
  width?: number;
  height?: number;
  left?: number;
  top?: number;
}

interface IconifySet {
  icons: Record<string, IconifyIcon>;
  aliases?: Record<string, { parent: string }>;
  width?: number;
  height?: number;
}

export class StyleSetError extends Error {
  override name = 'StyleSetError';
}

/** emoji-datasource's "2764-FE0F" and Iconify's "2764" name one emoji: lower case, no variation selector. */
export function codeKey(unified: string): string {
  return unified
    .toLowerCase()
    .split('-')
    .filter((part) => part !== 'fe0f')
    .join('-');
}

async function readJson<T>(root: string, pkg: string, file: string): Promise<T> {
  const path = join(root, 'node_modules', pkg, file);
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    throw new StyleSetError(`expected ${path} (npm ci installs ${pkg}), got ${(error as Error).message}`);
  }
}

function svgOf(set: IconifySet, icon: IconifyIcon, side: number): string {
  const w = icon.width ?? set.width ?? 16;
  const h = icon.height ?? set.height ?? 16;
  return `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${side}" height="${side}" viewBox="${icon.left ?? 0} ${icon.top ?? 0} ${w} ${h}">${icon.body}</svg>`;
}

/** Supersampled four times, then reduced with Lanczos, as the Noto PNGs were drawn from larger art. */
export async function rasterise(svg: string, side: number): Promise<RawImage> {
  const { data, info } = await sharp(Buffer.from(svg))
    .resize(side, side, { fit: 'fill', kernel: 'lanczos3' })
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/** This style's drawing of each code (null where the set has none), `side` pixels square on white. */
export async function loadStyle(
  root: string,
  style: ArtStyle,
  codes: readonly string[],
  side: number,
): Promise<(RawImage | null)[]> {
  const set = await readJson<IconifySet>(root, style.pkg, 'icons.json');
  const chars = await readJson<Record<string, string>>(root, style.charsFrom ?? style.pkg, 'chars.json');
  const out: (RawImage | null)[] = [];
  for (const code of codes) {
    let name = chars[codeKey(code)];
    if (name && !set.icons[name] && set.aliases?.[name]) name = set.aliases[name].parent;
    const icon = name ? set.icons[name] : undefined;
    out.push(icon ? await rasterise(svgOf(set, icon, side * 4), side) : null);
  }
  return out;
}
