// /imagine to the final image through the real discord.js client and a local Discord server.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { Harness, buttonIds, buttonLabels, isFinal, paced } from './harness.ts';
import { decodeCustomId } from '../../src/commands/customId.ts';
import { isEphemeral } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0 }, wrapEngine: (e) => paced(e, 40) });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

test('/imagine: deferred at once, previews edited in place, final PNG with seed, parameters and buttons', async () => {
  const i = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a red apple --seed 42 --no text', steps: 12 } });
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
  assert.deepEqual(buttonLabels(final), ['Vary (Subtle)', 'Vary (Strong)', '🔄']);
  for (const id of buttonIds(final)) assert.ok(decodeCustomId(id), id);
  // Previews: the same message was edited with WebP previews and "Step n/12" before the final.
  const previews = i.edits.filter((w) => /Step \d+\/12/.test(w.message.content));
  assert.ok(previews.length >= 1, `expected a preview edit, got ${i.edits.map((w) => w.message.content).join(' | ')}`);
  assert.ok(previews.some((w) => w.message.attachments.some((a) => a.filename === 'preview.webp')));
  assert.ok(previews.every((w) => buttonLabels(w.message).includes('Cancel')));
  assert.equal(h.server.maxEditsInFlight(), 1);
});

test('a grid: count 4 makes U1-U4, V1-V4 and 🔄', async () => {
  const i = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'blue fish', count: 4, aspect: '3:2' } });
  const final = await i.waitFor(isFinal);
  assert.equal(final.attachments[0].filename, 'grid.png');
  assert.deepEqual(buttonLabels(final), ['U1', 'U2', 'U3', 'U4', 'V1', 'V2', 'V3', 'V4', '🔄']);
  assert.match(final.content, /seeds \d+, \d+, \d+, \d+/);
  assert.match(final.content, /80×56/);
});
