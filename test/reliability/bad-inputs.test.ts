// A table of bad inputs through the real bot, queue and engine: each must be answered with a clear
// ephemeral message and must queue nothing (queue stats unchanged, no job record written).
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, buttonIds, buttonLabels, isFinal, until, SINGLE_BUTTONS } from '../e2e/harness.ts';
import { Permission, type InteractionHandle, type StoredMessage } from '../support/discord/index.ts';
import { ephemeralAnswer } from './helpers.ts';

type Send = (h: Harness) => InteractionHandle;
interface Row {
  name: string;
  send: Send;
  answer: RegExp;
}

const imagine =
  (options: Record<string, string | number>): Send =>
  (h) =>
    h.server.slash({ user: h.users.alice, command: 'imagine', options, unchecked: true });

const prompt = (text: string) => imagine({ prompt: text });

const TABLE: Row[] = [
  { name: 'empty prompt', send: prompt(''), answer: /prompt is empty/ },
  { name: 'whitespace-only prompt', send: prompt('   \t  \n '), answer: /prompt is empty/ },
  { name: 'zero-width-only prompt', send: prompt('\u200b\u200d\ufeff\u2060'), answer: /prompt is empty/ },
  { name: 'only flags', send: prompt('--ar 16:9 --seed 3'), answer: /prompt is empty once the flags are taken out/ },
  {
    name: 'prompt over 2000 characters',
    send: prompt('a cat '.repeat(400)),
    answer: /prompt is 2400 characters long; at most 1000/,
  },
  { name: 'prompt of 1001 characters', send: prompt('x'.repeat(1001)), answer: /1001 characters long; at most 1000/ },
  {
    name: 'negative over its limit',
    send: imagine({ prompt: 'a cat', negative: 'n'.repeat(501) }),
    answer: /negative is 501 characters long; at most 500/,
  },
  { name: 'NUL in the prompt', send: prompt('a cat\u0000'), answer: /control character \(U\+0000\)/ },
  { name: 'bell in the prompt', send: prompt('a \u0007 cat'), answer: /control character \(U\+0007\)/ },
  {
    name: 'ANSI escape in the prompt',
    send: prompt('a \u001b[31mred\u001b[0m cat'),
    answer: /control character \(U\+001B\)/,
  },
  {
    name: 'C1 control in the negative',
    send: imagine({ prompt: 'a cat', negative: 'blur\u0085' }),
    answer: /negative contains a control character \(U\+0085\)/,
  },
  { name: 'banned word', send: prompt('a friendly zombie'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word, upper case', send: prompt('A ZOMBIE DOG'), answer: /does not allow \("zombie"\)/ },
  {
    name: 'banned word split by a zero-width space',
    send: prompt('a zom\u200bbie dog'),
    answer: /does not allow \("zombie"\)/,
  },
  {
    name: 'banned word with a zero-width joiner and soft hyphen',
    send: prompt('a z\u200do\u00admbie'),
    answer: /does not allow \("zombie"\)/,
  },
  {
    name: 'banned word with a Cyrillic о and а',
    send: prompt('a zоmbie with gаre'),
    answer: /does not allow \("zombie"\)/,
  },
  { name: 'banned word in Cyrillic look-alikes only', send: prompt('a ѕраm can'), answer: /does not allow \("spam"\)/ },
  { name: 'banned word in leetspeak', send: prompt('a z0mb13 dog'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word with dots', send: prompt('a z.o.m.b.i.e dog'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word with spaces', send: prompt('a z o m b i e dog'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word in full-width letters', send: prompt('a ｚｏｍｂｉｅ'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word with accents', send: prompt('a zómbíé'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word stretched', send: prompt('a zoooombieee'), answer: /does not allow \("zombie"\)/ },
  { name: 'banned word inside a compound', send: prompt('a superzombiedog'), answer: /does not allow \("zombie"\)/ },
  {
    name: 'banned word in the negative behind zero-width characters',
    send: imagine({ prompt: 'a cat', negative: 'blurry, zo\u200bm\u2060bie' }),
    answer: /negative prompt contains a word this server does not allow \("zombie"\)/,
  },
  {
    name: 'banned word in a --no flag',
    send: prompt('a cat --no z\u200bombie'),
    answer: /negative prompt contains a word this server does not allow \("zombie"\)/,
  },
  {
    name: '60 one-letter words spelling a banned word',
    send: prompt(
      [...'a b c d e f g h i j '.repeat(5).trim().split(' '), ...'zombie'.split(''), 'x', 'y', 'z', 'w'].join(' '),
    ),
    answer: /does not allow \("zombie"\)/,
  },
  { name: 'steps 0', send: imagine({ prompt: 'a cat', steps: 0 }), answer: /steps must be between 1 and 150, got 0/ },
  {
    name: 'steps 500',
    send: imagine({ prompt: 'a cat', steps: 500 }),
    answer: /steps must be between 1 and 150, got 500/,
  },
  {
    name: 'steps over the server cap',
    send: imagine({ prompt: 'a cat', steps: 60 }),
    answer: /steps between 1 and 50, got 60/,
  },
  { name: 'count 9', send: imagine({ prompt: 'a cat', count: 9 }), answer: /count must be between 1 and 4, got 9/ },
  { name: 'count 0 by flag', send: prompt('a cat --count 0'), answer: /count must be between 1 and 4, got 0/ },
  {
    name: 'guidance -1',
    send: imagine({ prompt: 'a cat', guidance: -1 }),
    answer: /guidance must be between 0 and 30, got -1/,
  },
  {
    name: 'guidance 100',
    send: imagine({ prompt: 'a cat', guidance: 100 }),
    answer: /guidance must be between 0 and 30, got 100/,
  },
  {
    name: 'guidance not a number by flag',
    send: prompt('a cat --cfg NaN'),
    answer: /`--cfg` expects a number, got `NaN`/,
  },
  {
    name: 'seed -1',
    send: imagine({ prompt: 'a cat', seed: -1 }),
    answer: /seed must be between 0 and 4294967295, got -1/,
  },
  {
    name: 'seed 2^33',
    send: imagine({ prompt: 'a cat', seed: 2 ** 33 }),
    answer: /seed must be between 0 and 4294967295, got 8589934592/,
  },
  {
    name: 'seed 2^33 by flag',
    send: prompt('a cat --seed 8589934592'),
    answer: /seed must be between 0 and 4294967295, got 8589934592/,
  },
  {
    name: 'fractional steps by flag',
    send: prompt('a cat --steps 2.5'),
    answer: /`--steps` expects a whole number, got `2.5`/,
  },
  {
    name: 'unknown sampler by flag',
    send: prompt('a cat --sampler turbo9000'),
    answer: /unknown sampler `turbo9000`; choose one of euler_a/,
  },
  {
    name: 'unknown sampler option',
    send: imagine({ prompt: 'a cat', sampler: 'plms' }),
    answer: /unknown sampler `plms`/,
  },
  { name: 'aspect 7:0', send: prompt('a cat --ar 7:0'), answer: /aspect must look like 16:9, got `7:0`/ },
  { name: 'aspect 9:1', send: prompt('a cat --ar 9:1'), answer: /aspect must be between 1:4 and 4:1, got `9:1`/ },
  {
    name: 'aspect option not a ratio',
    send: imagine({ prompt: 'a cat', aspect: 'wide' }),
    answer: /aspect must look like 16:9, got `wide`/,
  },
  { name: 'flag without a value', send: prompt('a cat --seed'), answer: /`--seed` needs a value/ },
  { name: 'unknown flag', send: prompt('a cat --chaos 50'), answer: /unknown prompt flag `--chaos`/ },
  {
    name: 'option and flag disagree',
    send: imagine({ prompt: 'a cat --steps 5', steps: 6 }),
    answer: /`steps` was given twice: option 6 and prompt flag 5/,
  },
];

/** Forged custom_ids, clicked on a real finished message (the server lets a forged id through). */
function clicks(final: StoredMessage, jobId: string): Row[] {
  const click =
    (customId: string, user: 'alice' | 'bob' = 'bob'): Send =>
    (h) =>
      h.server.click({ user: h.users[user], message: final, customId, forge: true });
  const unknown = 'AAAAAAAAAAAAAAAAAAAAAA';
  return [
    { name: 'random custom_id', send: click('hello'), answer: /not one I recognise/ },
    { name: 'custom_id of 100 characters', send: click(`ef:rr:${'a'.repeat(94)}`), answer: /not one I recognise/ },
    { name: 'custom_id with a path', send: click('ef:rr:../../etc/passwd'), answer: /not one I recognise/ },
    { name: 'custom_id with an extra part', send: click(`ef:u:${jobId}:1:2`), answer: /not one I recognise/ },
    { name: 'custom_id of another action', send: click(`ef:zz:${jobId}`), answer: /not one I recognise/ },
    { name: 'custom_id of another bot', send: click(`other:rr:${jobId}`), answer: /not one I recognise/ },
    { name: 'image index 0', send: click(`ef:v:${jobId}:0`), answer: /not one I recognise/ },
    { name: 'image index past the result', send: click(`ef:u:${jobId}:3`), answer: /has 1 image; there is no image 3/ },
    {
      name: 'variation of image 4 of a single image',
      send: click(`ef:v:${jobId}:4`),
      answer: /has 1 image; there is no image 4/,
    },
    { name: 'reroll of an unknown job', send: click(`ef:rr:${unknown}`), answer: /no longer available/ },
    { name: 'pick of an unknown job', send: click(`ef:u:${unknown}:1`), answer: /no longer available/ },
    {
      name: 'cancel of an unknown job',
      send: click(`ef:x:${unknown}`),
      answer: /There is no job `AAAAAAAAAAAAAAAAAAAAAA`/,
    },
    {
      name: 'cancel of a finished job',
      send: click(`ef:x:${jobId}`, 'alice'),
      answer: /already finished; nothing to cancel/,
    },
    {
      name: "cancel of someone else's finished job",
      send: click(`ef:x:${jobId}`),
      answer: /Only the person who asked for this image, or a moderator of its server/,
    },
  ];
}

let h: Harness;
let final: StoredMessage;
let jobId: string;

before(async () => {
  h = await Harness.start({ settings: { cooldownSeconds: 0, bannedWords: ['zombie', 'spam'] } });
  const i = h.server.slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a calm lake', steps: 2 } });
  final = await i.waitFor(isFinal);
  jobId = /^ef:[a-z]+:([\w-]+)/.exec(buttonIds(final)[0])![1];
  assert.deepEqual(buttonLabels(final), SINGLE_BUTTONS);
});
after(async () => h?.close());
afterEach(() => assert.deepEqual(h.server.takeViolations(), []));

async function jobKeys(): Promise<string[]> {
  const keys: string[] = [];
  for await (const [key] of h.store.iterate('job:')) keys.push(key);
  return keys.sort();
}

test('bad /imagine input: a clear ephemeral answer each, nothing queued', async () => {
  const stats = h.queue.stats().byState;
  const keys = await jobKeys();
  assert.ok(keys.length >= 1, 'the store is read (the finished job is there)');
  for (const row of TABLE) {
    const i = row.send(h);
    await ephemeralAnswer(h, i, row.answer).catch((error: Error) => assert.fail(`${row.name}: ${error.message}`));
    assert.deepEqual(h.queue.stats().byState, stats, `${row.name}: queue stats changed`);
  }
  assert.deepEqual(await jobKeys(), keys, 'no job record was written');
  assert.equal(
    h.runs.filter((r) => r.outcome === 'error').length,
    0,
    'every refusal was a user-facing one, not an internal error',
  );
});

test('forged custom_ids and clicks on unknown jobs: a clear ephemeral answer each, nothing queued', async () => {
  const stats = h.queue.stats().byState;
  const keys = await jobKeys();
  for (const row of clicks(final, jobId)) {
    const i = row.send(h);
    await ephemeralAnswer(h, i, row.answer).catch((error: Error) => assert.fail(`${row.name}: ${error.message}`));
    assert.deepEqual(h.queue.stats().byState, stats, `${row.name}: queue stats changed`);
  }
  assert.deepEqual(await jobKeys(), keys, 'no job record was written');
  assert.equal(h.runs.filter((r) => r.outcome === 'error').length, 0);
});

test("another server's jobs: forged buttons, ids and links are refused, nothing queued or posted anywhere", async () => {
  const other = await h.addGuild('Other', { cooldownSeconds: 0 });
  const mallory = other.users.moderator;
  const theirs = await h.server
    .slash({
      user: other.users.alice,
      command: 'imagine',
      options: { prompt: 'a red kite', steps: 2 },
      channelId: other.channels.general.id,
    })
    .waitFor(isFinal);
  // A channel of the first server that plain members cannot see, with a result in it made by its owner.
  const guild = h.server.guild;
  const hidden = h.server.addChannel(guild, 'mods-only', {
    overwrites: [{ id: guild.id, type: 0, allow: 0n, deny: Permission.ViewChannel }],
  });
  await until(() => h.bot.client.channels.cache.has(hidden.id), 'the bot to cache the hidden channel');
  const secret = await h.server
    .slash({
      user: h.users.owner,
      command: 'imagine',
      options: { prompt: 'a secret plan', steps: 2 },
      channelId: hidden.id,
    })
    .waitFor(isFinal);
  const secretJob = /^ef:[a-z]+:([\w-]+)/.exec(buttonIds(secret)[0])![1];
  const deleted = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'a short life', steps: 2 } })
    .waitFor(isFinal);
  await h.bot.client.rest.delete(`/channels/${deleted.channelId}/messages/${deleted.id}`);
  const link = (m: StoredMessage, guildId = h.server.guildId) =>
    `https://discord.com/channels/${guildId}/${m.channelId}/${m.id}`;
  const inOther =
    (customId: string): Send =>
    (x) =>
      x.server.click({ user: mallory, message: theirs, customId, forge: true });
  const rows: Row[] = [
    { name: "🔄 on another server's job", send: inOther(`ef:rr:${jobId}`), answer: /made in another server/ },
    { name: "U1 on another server's job", send: inOther(`ef:u:${jobId}:1`), answer: /made in another server/ },
    { name: "Vary on another server's job", send: inOther(`ef:vs:${jobId}`), answer: /made in another server/ },
    { name: "🎞 on another server's job", send: inOther(`ef:tl:${jobId}`), answer: /made in another server/ },
    {
      name: "Cancel on another server's job by its moderator",
      send: inOther(`ef:x:${jobId}`),
      answer: /or a moderator of its server, can cancel it/,
    },
    {
      name: "/diffusion with another server's job id",
      send: (x) =>
        x.server.slash({
          user: mallory,
          command: 'diffusion',
          options: { job: jobId },
          channelId: other.channels.general.id,
        }),
      answer: /made in another server/,
    },
    {
      name: '/diffusion with a link into another server',
      send: (x) =>
        x.server.slash({
          user: mallory,
          command: 'diffusion',
          options: { job: link(final) },
          channelId: other.channels.general.id,
        }),
      answer: /message in another server/,
    },
    {
      name: "/diffusion with a link that names this server but another server's channel",
      send: (x) =>
        x.server.slash({
          user: mallory,
          command: 'diffusion',
          options: { job: link(final, other.id) },
          channelId: other.channels.general.id,
        }),
      answer: /channel you cannot see/,
    },
    {
      name: '/diffusion with a link to a channel the caller cannot see',
      send: (x) => x.server.slash({ user: x.users.alice, command: 'diffusion', options: { job: link(secret) } }),
      answer: /channel you cannot see/,
    },
    {
      name: '/diffusion with the id of a job from a channel the caller cannot see',
      send: (x) => x.server.slash({ user: x.users.alice, command: 'diffusion', options: { job: secretJob } }),
      answer: /channel you cannot see/,
    },
    {
      name: '/diffusion with a link to a deleted message',
      send: (x) => x.server.slash({ user: x.users.alice, command: 'diffusion', options: { job: link(deleted) } }),
      answer: /no longer exists/,
    },
  ];
  const stats = h.queue.stats().byState;
  const keys = await jobKeys();
  const posted = () =>
    [...Object.values(guild.channels), hidden, ...Object.values(other.channels)].map(
      (c) => h.server.channelMessages(c.id).length,
    );
  const before = posted();
  for (const row of rows) {
    const i = row.send(h);
    await ephemeralAnswer(h, i, row.answer).catch((error: Error) => assert.fail(`${row.name}: ${error.message}`));
    assert.deepEqual(h.queue.stats().byState, stats, `${row.name}: queue stats changed`);
  }
  assert.deepEqual(await jobKeys(), keys, 'no job record was written');
  assert.deepEqual(posted(), before, 'nothing was posted in any channel');
  assert.equal(h.runs.filter((r) => r.outcome === 'error').length, 0);
  // Whoever can see the hidden channel can still use its result.
  const own = h.server.click({ user: h.users.owner, message: secret, customId: `ef:rr:${secretJob}` });
  assert.match((await own.waitFor(isFinal, 30_000)).content, /secret plan/);
});

test("a prompt within 1000 characters but past the model's token window is accepted (the engine truncates it)", async () => {
  const long = Array.from({ length: 120 }, (_, n) => `cat${n}`).join(' ');
  assert.ok(long.length < 1000);
  const i = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt: long, steps: 2 } });
  const done = await i.waitFor(isFinal);
  assert.match(done.content, /cat0 cat1/);
});
