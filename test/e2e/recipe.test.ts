// ℹ under a result: every parameter, privately, with a recipe code; /imagine recipe:<code> makes the very
// same image (the same PNG, byte for byte), in this server or another; codes that are forged, malformed or
// expired, and a code given with other options, are refused with a clear message and queue nothing.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, buttonIdFor, isFinal, ephemeralAnswer } from './harness.ts';
import type { StoredMessage } from '../support/discord/index.ts';

let offset = 0;
let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5 }, queue: { clock: () => Date.now() + offset } });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

async function codeOf(message: StoredMessage, user = h.users.alice): Promise<{ code: string; text: string }> {
  const info = h.server.click({ user, message, customId: buttonIdFor(message, 'ℹ') });
  const reply = await ephemeralAnswer(h, info, /Recipe:/);
  const code = /recipe:([A-Za-z0-9]+)/.exec(reply.content)?.[1];
  assert.ok(code, reply.content);
  return { code, text: reply.content };
}

test('ℹ lists every parameter; the recipe makes the same PNG byte for byte, in another server too', async () => {
  const options = { prompt: 'a red lantern', negative: 'blur', steps: 3, guidance: 6, seed: 4242, sampler: 'euler_a' };
  const final = await h.server.slash({ user: h.users.alice, command: 'imagine', options }).waitFor(isFinal);
  const { code, text } = await codeOf(final, h.users.bob);
  for (const part of ['a red lantern', 'blur', '**Seed:** 4242', '**Steps:** 3', 'euler_a', '**Guidance:** 6', '64×64'])
    assert.ok(text.includes(part), `${part} in ${text}`);
  assert.match(text, /Source image:\*\* \(none; text only\)/);
  assert.match(text, /Model:\*\* \S+/);

  const again = await h.server
    .slash({ user: h.users.bob, command: 'imagine', options: { recipe: code } })
    .waitFor(isFinal);
  assert.ok(again.attachments[0].data.equals(final.attachments[0].data), 'the same PNG');
  assert.match(again.content, /from a recipe/);

  const other = await h.addGuild('elsewhere');
  const there = await h.server
    .slash({
      user: h.server.guilds.find((g) => g.id === other.id)!.users.alice,
      command: 'imagine',
      options: { recipe: code },
      channelId: other.channels.general.id,
    })
    .waitFor(isFinal);
  assert.ok(there.attachments[0].data.equals(final.attachments[0].data), 'the same PNG in another server');
});

test('the recipe of one image of a grid (its U post) makes that image alone, the same PNG', async () => {
  const grid = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'four moons', steps: 2, count: 4 } })
    .waitFor(isFinal);
  const picked = await h.server
    .click({ user: h.users.alice, message: grid, customId: buttonIdFor(grid, 'U3') })
    .waitFor(isFinal);
  const { code, text } = await codeOf(picked);
  assert.doesNotMatch(text, /4 images/);
  const again = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { recipe: code } })
    .waitFor(isFinal);
  assert.ok(again.attachments[0].data.equals(picked.attachments[0].data), 'image 3, byte for byte');

  // ℹ under the grid names the whole grid.
  const whole = await codeOf(grid);
  assert.match(whole.text, /\(4 images\)/);
});

test('forged, malformed and expired codes, and a code with other options: refused, nothing queued', async () => {
  const final = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a kettle', steps: 2 } })
    .waitFor(isFinal);
  const { code } = await codeOf(final);
  const cases: [Record<string, string>, RegExp][] = [
    [{ recipe: 'abcdefghjk' }, /unknown or has expired/],
    [{ recipe: '../../etc' }, /unknown or has expired/],
    [{ recipe: code, prompt: 'something else' }, /leave out prompt/],
    [{}, /Describe what to draw/],
  ];
  for (const [options, pattern] of cases) {
    const before = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
    await ephemeralAnswer(h, h.server.slash({ user: h.users.bob, command: 'imagine', options }), pattern);
    assert.equal((await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length, before);
  }
  // Past the retention the job is pruned, and its code with it.
  offset = h.queue.retentionMs + 60_000;
  try {
    await h.queue.prune();
    await ephemeralAnswer(
      h,
      h.server.slash({ user: h.users.bob, command: 'imagine', options: { recipe: code } }),
      /unknown or has expired/,
    );
  } finally {
    offset = 0;
  }
});
