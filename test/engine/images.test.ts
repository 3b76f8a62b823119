import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  crc32,
  encodePng,
  encodePreview,
  formatParameters,
  makeGrid,
  readPngText,
  decodeImage,
} from '../../src/engine/images.ts';
import type { RawImage } from '../../src/engine/types.ts';

function solid(w: number, h: number, rgb: [number, number, number]): RawImage {
  const data = new Uint8Array(w * h * 3);
  for (let i = 0; i < w * h; i++) data.set(rgb, i * 3);
  return { width: w, height: h, data };
}

function pixel(img: RawImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('PNG parameters chunk round-trips and the pixels survive', async () => {
  const img = solid(8, 8, [10, 200, 30]);
  img.data[0] = 255;
  const meta = {
    prompt: 'a red apple',
    negative: 'blurry',
    steps: '20',
    sampler: 'euler_a',
    guidance: '7',
    seed: '1',
    size: '8x8',
    model: 'emoji-tiny',
  };
  const png = await encodePng(img, meta);
  const text = readPngText(png);
  assert.equal(
    text.parameters,
    'a red apple\nNegative prompt: blurry\nSteps: 20, Sampler: euler_a, CFG scale: 7, Seed: 1, Size: 8x8, Model: emoji-tiny',
  );
  const back = await decodeImage(png);
  assert.deepEqual(back, { width: 8, height: 8, data: img.data });
  const info = await sharp(png).metadata();
  assert.equal(info.format, 'png');
});

test('non-Latin-1 prompts go into an iTXt chunk and read back', async () => {
  const png = await encodePng(solid(4, 4, [0, 0, 0]), { prompt: 'fire 🔥 ünïcode', seed: '3' });
  assert.equal(readPngText(png).parameters, 'fire 🔥 ünïcode\nSeed: 3');
  assert.ok(png.includes(Buffer.from('iTXt')));
  await sharp(png).raw().toBuffer(); // still a valid PNG for a real decoder
});

test('formatParameters appends unknown keys and omits an empty negative', () => {
  assert.equal(formatParameters({ prompt: 'x', steps: '4', Variation: 'seed 9' }), 'x\nSteps: 4, Variation: seed 9');
});

test('previews encode as webp and jpeg', async () => {
  const img = solid(16, 16, [100, 50, 25]);
  assert.equal((await sharp(await encodePreview(img)).metadata()).format, 'webp');
  assert.equal((await sharp(await encodePreview(img, 'jpeg')).metadata()).format, 'jpeg');
});

test('grid layouts: 4 -> 2x2, 2 -> 1x2, 3 -> 2x2 with a blank cell, 1 -> itself', () => {
  const colors: [number, number, number][] = [
    [255, 0, 0],
    [0, 255, 0],
    [0, 0, 255],
    [255, 255, 0],
  ];
  const imgs = colors.map((c) => solid(4, 6, c));
  const g4 = makeGrid(imgs);
  assert.deepEqual([g4.width, g4.height], [8, 12]);
  assert.deepEqual(pixel(g4, 0, 0), colors[0]);
  assert.deepEqual(pixel(g4, 7, 0), colors[1]);
  assert.deepEqual(pixel(g4, 0, 11), colors[2]);
  assert.deepEqual(pixel(g4, 7, 11), colors[3]);
  const g2 = makeGrid(imgs.slice(0, 2));
  assert.deepEqual([g2.width, g2.height], [8, 6]);
  assert.deepEqual(pixel(g2, 5, 3), colors[1]);
  const g3 = makeGrid(imgs.slice(0, 3));
  assert.deepEqual([g3.width, g3.height], [8, 12]);
  assert.deepEqual(pixel(g3, 7, 11), [0, 0, 0]);
  assert.equal(makeGrid(imgs.slice(0, 1)), imgs[0]);
  assert.throws(
    () => makeGrid([solid(4, 4, [0, 0, 0]), solid(8, 8, [0, 0, 0])]),
    /expected every grid image to be 4x4, got 8x8/,
  );
});
