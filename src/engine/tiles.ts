// Tiled U-Net calls (as MultiDiffusion does): latents larger than the model's own size are denoised as
// overlapping windows of that size, and the windows' predictions are blended with weights that fall off
// towards each window's inner edges, so no seam shows and the U-Net never sees a size it was not made for
// (memory stays that of one window, too).

export interface TileWindow {
  y: number;
  x: number;
}

/** Window offsets along one axis: `size` covered by windows of `tile` overlapping by at least a quarter. */
export function tileOffsets(size: number, tile: number): number[] {
  if (size <= tile) return [0];
  const overlap = Math.max(1, Math.floor(tile / 4));
  const count = Math.ceil((size - overlap) / (tile - overlap));
  const offsets: number[] = [];
  for (let i = 0; i < count; i++) offsets.push(Math.round((i * (size - tile)) / (count - 1)));
  return offsets;
}

/** Every window of a [height, width] latent, row by row. */
export function tileWindows(height: number, width: number, tileH: number, tileW: number): TileWindow[] {
  return tileOffsets(height, tileH).flatMap((y) => tileOffsets(width, tileW).map((x) => ({ y, x })));
}

/** Per-position weight of a window axis: highest in the middle, small (never 0) at its edges. */
function ramp(length: number): Float32Array {
  const w = new Float32Array(length);
  for (let i = 0; i < length; i++) w[i] = Math.min(i + 1, length - i) / Math.ceil(length / 2);
  return w;
}

/**
 * Runs `predict` on every window of `input` ([batch, channels, height, width]) and blends the results
 * into one prediction of the same shape. `predict` gets [batch, channels, tileH, tileW] and returns the same.
 */
export async function tiledPrediction(
  input: Float32Array,
  [batch, channels, height, width]: readonly number[],
  [tileH, tileW]: readonly [number, number],
  predict: (window: Float32Array, dims: number[]) => Promise<Float32Array>,
): Promise<Float32Array> {
  const th = Math.min(tileH, height);
  const tw = Math.min(tileW, width);
  const wy = ramp(th);
  const wx = ramp(tw);
  const sum = new Float32Array(input.length);
  const weight = new Float32Array(height * width);
  const planes = batch * channels;
  for (const { y, x } of tileWindows(height, width, th, tw)) {
    const window = new Float32Array(planes * th * tw);
    for (let p = 0; p < planes; p++)
      for (let r = 0; r < th; r++) {
        const from = p * height * width + (y + r) * width + x;
        window.set(input.subarray(from, from + tw), (p * th + r) * tw);
      }
    const out = await predict(window, [batch, channels, th, tw]);
    for (let r = 0; r < th; r++)
      for (let c = 0; c < tw; c++) {
        const w = wy[r] * wx[c];
        const at = (y + r) * width + x + c;
        weight[at] += w;
        for (let p = 0; p < planes; p++) sum[p * height * width + at] += w * out[(p * th + r) * tw + c];
      }
  }
  for (let p = 0; p < planes; p++) for (let i = 0; i < height * width; i++) sum[p * height * width + i] /= weight[i];
  return sum;
}
