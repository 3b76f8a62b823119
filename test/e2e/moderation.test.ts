// Cancel rights, moderator settings (limits, banned words, channels), refusals with what to do.
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, buttonIds, buttonLabels, isFinal, paced, ephemeralAnswer } from './harness.ts';
import type { StoredMessage } from '../support/discord/index.ts';

let h: Harness;
before(async () => {
  h = await Harness.start({
    settings: { cooldownSeconds: 0, maxPending: 5 },
    wrapEngine: (e) => paced(e, 60),
    server: { log: process.env.E2E_LOG ? (l) => console.log(l.slice(0, 200)) : undefined },
  });
});
after(async () => h?.close());
afterEach(async () => {
  assert.deepEqual(h.server.violations, []);
  // Tests change settings through /settings; each starts from the same easy-going ones.
  await h.settings.reset(h.server.guildId);
  await h.settings.update(h.server.guildId, { cooldownSeconds: 0, maxPending: 5 });
});

function cancelId(message: StoredMessage): string {
  return buttonIds(message)[buttonLabels(message).indexOf('Cancel')];
}

async function runningJob(user = h.users.alice) {
  const i = h.server.slash({ user, command: 'imagine', options: { prompt: 'a slow boat', steps: 40 } });
  const shown = await i.waitFor((m) => buttonLabels(m).includes('Cancel'));
  return { i, shown };
}

test('Cancel: another member is refused, the owner may cancel', async () => {
  const { i, shown } = await runningJob();
  const bob = h.server.click({ user: h.users.bob, message: shown, customId: cancelId(shown) });
  await ephemeralAnswer(h, bob, /Only the person who asked/);
  const alice = h.server.click({ user: h.users.alice, message: shown, customId: cancelId(shown) });
  await ephemeralAnswer(h, alice, /^Cancelled/);
  const ended = await i.waitFor((m) => /Cancelled\./.test(m.content));
  assert.equal(ended.components.length, 0);
  assert.equal(ended.attachments.length, 0);
});

test('Cancel across servers: a moderator of another server is nobody here (button or /cancel job:)', async () => {
  const other = h.server.guilds[1] ?? (await h.addGuild('Other', { cooldownSeconds: 0, maxPending: 5 }));
  const mallory = other.users.moderator;
  const { i, shown } = await runningJob();
  const jobId = /^ef:x:([\w-]+)$/.exec(cancelId(shown))![1];
  // A message of the bot in the other server, to forge the click on.
  const there = await h.server
    .slash({
      user: other.users.alice,
      command: 'imagine',
      options: { prompt: 'a kite', steps: 2 },
      channelId: other.channels.general.id,
    })
    .waitFor(isFinal);
  const forged = h.server.click({ user: mallory, message: there, customId: `ef:x:${jobId}`, forge: true });
  await ephemeralAnswer(h, forged, /or a moderator of its server, can cancel it/);
  const typed = h.server.slash({
    user: mallory,
    command: 'cancel',
    options: { job: jobId },
    channelId: other.channels.general.id,
  });
  await ephemeralAnswer(h, typed, /or a moderator of its server, can cancel it/);
  const done = await i.waitFor(isFinal, 30_000);
  assert.match(done.content, /a slow boat/);
  assert.equal((await h.queue.get(jobId))?.state, 'done');
  // The job's own server's moderator still can (checked by the test below); its owner can from anywhere.
  await h.server.addMember(other, h.users.bob);
  const second = await runningJob(h.users.bob);
  const own = h.server.slash({ user: h.users.bob, command: 'cancel', channelId: other.channels.general.id });
  await ephemeralAnswer(h, own, /^Cancelled `/);
  await second.i.waitFor((m) => /Cancelled\./.test(m.content));
});

test("Cancel: a moderator may cancel anyone's job; /cancel cancels your own", async () => {
  const { i, shown } = await runningJob();
  const mod = h.server.click({ user: h.users.moderator, message: shown, customId: cancelId(shown) });
  await ephemeralAnswer(h, mod, /^Cancelled/);
  await i.waitFor((m) => /Cancelled\./.test(m.content));
  const second = await runningJob(h.users.bob);
  const cmd = h.server.slash({ user: h.users.bob, command: 'cancel' });
  await ephemeralAnswer(h, cmd, /^Cancelled `/);
  await second.i.waitFor((m) => /Cancelled\./.test(m.content));
  const none = h.server.slash({ user: h.users.bob, command: 'cancel' });
  await ephemeralAnswer(h, none, /no jobs waiting or running/);
});

