// A result as a server emoji: the white around the drawing made transparent (only the white reachable
// from the border, so white eyes and highlights stay), anti-aliased edges un-blended from white, the drawing
// trimmed and centred in 128x128, as a PNG under Discord's 256 KiB emoji limit.
import sharp from 'sharp';

export const EMOJI_SIDE = 128;
export const EMOJI_MAX_BYTES = 256 * 1024;
/** How far from pure white (per channel) a pixel still counts as background. */
const WHITE_TOLERANCE = 24;

export class EmptyEmojiError extends Error {
  constructor() {
    super('the image is all background: nothing to cut out');
    this.name = 'EmptyEmojiError';
  }
}

export async function makeEmojiPng(png: Buffer): Promise<Buffer> {
  const { data, info } = await sharp(png).flatten({ background: '#ffffff' }).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  const { width, height } = info;
  const rgba = cutOutBackground(data, width, height);
  const box = opaqueBox(rgba, width, height);
  if (!box) throw new EmptyEmojiError();
  const cut = await sharp(rgba, { raw: { width, height, channels: 4 } })
    .extract(box)
    .resize(EMOJI_SIDE, EMOJI_SIDE, { fit: 'contain', background: { r: 0, g: 0, b: 0, alpha: 0 }, kernel: 'lanczos3' })
    .png({ compressionLevel: 9 })
    .toBuffer();
  if (cut.length <= EMOJI_MAX_BYTES) return cut;
  return sharp(cut).png({ palette: true, compressionLevel: 9 }).toBuffer();
}

/** RGBA: near-white pixels connected to the border become transparent; their neighbours are un-blended. */
function cutOutBackground(rgb: Buffer, width: number, height: number): Buffer {
  const n = width * height;
  const light = (i: number) =>
    rgb[3 * i] >= 255 - WHITE_TOLERANCE &&
    rgb[3 * i + 1] >= 255 - WHITE_TOLERANCE &&
    rgb[3 * i + 2] >= 255 - WHITE_TOLERANCE;
  const background = new Uint8Array(n);
  const stack: number[] = [];
  for (let x = 0; x < width; x++) stack.push(x, (height - 1) * width + x);
  for (let y = 0; y < height; y++) stack.push(y * width, y * width + width - 1);
  while (stack.length > 0) {
    const i = stack.pop()!;
    if (background[i] || !light(i)) continue;
    background[i] = 1;
    const x = i % width;
    if (x > 0) stack.push(i - 1);
    if (x < width - 1) stack.push(i + 1);
    if (i >= width) stack.push(i - width);
    if (i < n - width) stack.push(i + width);
  }
  const out = Buffer.alloc(n * 4);
  for (let i = 0; i < n; i++) {
    const [r, g, b] = [rgb[3 * i], rgb[3 * i + 1], rgb[3 * i + 2]];
    if (background[i]) continue; // transparent black
    const x = i % width;
    const edge =
      (x > 0 && background[i - 1]) ||
      (x < width - 1 && background[i + 1]) ||
      (i >= width && background[i - width]) ||
      (i < n - width && background[i + width]);
    // An edge pixel is the drawing blended with white: colour = a * c + (1 - a) * 255.
    const a = edge ? Math.max(0.25, (255 - Math.min(r, g, b)) / 255) : 1;
    const unblend = (v: number) => Math.max(0, Math.min(255, Math.round((v - (1 - a) * 255) / a)));
    out.set([unblend(r), unblend(g), unblend(b), Math.round(a * 255)], i * 4);
  }
  return out;
}

function opaqueBox(rgba: Buffer, width: number, height: number) {
  let [left, top, right, bottom] = [width, height, -1, -1];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (rgba[(y * width + x) * 4 + 3] > 0) {
        left = Math.min(left, x);
        right = Math.max(right, x);
        top = Math.min(top, y);
        bottom = Math.max(bottom, y);
      }
  return right < 0 ? undefined : { left, top, width: right - left + 1, height: bottom - top + 1 };
}
