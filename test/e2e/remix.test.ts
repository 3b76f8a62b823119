// 🎛 Remix: a modal with the prompt and negative filled in; on submit the job runs again with the same
// seed and settings and the edited text. An empty or banned text is refused, nothing queued.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, buttonIdFor, isFinal, ephemeralAnswer } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import type { InteractionHandle, StoredMessage } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5, bannedWords: ['forbidden'] } });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

async function openRemix(message: StoredMessage): Promise<InteractionHandle> {
  const click = h.server.click({ user: h.users.bob, message, customId: buttonIdFor(message, '🎛 Remix') });
  await click.acknowledged();
  assert.equal(click.ack?.type, 9, 'answered with a modal');
  return click;
}

const jobOf = async (m: StoredMessage) => (await h.queue.get(decodeCustomId(buttonIdFor(m, '🔄'))!.jobId))!;

test('Remix opens a form with the text filled in, and reruns the same seed and settings with the edit', async () => {
  const options = { prompt: 'a green boat', negative: 'rain', steps: 3, seed: 77, guidance: 6 };
  const final = await h.server.slash({ user: h.users.alice, command: 'imagine', options }).waitFor(isFinal);
  const click = await openRemix(final);
  const inputs = (click.modal!.components as { components: { custom_id: string; value?: string }[] }[]).map(
    (row) => row.components[0],
  );
  assert.deepEqual(
    inputs.map((i) => [i.custom_id, i.value]),
    [
      ['prompt', 'a green boat'],
      ['negative', 'rain'],
    ],
  );
  const remixed = await h.server
    .submitModal({ user: h.users.bob, interaction: click, values: { prompt: 'a blue boat', negative: '' } })
    .waitFor(isFinal);
  const [parent, child] = [await jobOf(final), await jobOf(remixed)];
  assert.equal(child.kind, 'remix');
  assert.equal(child.owner.userId, h.users.bob.id);
  assert.equal(child.request.prompt, 'a blue boat');
  assert.equal(child.request.negativePrompt, undefined);
  const { prompt: _p, negativePrompt: _n, ...same } = parent.request;
  const { prompt: _cp, negativePrompt: _cn, ...childSame } = child.request;
  assert.deepEqual(childSame, same, 'same seed, steps, guidance, sampler, size');
  assert.ok(!remixed.attachments[0].data.equals(final.attachments[0].data), 'a different picture');
  assert.match(remixed.content, /\(remix\)/);
});

test('Remix of one image of a grid keeps that image seed; an empty or banned text is refused', async () => {
  const grid = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'two cats', steps: 2, count: 4, seed: 10 } })
    .waitFor(isFinal);
  const picked = await h.server
    .click({ user: h.users.alice, message: grid, customId: buttonIdFor(grid, 'U2') })
    .waitFor(isFinal);
  const remixed = await h.server
    .submitModal({ user: h.users.bob, interaction: await openRemix(picked), values: { prompt: 'two dogs' } })
    .waitFor(isFinal);
  const child = await jobOf(remixed);
  assert.deepEqual([child.request.seed, child.request.count], [11, 1]);

  for (const [prompt, pattern] of [
    ['   ', /the prompt is empty/],
    ['a forbidden thing', /forbidden|not allowed|blocked/i],
  ] as const) {
    const before = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
    const submit = h.server.submitModal({ user: h.users.bob, interaction: await openRemix(grid), values: { prompt } });
    await ephemeralAnswer(h, submit, pattern);
    assert.equal((await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length, before, prompt);
  }
});
