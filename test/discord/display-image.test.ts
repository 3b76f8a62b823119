import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { encodePng, readPngText } from '../../src/engine/images.ts';
import { AttachmentTooLargeError, attachmentLimitOf, displayPng } from '../../src/discord/display-image.ts';
import { DEFAULT_ATTACHMENT_LIMIT, type JobRecord } from '../../src/queue/index.ts';

/** A 32x24 noisy image (compresses badly), stored at native size as the worker stores it. */
async function nativePng(): Promise<Buffer> {
  const data = new Uint8Array(32 * 24 * 3);
  let x = 12345;
  for (let i = 0; i < data.length; i++) data[i] = (x = (x * 1103515245 + 12345) >>> 0) >>> 24;
  return encodePng({ width: 32, height: 24, data }, { prompt: 'noise', seed: '1' });
}

test('displayPng: upscaled to the display side when it fits; otherwise a lower upscale that fits, text chunks kept', async () => {
  const png = await nativePng();
  const full = await displayPng(png, { imageSide: 24, displaySide: 192, limit: 10_000_000 });
  assert.deepEqual([full.factor, full.reduced, full.fullBytes], [8, false, full.data.length]);
  assert.deepEqual(
    await sharp(full.data)
      .metadata()
      .then((m) => [m.width, m.height]),
    [256, 192],
  );
  assert.deepEqual(readPngText(full.data), readPngText(png));
  const raw = await sharp(full.data).raw().toBuffer();
  const nativeRaw = await sharp(png).raw().toBuffer();
  assert.equal(
    raw[(8 * 256 * 8 + 8 * 3) * 3],
    nativeRaw[(8 * 32 + 3) * 3],
    'nearest neighbour: pixel (3,8) is block (24..31, 64..71)',
  );

  const smaller = await displayPng(png, { imageSide: 24, displaySide: 192, limit: full.data.length - 1 });
  assert.ok(smaller.reduced && smaller.factor < 8 && smaller.data.length < full.data.length);
  assert.equal(smaller.fullBytes, full.data.length);
  assert.equal((await sharp(smaller.data).metadata()).width, 32 * smaller.factor);
  assert.deepEqual(readPngText(smaller.data), readPngText(png));

  const native = await displayPng(png, { imageSide: 24, displaySide: 192, limit: png.length });
  assert.equal(native.data, png, 'factor 1 is the stored file itself');
});

test('displayPng: too large even at native size is an AttachmentTooLargeError with both sizes', async () => {
  const png = await nativePng();
  await assert.rejects(displayPng(png, { imageSide: 24, limit: 100 }), (error: unknown) => {
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

test('the attachment limit comes from the job (stored once, with its extras), else Discord default', () => {
  const job = (extras?: JobRecord['extras']) => ({ extras }) as JobRecord;
  assert.equal(attachmentLimitOf(job({ attachmentLimit: 25 * 1024 * 1024 })), 25 * 1024 * 1024);
  assert.equal(attachmentLimitOf(job()), DEFAULT_ATTACHMENT_LIMIT);
  assert.equal(attachmentLimitOf(job({ attachmentLimit: -1 })), DEFAULT_ATTACHMENT_LIMIT);
});
