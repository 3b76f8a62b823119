// Server styles: moderators define them in /settings styles; /imagine style: (autocompleted from the
// server's own) applies the template, negative and settings; /help lists them. Bad styles are refused
// with a clear message and nothing is saved; another server has its own styles.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, buttonIdFor, isFinal, ephemeralAnswer } from './harness.ts';
import { decodeCustomId } from '../../src/discord/custom-id.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({ settings: { maxPending: 5, maxSteps: 30 } });
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.violations, []));

const styles = (options: Record<string, string | number>, user = h.users.moderator, channelId?: string) =>
  h.server.slash({ user, command: 'settings', subcommand: 'styles', options, ...(channelId ? { channelId } : {}) });

test('a style defined by a moderator is autocompleted, applied by /imagine style:, and listed by /help', async () => {
  await ephemeralAnswer(
    h,
    styles({ action: 'add', name: 'x', template: '{prompt}' }, h.users.alice),
    /Only moderators/,
  );
  const add = styles({
    action: 'add',
    name: 'watercolour',
    template: '{prompt}, watercolour, soft light',
    negative: 'photo',
    steps: 6,
    guidance: 4,
    sampler: 'ddim',
    aspect: '3:2',
  });
  await ephemeralAnswer(h, add, /Styles updated[\s\S]*`watercolour` — \{prompt\}, watercolour, soft light/);
  await ephemeralAnswer(h, styles({ action: 'add', name: 'ink', template: 'ink drawing of {prompt}' }), /`ink`/);

  const typed = h.server.autocomplete({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a fox', style: 'wat' },
    focused: 'style',
  });
  await typed.acknowledged();
  assert.deepEqual(
    typed.choices?.map((c) => c.value),
    ['watercolour'],
  );

  const final = await h.server
    .slash({
      user: h.users.alice,
      command: 'imagine',
      options: { prompt: 'a fox', negative: 'text', style: 'watercolour' },
    })
    .waitFor(isFinal);
  const job = (await h.queue.get(decodeCustomId(buttonIdFor(final, '🔄'))!.jobId))!;
  assert.equal(job.request.prompt, 'a fox, watercolour, soft light');
  assert.equal(job.request.negativePrompt, 'photo, text');
  assert.deepEqual(
    [job.request.steps, job.request.guidance, job.request.sampler, job.request.width, job.request.height],
    [6, 4, 'ddim', 80, 56],
  );
  assert.equal(job.extras?.style, 'watercolour');
  assert.match(final.content, /style watercolour/);
  // What the user types wins over the style.
  const mine = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a fox', style: 'watercolour', steps: 3 } })
    .waitFor(isFinal);
  assert.equal((await h.queue.get(decodeCustomId(buttonIdFor(mine, '🔄'))!.jobId))!.request.steps, 3);

  const help = h.server.slash({ user: h.users.bob, command: 'help' });
  await ephemeralAnswer(h, help, /Styles in this server[\s\S]*`watercolour`[\s\S]*`ink` — ink drawing of \{prompt\}/);

  await ephemeralAnswer(h, styles({ action: 'remove', name: 'ink' }), /Styles updated/);
  assert.deepEqual(
    (await h.settings.get(h.server.guildId)).styles.map((s) => s.name),
    ['watercolour'],
  );
});

test('bad styles and unknown style names: a clear message each, nothing saved or queued', async () => {
  const before = (await h.settings.get(h.server.guildId)).styles;
  const cases: [Record<string, string | number>, RegExp][] = [
    [{ action: 'add', name: 'two words', template: '{prompt}' }, /no spaces/],
    [{ action: 'add', name: 'x'.repeat(100), template: '{prompt}' }, /1 to 32/],
    [{ action: 'add', name: 'plain', template: 'a fox' }, /must contain \{prompt\}/],
    [{ action: 'add', name: 'slow', template: '{prompt}', steps: 100 }, /max_steps \(30\)/],
    [{ action: 'add', name: 'nameless' }, /Give the `template`/],
    [{ action: 'remove', name: 'nope' }, /no style named `nope`/],
  ];
  for (const [options, pattern] of cases) await ephemeralAnswer(h, styles(options), pattern);
  assert.deepEqual((await h.settings.get(h.server.guildId)).styles, before);

  const queued = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
  const unknown = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'a cat', style: 'nope' },
  });
  await ephemeralAnswer(h, unknown, /no style named `nope`/);
  assert.equal((await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length, queued);

  // Another server's styles are its own: this one's are not offered or applied there.
  const other = await h.addGuild('other');
  const there = h.server.guilds.find((g) => g.id === other.id)!;
  const offered = h.server.autocomplete({
    user: there.users.alice,
    command: 'imagine',
    options: { prompt: 'a fox', style: '' },
    focused: 'style',
    channelId: there.channels.general.id,
  });
  await offered.acknowledged();
  assert.deepEqual(offered.choices, []);
  const used = h.server.slash({
    user: there.users.alice,
    command: 'imagine',
    options: { prompt: 'a fox', style: 'watercolour' },
    channelId: there.channels.general.id,
  });
  await ephemeralAnswer(h, used, /no style named `watercolour`/);
});
