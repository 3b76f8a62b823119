// The evaluation's feature spaces (training/nearest.ts): the emoji PNGs from node_modules, 16x16 RGB pooled or framed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import {
  DatasetError,
  FEATURE_SIZE,
  drawingSquare,
  framedFeature,
  imageFeature,
  loadTrainingSet,
  nearest,
  rmsDifference,
} from '../../training/nearest.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const PNG = join(ROOT, 'node_modules', 'emoji-datasource-google', 'img', 'google', '64');

test('imageFeature averages 4x4 blocks of a 64x64 image into [0, 1]', () => {
  const data = new Uint8Array(64 * 64 * 3);
  for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) data[(y * 64 + x) * 3] = x < 4 && y < 4 ? 255 : 0; // one red block top-left
  data[(63 * 64 + 63) * 3 + 2] = 255; // one blue pixel bottom-right
  const f = imageFeature({ width: 64, height: 64, data });
  assert.equal(f.length, FEATURE_SIZE);
  assert.equal(f[0], 1);
  assert.equal(f[3], 0); // the next block is black
  assert.ok(Math.abs(f[FEATURE_SIZE - 1] - 1 / 16) < 1e-6);
  assert.throws(() => imageFeature({ width: 30, height: 30, data: new Uint8Array(2700) }), DatasetError);
});

test('framedFeature crops to the square around the drawing, whatever its size and place', () => {
  const white = () => new Uint8Array(64 * 64 * 3).fill(255);
  const big = white();
  const small = white();
  // the same two-colour drawing: 32x32 at (8, 16), and 16x16 at (40, 4)
  for (let y = 0; y < 32; y++)
    for (let x = 0; x < 32; x++) big.fill(x < 16 ? 0 : 128, ((16 + y) * 64 + 8 + x) * 3, ((16 + y) * 64 + 9 + x) * 3);
  for (let y = 0; y < 16; y++)
    for (let x = 0; x < 16; x++) small.fill(x < 8 ? 0 : 128, ((4 + y) * 64 + 40 + x) * 3, ((4 + y) * 64 + 41 + x) * 3);
  assert.deepEqual(drawingSquare({ width: 64, height: 64, data: big }), { x0: 8, y0: 16, side: 32 });
  assert.deepEqual(drawingSquare({ width: 64, height: 64, data: white() }), { x0: 0, y0: 0, side: 64 });
  const a = framedFeature({ width: 64, height: 64, data: big });
  const b = framedFeature({ width: 64, height: 64, data: small });
  assert.equal(a.length, FEATURE_SIZE);
  assert.deepEqual(a, b);
  assert.equal(a[0], 0); // left half black
  assert.ok(Math.abs(a[FEATURE_SIZE - 1] - 128 / 255) < 1e-6); // right half grey
  // a wide drawing is centred in its square, white above and below
  const wide = white();
  wide.fill(0, 28 * 64 * 3, 36 * 64 * 3); // eight black rows across the whole width
  const w = framedFeature({ width: 64, height: 64, data: wide });
  assert.equal(w[0], 1);
  assert.equal(w[8 * 16 * 3], 0);
});

test('the training set follows prepare_data.py, and each emoji is its own nearest image', async () => {
  const set = await loadTrainingSet(ROOT);
  assert.equal(new Set(set.codes).size, 1631); // the emoji of dataset.npz
  const per = (style: string) => set.styles.filter((s) => s === style).length;
  assert.deepEqual([per('noto'), per('fluent'), per('flat'), per('twemoji')], [1631, 1581, 1581, 1631]);
  assert.ok(!set.codes.includes('1F1FA-1F1F8'), 'country flags are dropped');
  assert.ok(set.codes.includes('1F3F4-200D-2620-FE0F'), 'the pirate flag is kept');
  for (const code of ['1F34E', '1F600', '1F479']) {
    const { data, info } = await sharp(join(PNG, `${code.toLowerCase()}.png`))
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const img = { width: info.width, height: info.height, data };
    const top = nearest(set, imageFeature(img), 5);
    assert.equal(set.codes[top[0]], code);
    assert.equal(top.length, 5);
    assert.equal(set.codes[nearest(set, framedFeature(img), 1, 'framed')[0]], code);
    // drawn at 60 % size in a corner, it is still itself in the framed space
    const shrunk = await sharp(join(PNG, `${code.toLowerCase()}.png`))
      .resize(38, 38)
      .extend({ top: 0, left: 26, bottom: 26, right: 0, background: '#ffffff00' })
      .flatten({ background: '#ffffff' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    assert.equal(
      set.codes[nearest(set, framedFeature({ width: 64, height: 64, data: shrunk.data }), 5, 'framed')[0]],
      code,
    );
    assert.equal(rmsDifference(img, img), 0);
  }
  const black = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3) };
  const white = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(255) };
  assert.equal(rmsDifference(black, white), 1);
});
