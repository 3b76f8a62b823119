// The buttons under a result: reroll, both Vary buttons, a grid's U and V buttons, forged ids.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, buttonIdFor, buttonLabels, isFinal, paced, SINGLE_BUTTONS } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { isEphemeral, type StoredMessage } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0, maxPending: 5 }, wrapEngine: (e) => paced(e, 5) });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

async function imagine(options: Record<string, string | number>): Promise<StoredMessage> {
  const i = h.server.slash({ user: h.users.alice, command: 'imagine', options });
  return i.waitFor(isFinal);
}

const seedOf = (content: string) => Number(/seed (\d+)/.exec(content)?.[1]);

test('🔄 reroll: same parameters, new seed, a new message owned by whoever clicked', async () => {
  const first = await imagine({ prompt: 'a green tree', seed: 1234, steps: 3 });
  const click = h.server.click({ user: h.users.bob, message: first, customId: buttonIdFor(first, '🔄') });
  assert.equal((await click.acknowledged()).type, 5);
  const second = await click.waitFor(isFinal);
  assert.notEqual(second.id, first.id);
  assert.match(second.content, /a green tree/);
  assert.match(second.content, /3 steps/);
  assert.match(second.content, new RegExp(`<@${h.users.bob.id}> \\(reroll\\)`));
  assert.notEqual(seedOf(second.content), 1234);
  assert.deepEqual(buttonLabels(second), SINGLE_BUTTONS);
  const job = await h.queue.get(decodeCustomId(buttonIdFor(second, '🔄'))!.jobId);
  assert.equal(job?.kind, 'reroll');
  assert.equal(job?.owner.userId, h.users.bob.id);
});

test('Vary (Subtle) and Vary (Strong): same base seed, a variation seed at 0.2 and 0.55', async () => {
  const first = await imagine({ prompt: 'yellow star', seed: 77, steps: 3 });
  for (const [label, strength] of [
    ['Vary (Subtle)', 0.2],
    ['Vary (Strong)', 0.55],
  ] as const) {
    const click = h.server.click({ user: h.users.alice, message: first, customId: buttonIdFor(first, label) });
    const result = await click.waitFor(isFinal);
    assert.match(result.content, /seed 77 /);
    assert.match(result.content, new RegExp(`variation seed \\d+ @ ${strength}`));
    assert.match(result.content, strength === 0.2 ? /subtle variation/ : /strong variation/);
    const job = await h.queue.get(decodeCustomId(buttonIdFor(result, '🔄'))!.jobId);
    assert.equal(job?.kind, 'variation');
    assert.equal(job?.request.variation?.strength, strength);
  }
});

test('grid: U2 posts image 2 alone with its own buttons (no new job); V3 varies image 3', async () => {
  const grid = await imagine({ prompt: 'purple cat', seed: 500, count: 4, steps: 3 });
  const gridJob = await h.queue.get(decodeCustomId(buttonIdFor(grid, 'U1'))!.jobId);
  const jobsBefore = h.queue.stats().byState.done;
  const u2 = h.server.click({ user: h.users.bob, message: grid, customId: buttonIdFor(grid, 'U2') });
  const picked = await u2.waitFor(isFinal);
  assert.equal(picked.attachments[0].filename, 'image-2.png');
  assert.ok(picked.attachments[0].size > 0);
  assert.match(picked.content, new RegExp(`seed ${gridJob!.result!.seeds[1]}`));
  assert.deepEqual(buttonLabels(picked), SINGLE_BUTTONS);
  assert.equal(h.queue.stats().byState.done, jobsBefore, 'a pick runs no job');
  // Vary under the picked image varies image 2.
  const vary = h.server.click({ user: h.users.bob, message: picked, customId: buttonIdFor(picked, 'Vary (Subtle)') });
  const varied = await vary.waitFor(isFinal);
  assert.match(varied.content, new RegExp(`seed ${gridJob!.result!.seeds[1]} `));
  // V3 on the grid: a strong variation of image 3.
  const v3 = h.server.click({ user: h.users.alice, message: grid, customId: buttonIdFor(grid, 'V3') });
  const v3result = await v3.waitFor(isFinal);
  assert.match(v3result.content, new RegExp(`seed ${gridJob!.result!.seeds[2]} `));
  assert.match(v3result.content, /@ 0.55/);
  assert.equal(v3result.attachments[0].filename, 'image.png');
});

test('forged or unknown custom_ids are refused ephemerally and queue nothing', async () => {
  const first = await imagine({ prompt: 'orange moon', steps: 2 });
  const before = h.queue.stats().byState;
  for (const customId of [
    'ef:rr:doesnotexist',
    `ef:u:${decodeCustomId(buttonIdFor(first, '🔄'))!.jobId}:4`,
    'hello',
    'ef:zz:abc',
  ]) {
    const click = h.server.click({ user: h.users.bob, message: first, customId, forge: true });
    await click.acknowledged();
    const reply = await h.server.waitFor(
      () =>
        click.followUps.find(isEphemeral) ??
        (click.original && isEphemeral(click.original) ? click.original : undefined),
      `an ephemeral refusal for ${customId}`,
    );
    assert.match(reply.content, /no longer available|not one I recognise|there is no image 4/, customId);
  }
  assert.deepEqual(h.queue.stats().byState, before);
});