test('/settings: refused for a member, moderators set limits and banned words that then apply', async () => {
  const denied = h.server.slash({
    user: h.users.alice,
    command: 'settings',
    subcommand: 'show',
    memberPermissions: 0n,
    unchecked: true,
  });
  await ephemeralAnswer(h, denied, /Only moderators/);

  const limits = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'limits',
    options: { max_steps: 10, daily_quota: 50 },
  });
  await ephemeralAnswer(h, limits, /max_steps 10/);
  const tooMany = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a house', steps: 30 },
  });
  await ephemeralAnswer(h, tooMany, /steps between 1 and 10, got 30/);
  assert.ok(tooMany.original === null || tooMany.original.deleted, 'the public placeholder was removed');

  const banned = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'banned-words',
    options: { action: 'add', words: 'Zombie, gore' },
  });
  await ephemeralAnswer(h, banned, /Added 2 words/);
  const list = h.server.slash({
    user: h.users.owner,
    command: 'settings',
    subcommand: 'banned-words',
    options: { action: 'list' },
  });
  await ephemeralAnswer(h, list, /`zombie`, `gore`/);
  const refused = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'a friendly Z0MBIE dog' },
  });
  await ephemeralAnswer(h, refused, /does not allow \("zombie"\)\. Please rephrase/);
  const removed = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'banned-words',
    options: { action: 'remove', words: 'zombie' },
  });
  await ephemeralAnswer(h, removed, /Removed 1 word; 1 banned now/);

  const cooldown = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'limits',
    options: { cooldown: 600 },
  });
  await ephemeralAnswer(h, cooldown, /cooldown 600 s/);
  // The owner has not submitted yet in this file, so only the new cooldown can stop the second try.
  const ok = h.server.slash({
    user: h.users.owner,
    command: 'imagine',
    options: { prompt: 'a friendly zombie dog', steps: 2 },
  });
  await ok.waitFor(isFinal).catch((e) => {
    throw new Error(`${e.message}; follow-ups: ${ok.followUps.map((m) => m.content).join(' / ')}`);
  });
  const again = h.server.slash({
    user: h.users.owner,
    command: 'imagine',
    options: { prompt: 'another dog', steps: 2 },
  });
  await ephemeralAnswer(h, again, /Please wait \d+ more seconds.*try again <t:\d+:R>/s);

  const reset = h.server.slash({ user: h.users.moderator, command: 'settings', subcommand: 'reset' });
  await ephemeralAnswer(h, reset, /reset to defaults/);
});

test('/settings channels: deny a channel, requests there are refused; a role can be made moderator', async () => {
  const deny = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'channels',
    options: { action: 'deny', channel: h.server.channels.quiet.id },
  });
  await ephemeralAnswer(h, deny, /Denied channels\*\* <#\d+>/);
  const there = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    channelId: h.server.channels.quiet.id,
    options: { prompt: 'a cloud' },
  });
  await ephemeralAnswer(h, there, /not allowed in this channel/);
  const reset = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'channels',
    options: { action: 'reset' },
  });
  await ephemeralAnswer(h, reset, /Allowed channels\*\* all/);

  // A configured moderator role is enough without Manage Server (permissions stripped from the payload).
  const role = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'moderator-role',
    options: { action: 'add', role: h.server.roles.moderator.id },
  });
  await ephemeralAnswer(h, role, /Moderator roles\*\* <@&\d+>/);
  const viaRole = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'show',
    memberPermissions: 0n,
  });
  await ephemeralAnswer(h, viaRole, /\*\*Limits\*\*/);
});

test('/queue and /help answer ephemerally', async () => {
  const { i } = await runningJob();
  const q = h.server.slash({ user: h.users.alice, command: 'queue' });
  await ephemeralAnswer(h, q, /Queue: \d+ waiting, 1 running\.\nYour jobs:\n`[\w-]+` running/);
  const help = h.server.slash({ user: h.users.bob, command: 'help' });
  await ephemeralAnswer(h, help, /\/imagine/);
  const cancel = h.server.slash({ user: h.users.alice, command: 'cancel' });
  await ephemeralAnswer(h, cancel, /^Cancelled/);
  await i.waitFor((m) => /Cancelled\./.test(m.content));
});

test('/settings: two changes sent at once are both kept; samplers can be allowed and disallowed', async () => {
  const cooldown = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'limits',
    options: { cooldown: 17 },
  });
  const steps = h.server.slash({
    user: h.users.owner,
    command: 'settings',
    subcommand: 'limits',
    options: { max_steps: 12 },
  });
  const words = [
    h.server.slash({
      user: h.users.moderator,
      command: 'settings',
      subcommand: 'banned-words',
      options: { action: 'add', words: 'alpha' },
    }),
    h.server.slash({
      user: h.users.owner,
      command: 'settings',
      subcommand: 'banned-words',
      options: { action: 'add', words: 'beta' },
    }),
  ];
  await Promise.all([cooldown, steps, ...words].map((i) => ephemeralAnswer(h, i, /updated|Added/)));
  const saved = await h.settings.get(h.server.guildId);
  assert.equal(saved.cooldownSeconds, 17);
  assert.equal(saved.maxSteps, 12);
  assert.deepEqual([...saved.bannedWords].sort(), ['alpha', 'beta']);

  const only = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'samplers',
    options: { action: 'only', sampler: 'ddim' },
  });
  await ephemeralAnswer(h, only, /^\*\*Samplers\*\* ddim$/);
  const last = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'samplers',
    options: { action: 'disallow', sampler: 'ddim' },
  });
  await ephemeralAnswer(h, last, /only sampler allowed; allow another first/);
  const refused = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a cat', sampler: 'euler' },
  });
  await ephemeralAnswer(h, refused, /euler sampler is not allowed here/);
  // Left out, the sampler falls back to one the server allows instead of refusing the user.
  await h.settings.update(h.server.guildId, { cooldownSeconds: 0 });
  const fitted = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a plain cat', steps: 2 },
  });
  assert.match((await fitted.waitFor(isFinal, 30_000)).content, /ddim/);
  const all = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'samplers',
    options: { action: 'all' },
  });
  await ephemeralAnswer(h, all, /euler_a, euler, .*ddim|ddim/);
  assert.equal((await h.settings.get(h.server.guildId)).allowedSamplers.length, 5);
});

