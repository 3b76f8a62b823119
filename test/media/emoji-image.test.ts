// ➕ Emoji's picture: white reachable from the border becomes transparent (white inside the drawing stays),
// the drawing is trimmed and centred in 128x128, under 256 KiB; an all-white image is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { EMOJI_MAX_BYTES, EmptyEmojiError, makeEmojiPng } from '../../src/media/emoji-image.ts';
import { emojiName } from '../../src/commands/emoji.ts';

/** 64x64 white with a red disc (radius 16, centre 32,32) holding a white dot (radius 4). */
async function disc(): Promise<Buffer> {
  const raw = Buffer.alloc(64 * 64 * 3, 255);
  for (let y = 0; y < 64; y++)
    for (let x = 0; x < 64; x++) {
      const d = Math.hypot(x - 32, y - 32);
      if (d <= 16 && d > 4) raw.set([220, 30, 40], (y * 64 + x) * 3);
    }
  return sharp(raw, { raw: { width: 64, height: 64, channels: 3 } })
    .png()
    .toBuffer();
}

test('the background goes, the white dot inside stays, the disc fills the 128x128 square', async () => {
  const png = await makeEmojiPng(await disc());
  assert.ok(png.length <= EMOJI_MAX_BYTES);
  const { data, info } = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [128, 128, 4]);
  const at = (x: number, y: number) => [...data.subarray((y * 128 + x) * 4, (y * 128 + x) * 4 + 4)];
  assert.equal(at(0, 0)[3], 0, 'a corner is transparent');
  assert.equal(at(64, 64)[3], 255, 'the white dot is kept');
  assert.ok(at(64, 64)[0] > 240, 'and white');
  assert.equal(at(64, 2)[3] > 0 || at(64, 4)[3] > 0, true, 'trimmed: the disc reaches the top edge');
  assert.ok(at(64, 30)[0] > 180 && at(64, 30)[1] < 80 && at(64, 30)[3] === 255, 'the disc is opaque red');
});

test('an all-white picture has nothing to cut out', async () => {
  const white = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
    .png()
    .toBuffer();
  await assert.rejects(makeEmojiPng(white), EmptyEmojiError);
});

test('emoji names: 2-32 of [a-z0-9_] from the prompt', () => {
  assert.equal(emojiName('A red lantern, glowing'), 'red_lantern_glowing');
  assert.equal(emojiName('Ünïcode café --ar 16:9'), 'unicode_cafe');
  assert.equal(emojiName('🔥'), 'emoji_art');
  assert.equal(emojiName('x'), 'emoji_x');
  const long = emojiName('the quick brown fox jumps over the lazy dog again and again');
  assert.ok(long.length <= 32 && /^[a-z0-9_]{2,32}$/.test(long), long);
});
