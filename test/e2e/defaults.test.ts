// A server with the default settings and the embedded model, as a new owner installs the bot: a default
// /imagine shows a denoising preview before its final (the whole job is faster than one edit cadence), and
// 🔄 pressed the moment the result arrives is accepted (no cooldown by default).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Harness, buttonIdFor, isFinal } from './harness.ts';

const EMBEDDED = join(import.meta.dirname, '..', '..', 'models', 'emoji-tiny');

let h: Harness;
before(async () => {
  h = await Harness.start({ modelDir: EMBEDDED });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

test('a default /imagine shows a preview image in its message before the final', async () => {
  const i = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a red apple' } });
  const final = await i.waitFor(isFinal);
  const before = i.edits.slice(
    0,
    i.edits.findIndex((w) => isFinal(w.message)),
  );
  const previews = before.filter((w) => w.message.attachments.some((a) => a.filename === 'preview.webp'));
  assert.ok(
    previews.length >= 1,
    `expected a preview before the final, got edits: ${before.map((w) => w.message.content).join(' | ')}`,
  );
  assert.match(previews[0].message.content, /Step \d+\/\d+/);
  assert.equal(final.attachments[0].filename, 'image.png');
  assert.equal(h.server.maxEditsInFlight(), 1);
});

test('🔄 the moment a result arrives is accepted with the default settings', async () => {
  const first = await h.server
    .slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'a blue fish' } })
    .waitFor(isFinal);
  const click = h.server.click({ user: h.users.bob, message: first, customId: buttonIdFor(first, '🔄') });
  const second = await click.waitFor(isFinal);
  assert.notEqual(second.id, first.id);
  assert.match(second.content, /a blue fish/);
});
