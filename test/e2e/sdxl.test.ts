// The bot on an SDXL export (MODEL_DIR = the tiny SDXL fixture, built from diffusers' own classes): /imagine
// with every sampler, SDXL's aspect buckets at the model's native size, previews edited in place, the final
// image with its buttons, a negative prompt, and 🔄 / V1 on the same model, in two servers at once.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { Harness, buttonIdFor, buttonLabels, isFinal, paced, SINGLE_BUTTONS } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { modelChoiceOf, readModelFacts } from '../../src/app/model-facts.ts';
import { SAMPLERS } from '../../src/engine/types.ts';
import type { StoredMessage } from '../support/discord/index.ts';

const SDXL = join(import.meta.dirname, '..', 'fixtures', 'models', 'sdxl-tiny');
const choice = modelChoiceOf('sdxl-tiny', SDXL, readModelFacts(SDXL));

let h: Harness;
before(async () => {
  h = await Harness.start({
    modelDir: SDXL,
    settings: { maxPending: 6 },
    wrapEngine: (e) => paced(e, 30),
    bot: { models: [choice], defaults: choice.defaults },
  });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

const jobOf = async (m: StoredMessage) => (await h.queue.get(decodeCustomId(buttonIdFor(m, '🔄'))!.jobId))!;

test('/imagine on SDXL with every sampler: previews in place, the final at its bucket size, the buttons', async () => {
  assert.deepEqual(choice.size, { side: 128, multiple: 32, buckets: true });
  for (const sampler of SAMPLERS) {
    const i = h.server.slash({
      user: h.users.alice,
      command: 'imagine',
      options: { prompt: 'a red fox in the snow', steps: 3, sampler, aspect: '16:9', negative: 'blurry' },
    });
    const final = await i.waitFor(isFinal);
    assert.match(final.content, /a red fox in the snow/, sampler);
    assert.match(final.content, /no: blurry/, sampler);
    assert.deepEqual(buttonLabels(final), SINGLE_BUTTONS, sampler);
    const meta = await sharp(final.attachments[0].data).metadata();
    assert.equal(meta.format, 'png', sampler);
    const job = await jobOf(final);
    assert.deepEqual([job.request.width, job.request.height], [160, 96], `${sampler}: 1344x768 scaled to 128 px`);
    assert.equal(job.request.sampler, sampler);
    assert.equal(job.state, 'done');
    assert.ok(
      i.edits.some((w) => /Step \d+\/3/.test(w.message.content) && w.message.attachments.length > 0),
      `${sampler}: a preview was edited into the reply`,
    );
  }
});

test('SDXL in two servers at once: each reply in its own guild, 🔄 and Vary stay on the model and size', async () => {
  const g = await h.addGuild('other');
  const there = h.server.guilds.find((x) => x.id === g.id)!;
  const [mine, theirs] = await Promise.all([
    h.server
      .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a lighthouse', steps: 2, aspect: '9:16' } })
      .waitFor(isFinal),
    h.server
      .slash({
        user: there.users.alice,
        command: 'imagine',
        options: { prompt: 'a teapot', steps: 2 },
        channelId: there.channels.general.id,
      })
      .waitFor(isFinal),
  ]);
  const [a, b] = [await jobOf(mine), await jobOf(theirs)];
  assert.deepEqual([a.owner.guildId, a.request.width, a.request.height], [h.server.guildId, 96, 160]);
  assert.deepEqual([b.owner.guildId, b.request.width, b.request.height], [g.id, 128, 128]);
  const again = await h.server
    .click({ user: h.users.bob, message: mine, customId: buttonIdFor(mine, '🔄') })
    .waitFor(isFinal);
  const rerolled = await jobOf(again);
  assert.deepEqual([rerolled.request.width, rerolled.request.height], [96, 160]);
  assert.notEqual(rerolled.request.seed, a.request.seed);
  const varied = await h.server
    .click({ user: h.users.bob, message: mine, customId: buttonIdFor(mine, 'Vary (Subtle)') })
    .waitFor(isFinal);
  const variation = await jobOf(varied);
  assert.deepEqual([variation.state, variation.request.width, variation.request.seed], ['done', 96, a.request.seed]);
});

test('SDXL: ⬆ Upscale (2×) refines the enlargement by tiled image-to-image at twice the size', async () => {
  const final = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a red barn', steps: 2, aspect: '3:2' } })
    .waitFor(isFinal);
  const up = await h.server
    .click({ user: h.users.bob, message: final, customId: buttonIdFor(final, '⬆ Upscale (2×)') })
    .waitFor(isFinal);
  const [parent, job] = [await jobOf(final), await jobOf(up)];
  assert.deepEqual([parent.request.width, parent.request.height], [160, 96], '1216x832 scaled to 128 px');
  assert.deepEqual([job.kind, job.state, job.request.width, job.request.height], ['upscale', 'done', 320, 192]);
  assert.equal(job.request.tiled, true);
});