test("an aspect ratio fits the server's max_side: the long side at the limit, the ratio kept (not refused)", async () => {
  await h.settings.update(h.server.guildId, { maxSide: 64 });
  const wide = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a wide field --ar 16:9', steps: 2 },
  });
  assert.match((await wide.waitFor(isFinal, 30_000)).content, /64×32/);
  const tall = h.server.slash({
    user: h.users.alice,
    command: 'imagine',
    options: { prompt: 'a tall tower', aspect: '9:16', steps: 2 },
  });
  assert.match((await tall.waitFor(isFinal, 30_000)).content, /32×64/);
});

test('U buttons post like jobs do: refused in a denied channel, and under a per-user cooldown', async () => {
  const grid = await h.server
    .slash({ user: h.users.alice, command: 'imagine', options: { prompt: 'two moons', count: 2, steps: 2 } })
    .waitFor(isFinal, 30_000);
  await h.settings.update(h.server.guildId, { cooldownSeconds: 30 });
  const u1 = h.server.click({
    user: h.users.bob,
    message: grid,
    customId: buttonIds(grid)[buttonLabels(grid).indexOf('U1')],
  });
  await u1.waitFor(isFinal);
  const u2 = h.server.click({
    user: h.users.bob,
    message: grid,
    customId: buttonIds(grid)[buttonLabels(grid).indexOf('U2')],
  });
  await ephemeralAnswer(h, u2, /Please wait \d+ more seconds/);
  await h.settings.update(h.server.guildId, { cooldownSeconds: 0, deniedChannels: [h.server.channels.general.id] });
  const denied = h.server.click({
    user: h.users.alice,
    message: grid,
    customId: buttonIds(grid)[buttonLabels(grid).indexOf('U2')],
  });
  await ephemeralAnswer(h, denied, /not allowed in this channel/);
  assert.equal(
    h.server.channelMessages().filter((m) => m.attachments.some((a) => a.filename === 'image-2.png')).length,
    0,
    'image 2 was never posted',
  );
});

test('slurs are refused by default however they are spelled, in prompt and negative; a moderator can turn the filter off', async () => {
  const before = (await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length;
  for (const prompt of ['a n1gg3r', 'k i k e on a hill', 'a FAG']) {
    const i = h.server.slash({ user: h.users.bob, command: 'imagine', options: { prompt, steps: 2 } });
    await ephemeralAnswer(h, i, /contains a slur, which this bot refuses/);
  }
  const negative = h.server.slash({
    user: h.users.bob,
    command: 'imagine',
    options: { prompt: 'a cat', negative: 'niggers', steps: 2 },
  });
  await ephemeralAnswer(h, negative, /negative prompt contains a slur/);
  assert.equal((await h.queue.listForUser(h.users.bob.id, { finished: 50 })).length, before, 'nothing queued');
  // Innocent words that a naive list would catch pass.
  await h.server
    .slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'un gato negro, flame retardant', steps: 2 } })
    .waitFor(isFinal);

  const member = h.server.slash({
    user: h.users.alice,
    command: 'settings',
    subcommand: 'banned-words',
    options: { action: 'slurs-off' },
  });
  await ephemeralAnswer(h, member, /Only moderators/);
  const off = h.server.slash({
    user: h.users.moderator,
    command: 'settings',
    subcommand: 'banned-words',
    options: { action: 'slurs-off' },
  });
  await ephemeralAnswer(h, off, /Slur filter\*\* off/);
  assert.equal((await h.settings.get(h.server.guildId)).slurFilter, false);
  await h.server
    .slash({ user: h.users.bob, command: 'imagine', options: { prompt: 'a FAG', steps: 2 } })
    .waitFor(isFinal);
  // Another server keeps its own (default) filter.
  const other = await h.addGuild('strict');
  const there = h.server.slash({
    user: h.server.guilds.find((g) => g.id === other.id)!.users.bob,
    command: 'imagine',
    options: { prompt: 'a FAG', steps: 2 },
    channelId: other.channels.general.id,
  });
  await ephemeralAnswer(h, there, /contains a slur/);
});
