// The safety checker end to end, on a model whose checker flags every image (test/fixtures/models/tiny-safety):
// blocked by default in an ordinary channel (a notice, no image, no preview shown), spoilered where a
// moderator says so or in an age-restricted channel, posted as is only where `off` was set on an
// age-restricted channel; `off` anywhere else is refused and nothing is saved.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, buttonIdFor, isFinal, ephemeralAnswer } from './harness.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({
    modelDir: join(import.meta.dirname, '../fixtures/models/tiny-safety'),
    settings: { maxPending: 5 },
  });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

const safety = (options: Record<string, string>) =>
  h.server.slash({ user: h.users.moderator, command: 'settings', subcommand: 'safety', options });

const imagine = (options: Record<string, string | number>, channelId?: string) =>
  h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { steps: 3, ...options },
    ...(channelId ? { channelId } : {}),
  });

test('ordinary channel: a flagged image is blocked by default (a notice, no image, no preview ever shown)', async () => {
  const i = imagine({ prompt: 'a lamp', count: 2 });
  const final = await i.waitFor((m) => m.content.includes('The safety checker flagged this image'));
  assert.equal(final.attachments.length, 0);
  assert.deepEqual(final.components, []);
  assert.ok(
    i.edits.every((e) => e.message.attachments.length === 0),
    'no edit ever carried an image',
  );
  const jobs = await h.queue.listForUser(h.users.alice.id, { finished: 1 });
  assert.deepEqual(jobs[0].result?.flagged, [true, true]);
});

test('spoiler where a moderator sets it; off is refused outside age-restricted channels and saves nothing', async () => {
  await ephemeralAnswer(h, safety({ mode: 'off' }), /only for a channel Discord marks age-restricted/);
  await ephemeralAnswer(
    h,
    safety({ mode: 'off', channel: h.server.channels.general.id }),
    /is not age-restricted, so safety cannot be off there/,
  );
  const saved = await h.settings.get(h.server.guildId);
  assert.deepEqual([saved.safetyDefault, saved.safetyChannels], ['block', {}]);

  await ephemeralAnswer(h, safety({ mode: 'spoiler' }), /\*\*Safety\*\* spoiler in the server/);
  const final = await imagine({ prompt: 'a lamp' }).waitFor(isFinal);
  assert.match(final.attachments[0].filename, /^SPOILER_/);
  assert.match(final.content, /behind a spoiler/);
  // A U post of a flagged grid image goes behind a spoiler too; ➕ Emoji refuses a flagged image.
  const grid = await imagine({ prompt: 'two lamps', count: 2 }).waitFor(isFinal);
  const picked = await h.server
    .click({ user: h.users.bob, message: grid, customId: buttonIdFor(grid, 'U1') })
    .waitFor(isFinal);
  assert.match(picked.attachments[0].filename, /^SPOILER_/);
  const emoji = h.server.click({ user: h.users.moderator, message: picked, customId: buttonIdFor(picked, '➕ Emoji') });
  await ephemeralAnswer(h, emoji, /safety checker flagged that image/);
  await h.settings.update(h.server.guildId, { safetyDefault: 'block' });
  const blocked = h.server.click({ user: h.users.bob, message: grid, customId: buttonIdFor(grid, 'U2') });
  await ephemeralAnswer(h, blocked, /safety checker flagged that image/);
});

test('age-restricted channels: spoiler by default, and off where a moderator sets it', async () => {
  const adults = h.server.addChannel(h.server.guild, 'adults', { nsfw: true });
  const late = h.server.addChannel(h.server.guild, 'late-night', { nsfw: true });
  await new Promise((r) => setTimeout(r, 100)); // the bot caches CHANNEL_CREATE
  await ephemeralAnswer(h, safety({ mode: 'off', channel: adults.id }), new RegExp(`<#${adults.id}> off`));

  const open = await imagine({ prompt: 'a lamp' }, adults.id).waitFor(isFinal);
  assert.doesNotMatch(open.attachments[0].filename, /^SPOILER_/);
  assert.doesNotMatch(open.content, /safety checker/);

  const spoilered = await imagine({ prompt: 'a lamp' }, late.id).waitFor(isFinal);
  assert.match(spoilered.attachments[0].filename, /^SPOILER_/);
});
