// /imagine to the final image through the real discord.js client and a local Discord server.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Harness, buttonIds, buttonLabels, isFinal, paced, SINGLE_BUTTONS, GRID_BUTTONS } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { isEphemeral } from '../support/discord/index.ts';
import type { ImageGenerator } from '../../src/engine/index.ts';

/** The engine, except that a prompt with "explode" fails the way a real engine error would. */
function failing(engine: ImageGenerator): ImageGenerator {
  return {
    modelName: engine.modelName,
    generate: (request, options) =>
      /explode/.test(request.prompt)
        ? Promise.reject(new Error('out of GPU memory'))
        : engine.generate(request, options),
  };
}

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0 }, wrapEngine: (e) => failing(paced(e, 40)) });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

test('/imagine: deferred at once, previews edited in place, final PNG with seed, parameters and buttons', async () => {
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a red apple --seed 42 --no text', steps: 12 },
  });
  const ack = await i.acknowledged();
  assert.equal(ack.type, 5, 'deferred channel message');
  const final = await i.waitFor(isFinal);
  assert.match(final.content, /a red apple/);
  assert.doesNotMatch(final.content, /--seed/);
  assert.match(final.content, /seed 42/);
  assert.match(final.content, /12 steps/);
  assert.match(final.content, /no: text/);
  assert.ok(!isEphemeral(final));
  const png = final.attachments[0];
  assert.equal(png.filename, 'image.png');
  const meta = await sharp(png.data).metadata();
  assert.equal(meta.format, 'png');
  assert.deepEqual(buttonLabels(final), SINGLE_BUTTONS);
  for (const id of buttonIds(final)) assert.ok(decodeCustomId(id), id);
  // Previews: the same message was edited with WebP previews and "Step n/12" before the final.
  const previews = i.edits.filter((w) => /Step \d+\/12/.test(w.message.content));
  assert.ok(previews.length >= 1, `expected a preview edit, got ${i.edits.map((w) => w.message.content).join(' | ')}`);
  assert.ok(previews.some((w) => w.message.attachments.some((a) => a.filename === 'preview.webp')));
  assert.ok(previews.every((w) => buttonLabels(w.message).includes('Cancel')));
  assert.equal(h.server.maxEditsInFlight(), 1);
});

test('a grid: count 4 makes U1-U4, V1-V4 and 🔄', async () => {
  const i = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'blue fish', count: 4, aspect: '3:2' },
  });
  const final = await i.waitFor(isFinal);
  assert.equal(final.attachments[0].filename, 'grid.png');
  assert.deepEqual(buttonLabels(final), GRID_BUTTONS);
  assert.match(final.content, /seeds \d+, \d+, \d+, \d+/);
  assert.match(final.content, /80×56/);
});

test('a model failure: the message says so, and the owner gets an ephemeral note on what to do', async () => {
  const i = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'please explode', steps: 3 },
  });
  const ended = await i.waitFor((m) => /Failed:/.test(m.content));
  assert.match(ended.content, /Failed: the image engine could not make it/);
  assert.doesNotMatch(ended.content, /out of GPU memory/, "the engine's own words stay in the log");
  assert.equal(ended.components.length, 0);
  const note = await i.waitForFollowUp(isEphemeral);
  assert.match(note.content, /could not be made: the image engine could not make it.*Try again/);
});

test('invalid options are refused before anything is queued, ephemerally', async () => {
  const before = h.queue.stats().byState;
  const conflict = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'a cat --seed 5', seed: 6 },
  });
  assert.equal((await conflict.acknowledged()).type, 4, 'answered directly, no deferral');
  await conflict.waitFor((m) => isEphemeral(m) && /`seed` was given twice: option 6 and prompt flag 5/.test(m.content));
  const unknown = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'a cat --v 6' } });
  await unknown.waitFor((m) => isEphemeral(m) && /unknown prompt flag `--v`/.test(m.content));
  const empty = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: '--ar 16:9' } });
  await empty.waitFor((m) => isEphemeral(m) && /prompt is empty/.test(m.content));
  assert.deepEqual(h.queue.stats().byState, before);
});
