// Issue 8 end to end: the 🎞 button, the --video prompt flag and /diffusion, through the real queue,
// worker, engine (tiny fixture) and discord.js client against the local Discord server, whose
// attachment limit is set low so the film has to be fitted.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Harness, buttonIdFor, buttonLabels, engine, isFinal, SINGLE_BUTTONS } from './harness.ts';
import { mediaRendererFor } from '../../src/media/renderer.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { isEphemeral, type StoredAttachment, type StoredMessage } from '../support/discord/index.ts';

const LIMIT = 30_000;

let h: Harness;
before(async () => {
  // The worker makes the films and strips with the same (unwrapped) fixture engine it generates with.
  h = await Harness.start({
    server: { attachmentSizeLimit: LIMIT },
    settings: { cooldownSeconds: 0, maxPending: 5 },
    worker: { media: mediaRendererFor(await engine()) },
  });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

const hasFile = (name: string) => (m: StoredMessage) => m.attachments.some((a) => a.filename === name);
const file = (m: StoredMessage, name: string): StoredAttachment => m.attachments.find((a) => a.filename === name)!;

/** Every page of an animated WebP as RGB. */
async function pages(data: Buffer): Promise<{ width: number; height: number; frames: Buffer[] }> {
  const meta = await sharp(data, { animated: true }).metadata();
  assert.equal(meta.format, 'webp');
  const { data: raw, info } = await sharp(data, { animated: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const height = meta.pageHeight!;
  const per = info.width * height * 3;
  return {
    width: info.width,
    height,
    frames: Array.from({ length: meta.pages! }, (_, i) => raw.subarray(i * per, (i + 1) * per)),
  };
}

/** Mean absolute difference of two RGB buffers, 0..255. */
function meanDiff(a: Buffer, b: Buffer): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum / a.length;
}

/** The posted PNG at the film's frame size. */
async function posted(png: Buffer, width: number, height: number): Promise<Buffer> {
  return sharp(png).removeAlpha().resize(width, height, { kernel: 'nearest', fit: 'fill' }).raw().toBuffer();
}

test('🎞 under a result posts its denoising film: animated WebP, many frames, under the limit, ending in the posted image', async () => {
  const first = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a red apple', seed: 42, steps: 10 } })
    .waitFor(isFinal);
  assert.deepEqual(buttonLabels(first), SINGLE_BUTTONS);
  const ref = decodeCustomId(buttonIdFor(first, '🎞'))!;
  assert.equal(ref.action, 'timelapse');
  assert.equal(buttonIdFor(first, '🎞').split(':').length, 3, 'custom_id carries only the action and the job id');

  const click = h.server.click({ user: h.users.bob, message: first, customId: buttonIdFor(first, '🎞') });
  assert.equal((await click.acknowledged()).type, 5);
  const film = await click.waitFor(hasFile('timelapse.webp'), 60_000);
  assert.notEqual(film.id, first.id);
  assert.match(film.content, /a red apple/);
  assert.match(film.content, new RegExp(`<@${h.users.bob.id}> \\(timelapse\\)`));
  assert.match(film.content, /seed 42/);
  assert.match(film.content, /frames: the starting static/);
  const webp = file(film, 'timelapse.webp');
  assert.ok(webp.size <= LIMIT, `${webp.size} bytes over ${LIMIT}`);
  const { width, height, frames } = await pages(webp.data);
  // 10 steps make 11 frames (static, x0 after steps 1-9, the image): over the limit, so some were dropped
  assert.ok(frames.length > 2 && frames.length < 11, `${frames.length} frames`);
  // the film ends in the posted picture and starts far from it
  const image = await posted(file(first, 'image.png').data, width, height);
  const endDiff = meanDiff(frames.at(-1)!, image);
  assert.ok(endDiff < 12, `last frame differs from the posted image by ${endDiff.toFixed(1)} on average`);
  assert.ok(meanDiff(frames[0], image) > endDiff + 20, 'the first frame is static, not the picture');

  assert.equal(film.components.length, 0, 'a film has no buttons');
});

test('--video: the final message carries the image and the film of that same run', async () => {
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a blue fish --video --seed 7', steps: 8, count: 2 },
  });
  const final = await i.waitFor((m) => isFinal(m) && hasFile('timelapse.webp')(m), 60_000);
  assert.doesNotMatch(final.content, /--video/);
  assert.match(final.content, /seeds 7, 8/);
  assert.deepEqual(
    final.attachments.map((a) => a.filename),
    ['grid.png', 'timelapse.webp'],
  );
  const webp = file(final, 'timelapse.webp');
  assert.ok(webp.size <= LIMIT);
  const { width, height, frames } = await pages(webp.data);
  assert.ok(frames.length > 2);
  assert.ok(width > height, 'two images side by side, as the grid');
  const grid = await posted(file(final, 'grid.png').data, width, height);
  assert.ok(meanDiff(frames.at(-1)!, grid) < 12);
  const job = await h.queue.get(decodeCustomId(buttonIdFor(final, '🔄'))!.jobId);
  assert.equal(job?.kind, 'new');
  assert.equal(job?.extras?.video, true);
  assert.ok(job?.result?.media?.path.endsWith('timelapse.webp'));
});

test('/diffusion: for a fresh prompt and for an earlier result, one labelled strip PNG with a two-sentence caption', async () => {
  const fresh = h.server.slash({
    user: h.users.alice,
    command: 'diffusion',
    options: { prompt: 'green tree --seed 3 --steps 6' },
  });
  const strip = await fresh.waitFor(hasFile('diffusion.png'), 60_000);
  assert.match(strip.content, /green tree/);
  assert.match(strip.content, /Top row: .*only static is left.*\. Bottom row, read right to left: .*\./s);
  const png = file(strip, 'diffusion.png');
  assert.ok(png.size <= LIMIT);
  const meta = await sharp(png.data).metadata();
  assert.equal(meta.format, 'png');
  assert.ok(meta.width! > (4 * meta.height!) / 2, `a wide strip, got ${meta.width}x${meta.height}`);

  const earlier = await h.server
    .slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'yellow star', seed: 9, steps: 6, count: 2 } })
    .waitFor(isFinal);
  const jobId = decodeCustomId(buttonIdFor(earlier, '🔄'))!.jobId;
  const fromJob = h.server.slash({ user: h.users.bob, command: 'diffusion', options: { job: jobId, image: 2 } });
  const second = await fromJob.waitFor(hasFile('diffusion.png'), 60_000);
  assert.match(second.content, /yellow star/);
  assert.match(second.content, /seed 10/, 'image 2 of the grid: seed 9 + 1');

  // a link to the result message works as well as the id
  const link = `https://discord.com/channels/${h.server.guildId}/${earlier.channelId}/${earlier.id}`;
  const byLink = await h.server
    .slash({ user: h.users.alice, command: 'diffusion', options: { job: link } })
    .waitFor(hasFile('diffusion.png'), 60_000);
  assert.match(byLink.content, /yellow star/);
  assert.match(byLink.content, /seed 9 /);

  const neither = h.server.slash({ user: h.users.bob, command: 'diffusion', options: {} });
  await neither.waitFor((m) => isEphemeral(m) && /either a `prompt`/.test(m.content));
  const unknown = h.server.slash({ user: h.users.bob, command: 'diffusion', options: { job: 'nope' } });
  // deferred before the lookup, so the refusal comes as an ephemeral follow-up
  await unknown.waitForFollowUp((m) => isEphemeral(m) && /no longer available/.test(m.content));
});
