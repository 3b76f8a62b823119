// ⬆ Upscale (2×): the image enlarged and refined by a tiled image-to-image pass at a low strength, with its
// own seed; under a U post it upscales that image; over the server's side limit it is refused.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Harness, buttonIdFor, isFinal } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { isEphemeral, type StoredMessage } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5 } });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

const jobOf = async (m: StoredMessage) => (await h.queue.get(decodeCustomId(buttonIdFor(m, '🔄'))!.jobId))!;

test('Upscale makes a 2x image from the enlarged original, refined by a tiled pass with the same seed', async () => {
  const final = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a lighthouse', steps: 6, seed: 5 } })
    .waitFor(isFinal);
  const up = await h.server
    .click({ user: h.users.bob, message: final, customId: buttonIdFor(final, '⬆ Upscale (2×)') })
    .waitFor(isFinal);
  const [parent, job] = [await jobOf(final), await jobOf(up)];
  assert.equal(job.kind, 'upscale');
  assert.deepEqual([job.request.width, job.request.height, job.request.seed], [128, 128, parent.request.seed]);
  assert.equal(job.request.tiled, true);
  assert.equal(job.request.init?.strength, 0.35);
  const shown = await sharp(up.attachments[0].data).metadata();
  assert.deepEqual([shown.width, shown.height], [128, 128]);
  assert.match(up.content, /upscaled 2×/);
  // Refined, not only enlarged: it differs from the plain enlargement, yet stays close to it.
  const raw = (png: Buffer) => sharp(png).resize(128, 128, { kernel: 'lanczos3' }).removeAlpha().raw().toBuffer();
  const [enlarged, refined] = [await raw(final.attachments[0].data), await raw(up.attachments[0].data)];
  let diff = 0;
  for (let i = 0; i < enlarged.length; i++) diff += Math.abs(enlarged[i] - refined[i]);
  assert.ok(diff / enlarged.length > 0.5, `refined: mean difference ${(diff / enlarged.length).toFixed(2)}`);
});

test('Upscale under a U post upscales that image; over the side limit it is refused', async () => {
  const grid = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'boats', steps: 2, count: 4, seed: 30 } })
    .waitFor(isFinal);
  const picked = await h.server
    .click({ user: h.users.alice, message: grid, customId: buttonIdFor(grid, 'U4') })
    .waitFor(isFinal);
  const up = await h.server
    .click({ user: h.users.alice, message: picked, customId: buttonIdFor(picked, '⬆ Upscale (2×)') })
    .waitFor(isFinal);
  assert.deepEqual([(await jobOf(up)).request.seed, (await jobOf(up)).request.width], [33, 128]);

  await h.settings.update(h.server.guildId, { maxSide: 64 });
  try {
    const before = (await h.queue.listForUser(h.users.alice.id, { finished: 50 })).length;
    const refused = h.server.click({
      user: h.users.alice,
      message: picked,
      customId: buttonIdFor(picked, '⬆ Upscale (2×)'),
    });
    await h.server.waitFor(
      () => refused.followUps.find((m) => isEphemeral(m) && /over this server's 64 px limit/.test(m.content)),
      'the refusal',
    );
    assert.equal((await h.queue.listForUser(h.users.alice.id, { finished: 50 })).length, before);
  } finally {
    await h.settings.update(h.server.guildId, { maxSide: 512 });
  }
});
