// Tiled U-Net calls: windows cover every latent with at least a quarter's overlap, and blending the
// windows' predictions gives back what one call would give for any prediction that works pixel by pixel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tileOffsets, tileWindows, tiledPrediction } from '../../src/engine/tiles.ts';

test('window offsets cover the axis, start at 0, end at the edge, and overlap by at least a quarter', () => {
  assert.deepEqual(tileOffsets(8, 8), [0]);
  assert.deepEqual(tileOffsets(5, 8), [0]);
  for (const [size, tile] of [
    [16, 8],
    [17, 8],
    [128, 64],
    [100, 64],
  ]) {
    const offsets = tileOffsets(size, tile);
    assert.equal(offsets[0], 0);
    assert.equal(offsets.at(-1), size - tile);
    for (let i = 1; i < offsets.length; i++)
      assert.ok(offsets[i - 1] + tile - offsets[i] >= tile / 4, `${size}/${tile}`);
  }
  assert.equal(tileWindows(16, 24, 8, 8).length, tileOffsets(16, 8).length * tileOffsets(24, 8).length);
});

test('blending windows of a pixel-wise prediction equals the prediction of the whole', async () => {
  const dims = [2, 3, 16, 20];
  const input = Float32Array.from({ length: 2 * 3 * 16 * 20 }, (_, i) => Math.sin(i * 0.37));
  const pixelwise = (x: Float32Array) => Float32Array.from(x, (v) => v * 2 - 0.5);
  const calls: number[][] = [];
  const out = await tiledPrediction(input, dims, [8, 8], async (window, d) => {
    calls.push(d);
    return pixelwise(window);
  });
  const whole = pixelwise(input);
  for (let i = 0; i < out.length; i++) assert.ok(Math.abs(out[i] - whole[i]) < 1e-5, `value ${i}`);
  assert.ok(calls.length > 1 && calls.every((d) => d.join() === '2,3,8,8'), 'every call sees the tile size');
});
