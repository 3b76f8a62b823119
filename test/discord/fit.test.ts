import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodePng, readPngText, upscaleForDisplay } from '../../src/engine/images.ts';
import { AttachmentTooLargeError, fitPng } from '../../src/discord/fit.ts';

/** A 32x24 noisy image (compresses badly), upscaled 8x as the worker stores it. */
async function displayPng(): Promise<Buffer> {
  const data = new Uint8Array(32 * 24 * 3);
  let x = 12345;
  for (let i = 0; i < data.length; i++) data[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return encodePng(upscaleForDisplay({ width: 32, height: 24, data }, 192), { prompt: 'noise', seed: '1' });
}

test('fitPng: unchanged when it fits; otherwise a lower upscale that fits, text chunks kept', async () => {
  const png = await displayPng();
  assert.equal((await sharp(png).metadata()).width, 256);
  const same = await fitPng(png, png.length, 32);
  assert.equal(same.data, png);
  assert.deepEqual([same.factor, same.reduced], [8, false]);

  const native = await fitPng(png, 4000, 32);
  assert.ok(native.data.length <= 4000, `${native.data.length} bytes`);
  assert.ok(native.reduced && native.factor < 8);
  const meta = await sharp(native.data).metadata();
  assert.equal(meta.width, 32 * native.factor);
  assert.equal(meta.height, 24 * native.factor);
  assert.deepEqual(readPngText(native.data), readPngText(png));
});

test('fitPng: too large even at native size is an AttachmentTooLargeError with both sizes', async () => {
  const png = await displayPng();
  await assert.rejects(fitPng(png, 100, 32), (error: unknown) => {
    assert.ok(error instanceof AttachmentTooLargeError);
    assert.equal(error.limitBytes, 100);
    assert.ok(error.smallestBytes > 100);
    assert.match(
      error.message,
      /expected an attachment of at most 100 bytes, got [\d.]+ KiB even at the model's native size/,
    );
    return true;
  });
});
