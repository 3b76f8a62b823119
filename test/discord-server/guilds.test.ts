// The fake server with several guilds: each has its own members, roles and channels; the bot is in all of
// them; interactions carry their own guild, channel and the member's permissions in that channel.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  PermissionFlagsBits,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type TextChannel,
} from 'discord.js';
import { startHarness, type Harness } from './helpers.ts';
import { Permission } from '../support/discord/index.ts';

let h: Harness;
const seen: Array<{ guild: string | null; channel: string; perms: string | undefined; user: string }> = [];

before(async () => {
  h = await startHarness();
  h.onInteraction(async (i) => {
    if (!i.isChatInputCommand()) return;
    seen.push({
      guild: i.guildId,
      channel: i.channelId,
      perms: i.memberPermissions?.bitfield.toString(),
      user: i.user.id,
    });
    await (i as ChatInputCommandInteraction).reply({ content: 'ok' });
  });
  await h.client.application!.commands.set([new SlashCommandBuilder().setName('ping').setDescription('Ping').toJSON()]);
});

after(async () => h.close());

/** The bot's cache changes without the server noticing: poll it. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(check(), `timed out waiting for ${what}`);
}

test('a second guild joins with its own members, roles and channels, and the bot sees it', async () => {
  const other = h.server.addGuild('Other');
  await until(() => h.client.guilds.cache.has(other.id), 'the bot to cache the new guild');
  const cached = h.client.guilds.cache.get(other.id)!;
  assert.equal(cached.ownerId, other.users.owner.id);
  assert.ok(cached.channels.cache.has(other.channels.general.id));
  assert.ok(!cached.channels.cache.has(h.server.channels.general.id), 'channels stay in their guild');
  assert.notEqual(other.users.alice.id, h.server.users.alice.id);
  assert.equal(h.server.guilds.length, 2);
});

test('interactions carry the guild of their channel and the member permissions there', async () => {
  const other = h.server.guilds[1];
  const mine = h.server.slash({ user: h.server.users.alice, command: 'ping' });
  const theirs = h.server.slash({ user: other.users.moderator, command: 'ping', channelId: other.channels.art.id });
  await mine.waitFor((m) => m.content === 'ok');
  await theirs.waitFor((m) => m.content === 'ok');
  assert.equal(theirs.original?.channelId, other.channels.art.id);
  const [a, b] = [
    seen.find((s) => s.user === h.server.users.alice.id)!,
    seen.find((s) => s.user === other.users.moderator.id)!,
  ];
  assert.equal(a.guild, h.server.guildId);
  assert.equal(b.guild, other.id);
  assert.equal(b.channel, other.channels.art.id);
  assert.equal(BigInt(a.perms!) & PermissionFlagsBits.ManageGuild, 0n);
  assert.equal(BigInt(b.perms!) & PermissionFlagsBits.ManageGuild, PermissionFlagsBits.ManageGuild);
  // A person who is not a member of that guild cannot type there.
  assert.throws(
    () => h.server.slash({ user: h.server.users.alice, command: 'ping', channelId: other.channels.general.id }),
    /not a member/,
  );
});

test('channel overwrites: a hidden channel denies View Channel to @everyone, a member overwrite allows it back', async () => {
  const guild = h.server.guild;
  const carol = h.server.addUser('carol');
  const secret = h.server.addChannel(guild, 'secret', {
    overwrites: [
      { id: guild.id, type: 0, allow: 0n, deny: Permission.ViewChannel },
      { id: carol.id, type: 1, allow: Permission.ViewChannel, deny: 0n },
    ],
  });
  await until(() => h.client.channels.cache.has(secret.id), 'the bot to cache the new channel');
  const channel = h.client.channels.cache.get(secret.id) as TextChannel;
  const members = h.client.guilds.cache.get(guild.id)!.members;
  const alice = await members.fetch(h.server.users.alice.id);
  const carolMember = await members.fetch(carol.id);
  assert.equal(channel.permissionsFor(alice).has(PermissionFlagsBits.ViewChannel), false);
  assert.equal(channel.permissionsFor(carolMember).has(PermissionFlagsBits.ViewChannel), true);
  assert.equal(
    channel.permissionsFor(await members.fetch(guild.users.owner.id)).has(PermissionFlagsBits.ViewChannel),
    true,
    'the owner sees everything',
  );
  const there = h.server.slash({ user: carol, command: 'ping', channelId: secret.id });
  await there.waitFor((m) => m.content === 'ok');
  const perms = BigInt(seen.find((s) => s.user === carol.id)!.perms!);
  assert.equal(perms & PermissionFlagsBits.ViewChannel, PermissionFlagsBits.ViewChannel);
  assert.deepEqual(h.server.violations, []);
});
