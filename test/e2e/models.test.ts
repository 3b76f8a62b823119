// Two models chosen by name: /imagine model: (autocompleted from the models this server allows) runs on
// that model at its own size; /settings models sets the server's default and allow-list; unknown and
// disallowed models are refused with nothing queued; another server keeps its own choice.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Harness, buttonIdFor, ephemeralAnswer, isFinal, FIXTURE } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';
import { DiffusionPipeline, silentLogger } from '../../src/engine/index.ts';
import { ModelLibrary, scanModels } from '../../src/engine/model-library.ts';
import { modelChoiceOf, readModelFacts } from '../../src/app/model-facts.ts';
import type { StoredMessage } from '../support/discord/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'e2e-models-'));
cpSync(join(FIXTURE, '../sd2-tiny'), join(dir, 'sd2-tiny'), { recursive: true });
const { models } = scanModels(FIXTURE, dir);
const lib = new ModelLibrary(models, {
  budgetBytes: 2 ** 30,
  logger: silentLogger,
  load: (d) => DiffusionPipeline.load(d, { logger: silentLogger, intraOpNumThreads: 1 }),
});
const choices = models.map((m) => modelChoiceOf(m.name, m.dir, readModelFacts(m.dir)));

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5 }, wrapEngine: () => lib, bot: { models: choices } });
});
after(async () => {
  await h?.close();
  await lib.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => assert.deepEqual(h.server.violations, []));

const jobOf = async (m: StoredMessage) => (await h.queue.get(decodeCustomId(buttonIdFor(m, '🔄'))!.jobId))!;
const modelsSetting = (options: Record<string, string>) =>
  h.server.slash({ user: h.users.moderator, command: 'settings', subcommand: 'models', options });

test('two models chosen by name, each at its own size; the job records its model', async () => {
  const offered = h.server.autocomplete({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a cat', model: 'sd' },
    focused: 'model',
  });
  await offered.acknowledged();
  assert.deepEqual(
    offered.choices?.map((c) => c.value),
    ['sd2-tiny'],
  );
  const plain = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a cat', steps: 2 } })
    .waitFor(isFinal);
  const other = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a cat', steps: 2, model: 'sd2-tiny' } })
    .waitFor(isFinal);
  const [a, b] = [await jobOf(plain), await jobOf(other)];
  assert.deepEqual([a.request.model, a.result?.model, a.request.width], ['tiny-fp32', 'tiny-fp32', 64]);
  assert.deepEqual([b.request.model, b.result?.model, b.request.width], ['sd2-tiny', 'sd2-tiny', 128]);
  // 🔄 stays on its model.
  const again = await h.server
    .click({ user: h.users.bob, message: other, customId: buttonIdFor(other, '🔄') })
    .waitFor(isFinal);
  assert.equal((await jobOf(again)).request.model, 'sd2-tiny');
});

test('/settings models: default and allow-list; unknown and disallowed models refused, nothing queued', async () => {
  await ephemeralAnswer(h, modelsSetting({ action: 'default', model: 'sd2-tiny' }), /default sd2-tiny/);
  const byDefault = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a dog', steps: 2 } })
    .waitFor(isFinal);
  assert.equal((await jobOf(byDefault)).request.model, 'sd2-tiny');
  await ephemeralAnswer(
    h,
    modelsSetting({ action: 'disallow', model: 'tiny-fp32' }),
    /\*\*Models\*\* sd2-tiny · default sd2-tiny/,
  );
  await ephemeralAnswer(h, modelsSetting({ action: 'disallow', model: 'sd2-tiny' }), /only model allowed here/);
  await ephemeralAnswer(h, modelsSetting({ action: 'allow', model: 'nope' }), /Give one of this bot's models/);

  const before = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
  for (const [model, pattern] of [
    ['tiny-fp32', /not allowed in this server; it allows sd2-tiny/],
    ['nope', /no model named `nope`/],
  ] as const) {
    const i = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'a cat', model } });
    await ephemeralAnswer(h, i, pattern);
  }
  assert.equal((await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length, before);
  const offered = h.server.autocomplete({
    user: h.users.bob,
    command: 'imagine',
    options: { model: '' },
    focused: 'model',
  });
  await offered.acknowledged();
  assert.deepEqual(
    offered.choices?.map((c) => c.value),
    ['sd2-tiny'],
  );

  // Another server is untouched: every model, the bot's default.
  const g = await h.addGuild('other');
  const there = h.server.guilds.find((x) => x.id === g.id)!;
  const elsewhere = await h.server
    .slash({
      user: there.users.alice,
      command: 'imagine',
      options: { prompt: 'a cat', steps: 2 },
      channelId: there.channels.general.id,
    })
    .waitFor(isFinal);
  assert.equal((await jobOf(elsewhere)).request.model, 'tiny-fp32');
  await ephemeralAnswer(h, modelsSetting({ action: 'all' }), /\*\*Models\*\* tiny-fp32, sd2-tiny/);
});
