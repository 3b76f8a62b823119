// Image encoding for finals (PNG with generation parameters) and previews (WebP/JPEG), grids and display upscaling.
import sharp from 'sharp';
import { basename } from 'node:path';
import type { GenerateRequest, RawImage } from './types.ts';

// ---- PNG text chunks -------------------------------------------------------------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as the PNG spec defines it (over chunk type + data). */
export function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  data.copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

function isLatin1(text: string): boolean {
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) return false;
  return true;
}

/** tEXt when the text is Latin-1 (as A1111/PIL do), else an uncompressed iTXt with UTF-8 text. */
function textChunk(keyword: string, text: string): Buffer {
  if (isLatin1(text))
    return chunk(
      'tEXt',
      Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0]), Buffer.from(text, 'latin1')]),
    );
  // keyword \0 compression-flag(0) method(0) language-tag \0 translated-keyword \0 text
  const head = Buffer.concat([Buffer.from(keyword, 'latin1'), Buffer.from([0, 0, 0, 0, 0])]);
  return chunk('iTXt', Buffer.concat([head, Buffer.from(text, 'utf8')]));
}

/** Inserts text chunks right after IHDR. */
export function insertPngText(png: Buffer, entries: Record<string, string>): Buffer {
  if (!png.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('expected a PNG signature at the start of the buffer');
  const ihdrEnd = 8 + 12 + png.readUInt32BE(8);
  const chunks = Object.entries(entries).map(([k, v]) => textChunk(k, v));
  return Buffer.concat([png.subarray(0, ihdrEnd), ...chunks, png.subarray(ihdrEnd)]);
}

/** Reads tEXt and (uncompressed) iTXt chunks; checks each chunk's CRC. */
export function readPngText(buf: Buffer): Record<string, string> {
  if (!buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new Error('expected a PNG signature at the start of the buffer');
  const out: Record<string, string> = {};
  let pos = 8;
  while (pos + 12 <= buf.length) {
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const data = buf.subarray(pos + 8, pos + 8 + len);
    const crc = buf.readUInt32BE(pos + 8 + len);
    if (crc !== crc32(buf.subarray(pos + 4, pos + 8 + len)))
      throw new Error(`bad CRC in PNG chunk ${type} at byte ${pos}`);
    if (type === 'tEXt') {
      const nul = data.indexOf(0);
      out[data.toString('latin1', 0, nul)] = data.toString('latin1', nul + 1);
    } else if (type === 'iTXt') {
      const nul = data.indexOf(0);
      const keyword = data.toString('latin1', 0, nul);
      const compressed = data[nul + 1];
      const langEnd = data.indexOf(0, nul + 3);
      const transEnd = data.indexOf(0, langEnd + 1);
      if (compressed === 0) out[keyword] = data.toString('utf8', transEnd + 1);
    }
    if (type === 'IEND') break;
    pos += 12 + len;
  }
  return out;
}

// Field order and labels as A1111 writes them; keys not listed are appended as "key: value".
const PARAM_LABELS: [key: string, label: string][] = [
  ['steps', 'Steps'],
  ['sampler', 'Sampler'],
  ['guidance', 'CFG scale'],
  ['seed', 'Seed'],
  ['size', 'Size'],
  ['model', 'Model'],
];

/**
 * A1111-style parameters text: "prompt\nNegative prompt: ...\nSteps: 20, Sampler: euler_a, CFG scale: 7, Seed: 1, Size: 64x64, Model: emoji-tiny".
 * Recognised keys: prompt, negative (or negativePrompt), steps, sampler, guidance, seed, size, model; others follow.
 */
export function formatParameters(meta: Record<string, string>): string {
  const lines = [meta.prompt ?? ''];
  const negative = meta.negative ?? meta.negativePrompt;
  if (negative) lines.push(`Negative prompt: ${negative}`);
  const known = new Set(['prompt', 'negative', 'negativePrompt', ...PARAM_LABELS.map(([k]) => k)]);
  const fields = PARAM_LABELS.filter(([k]) => meta[k] !== undefined).map(([k, label]) => `${label}: ${meta[k]}`);
  for (const [k, v] of Object.entries(meta)) if (!known.has(k) && k !== 'parameters') fields.push(`${k}: ${v}`);
  if (fields.length) lines.push(fields.join(', '));
  return lines.join('\n');
}

/** The parameters of one image of a request, as written into its PNG (one shape for the CLI and the worker). */
export function imageParameters(request: GenerateRequest, seed: number, model: string): Record<string, string> {
  return {
    prompt: request.prompt,
    ...(request.negativePrompt ? { negative: request.negativePrompt } : {}),
    steps: String(request.steps),
    sampler: request.sampler,
    guidance: String(request.guidance),
    seed: String(seed),
    size: `${request.width}x${request.height}`,
    ...(request.variation
      ? { 'variation seed': String(request.variation.seed), 'variation strength': String(request.variation.strength) }
      : {}),
    ...(request.init
      ? { 'source image': basename(request.init.imagePath), strength: String(request.init.strength) }
      : {}),
    model,
  };
}

function toSharp(image: RawImage): sharp.Sharp {
  checkImage(image);
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
}

function checkImage(image: RawImage): void {
  if (image.data.length !== image.width * image.height * 3) {
    throw new Error(
      `expected ${image.width}x${image.height}x3 = ${image.width * image.height * 3} bytes of RGB, got ${image.data.length}`,
    );
  }
}

/**
 * Lossless PNG with a `parameters` text chunk. `meta.parameters`, when given, is written verbatim;
 * otherwise it is composed from the other keys by formatParameters.
 */
export async function encodePng(image: RawImage, meta: Record<string, string>): Promise<Buffer> {
  const png = await toSharp(image).png({ compressionLevel: 6 }).toBuffer();
  return insertPngText(png, { parameters: meta.parameters ?? formatParameters(meta) });
}

/** Small, quick preview for chat edits. */
export async function encodePreview(image: RawImage, format: 'webp' | 'jpeg' = 'webp'): Promise<Buffer> {
  const s = toSharp(image);
  return format === 'webp' ? s.webp({ quality: 80, effort: 0 }).toBuffer() : s.jpeg({ quality: 80 }).toBuffer();
}

/** Decodes any image sharp reads into 8-bit RGB (alpha flattened onto white). */
export async function decodeImage(input: Buffer | string): Promise<RawImage> {
  const { data, info } = await sharp(input)
    .flatten({ background: '#ffffff' })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

// ---- Layout ----------------------------------------------------------------------------------

/** 1 -> the image, 2 -> 1 row x 2, 3 or 4 -> 2x2 (a blank black cell for 3). All images must share one size. */
export function makeGrid(images: RawImage[]): RawImage {
  if (images.length === 0 || images.length > 4)
    throw new Error(`expected 1 to 4 images for a grid, got ${images.length}`);
  const { width: w, height: h } = images[0];
  for (const img of images) {
    checkImage(img);
    if (img.width !== w || img.height !== h)
      throw new Error(`expected every grid image to be ${w}x${h}, got ${img.width}x${img.height}`);
  }
  if (images.length === 1) return images[0];
  const cols = 2;
  const rows = images.length === 2 ? 1 : 2;
  const gw = w * cols;
  const out = new Uint8Array(gw * h * rows * 3);
  images.forEach((img, i) => {
    const x0 = (i % cols) * w;
    const y0 = Math.floor(i / cols) * h;
    for (let y = 0; y < h; y++) out.set(img.data.subarray(y * w * 3, (y + 1) * w * 3), ((y0 + y) * gw + x0) * 3);
  });
  return { width: gw, height: h * rows, data: out };
}
