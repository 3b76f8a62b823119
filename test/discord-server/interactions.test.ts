// A bare discord.js client against the fake server: slash commands, deferrals, edits with files and
// components, follow-ups, button clicks, channel messages; every write lands and is recorded.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  MessageFlags,
  SlashCommandBuilder,
} from 'discord.js';
import { startHarness, type Harness } from './helpers.ts';
import { CallbackType, SlashCommandError, type StoredMessage } from '../support/discord/index.ts';

let h: Harness;

const imagine = new SlashCommandBuilder()
  .setName('imagine')
  .setDescription('Make a picture')
  .addStringOption((o) => o.setName('prompt').setDescription('What to draw').setRequired(true))
  .addIntegerOption((o) => o.setName('count').setDescription('How many').setMinValue(1).setMaxValue(4))
  .addNumberOption((o) => o.setName('guidance').setDescription('Guidance'))
  .addStringOption((o) =>
    o
      .setName('aspect')
      .setDescription('Aspect')
      .addChoices({ name: '1:1', value: '1:1' }, { name: '16:9', value: '16:9' }),
  );
const settings = new SlashCommandBuilder()
  .setName('settings')
  .setDescription('Moderator settings')
  .setDefaultMemberPermissions(1n << 5n)
  .addSubcommand((s) => s.setName('show').setDescription('Show'))
  .addSubcommand((s) =>
    s
      .setName('channels')
      .setDescription('Allow or deny a channel')
      .addChannelOption((o) => o.setName('channel').setDescription('Which').setRequired(true))
      .addBooleanOption((o) => o.setName('allow').setDescription('Allow?').setRequired(true)),
  );

async function png(width: number, height: number): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 20, b: 40 } } })
    .png()
    .toBuffer();
}

function buttons(...ids: string[]) {
  return new ActionRowBuilder<ButtonBuilder>().addComponents(
    ids.map((id) => new ButtonBuilder().setCustomId(id).setLabel(id).setStyle(ButtonStyle.Secondary)),
  );
}

before(async () => {
  h = await startHarness();
  await h.client.application!.commands.set([imagine.toJSON()], h.server.guildId);
  await h.client.application!.commands.set([settings.toJSON()]);
});

after(async () => {
  await h.close();
});

test('login: READY and GUILD_CREATE give discord.js the bot user, application and guild', async () => {
  const { client, server } = h;
  assert.equal(client.user!.id, server.botUser.id);
  assert.equal(client.application!.id, server.applicationId);
  const guild = client.guilds.cache.get(server.guildId);
  assert.ok(guild, 'guild cached from GUILD_CREATE');
  assert.equal(guild.ownerId, server.users.owner.id);
  assert.ok(guild.channels.cache.has(server.channels.art.id));
  assert.ok(guild.roles.cache.has(server.roles.moderator.id));
  assert.equal(server.gateway.identifies, 1);
});

test('command registration is stored per scope and ids survive a re-registration', async () => {
  const { server, client } = h;
  assert.deepEqual(
    server.registeredCommands(server.guildId).map((c) => c.name),
    ['imagine'],
  );
  assert.deepEqual(
    server.registeredCommands().map((c) => c.name),
    ['settings'],
  );
  const before = server.registeredCommands(server.guildId)[0].id;
  await client.application!.commands.set([imagine.toJSON()], server.guildId);
  assert.equal(server.registeredCommands(server.guildId)[0].id, before);
  const fetched = await client.application!.commands.fetch({ guildId: server.guildId });
  assert.deepEqual(
    [...fetched.values()].map((c) => c.name),
    ['imagine'],
  );
  assert.equal(server.registeredCommands()[0].default_member_permissions, String(1n << 5n));
});

test('slash: typed options, deferReply, then editReply with a PNG and buttons lands and is recorded', async () => {
  const { server } = h;
  const image = await png(64, 48);
  let seen:
    | {
        prompt: string | null;
        count: number | null;
        guidance: number | null;
        aspect: string | null;
        perms: string | undefined;
        limit: number;
      }
    | undefined;
  h.onInteraction(async (i) => {
    if (!i.isChatInputCommand()) return;
    seen = {
      prompt: i.options.getString('prompt'),
      count: i.options.getInteger('count'),
      guidance: i.options.getNumber('guidance'),
      aspect: i.options.getString('aspect'),
      perms: i.memberPermissions?.bitfield.toString(),
      limit: i.attachmentSizeLimit,
    };
    await i.deferReply();
    await i.editReply({ content: 'step 1/2' });
    await i.editReply({
      content: 'done',
      files: [new AttachmentBuilder(image, { name: 'cat.png' })],
      components: [buttons('reroll:1', 'vary:1')],
    });
  });
  const it = server.slash({
    user: server.users.alice,
    command: 'imagine',
    options: { prompt: 'a cat', count: 2, guidance: 7.5, aspect: '16:9' },
  });
  const ack = await it.acknowledged();
  assert.equal(ack.type, CallbackType.DeferredChannelMessageWithSource);
  assert.ok(ack.latencyMs < 3000);
  const final = await it.waitFor((m) => m.content === 'done');
  assert.deepEqual(seen, {
    prompt: 'a cat',
    count: 2,
    guidance: 7.5,
    aspect: '16:9',
    perms: seen!.perms,
    limit: 10 * 1024 * 1024,
  });
  assert.equal(final.attachments.length, 1);
  assert.equal(final.attachments[0].filename, 'cat.png');
  const meta = await sharp(final.attachments[0].data).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 48]);
  assert.deepEqual(final.components[0].components, [
    { type: 2, custom_id: 'reroll:1', label: 'reroll:1', style: 2 },
    { type: 2, custom_id: 'vary:1', label: 'vary:1', style: 2 },
  ]);
  assert.deepEqual(
    it.edits.map((e) => e.message.content),
    ['step 1/2', 'done'],
  );
  assert.ok(it.edits[0].at <= it.edits[1].at);
  assert.equal(final.version, 2);
  assert.ok(
    server.channelMessages().some((m) => m.id === final.id),
    'a public response is a channel message',
  );
  const served = await fetch(final.attachments[0].url);
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), image);
  assert.deepEqual(server.violations, []);
});

test('the dispatched payload carries what discord.js and Discord put there', async () => {
  const { server } = h;
  h.onInteraction(async (i) => {
    if (i.isChatInputCommand()) await i.reply({ content: 'ok', flags: MessageFlags.Ephemeral });
  });
  const it = server.slash({
    user: server.users.moderator,
    command: 'settings',
    subcommand: 'channels',
    options: { channel: server.channels.art, allow: false },
  });
  await it.acknowledged();
  const p = it.payload as Record<string, any>;
  assert.deepEqual(p.entitlements, []);
  assert.equal(p.channel.id, server.channels.general.id);
  assert.equal(p.attachment_size_limit, 10 * 1024 * 1024);
  assert.equal(BigInt(p.member.permissions) & (1n << 5n), 1n << 5n, 'moderator has Manage Server');
  assert.deepEqual(p.data.options, [
    {
      type: 1,
      name: 'channels',
      options: [
        { name: 'channel', type: 7, value: server.channels.art.id },
        { name: 'allow', type: 5, value: false },
      ],
    },
  ]);
  assert.equal(p.data.resolved.channels[server.channels.art.id].name, 'art');
  assert.equal(it.original!.flags & 64, 64, 'ephemeral reply');
  assert.ok(
    !server.channelMessages().some((m) => m.id === it.original!.id),
    'ephemeral replies are not channel messages',
  );
  const alice = server.slash({ user: server.users.alice, command: 'settings', subcommand: 'show' });
  await alice.acknowledged();
  assert.equal(BigInt((alice.payload as any).member.permissions) & (1n << 5n), 0n);
  const forced = server.slash({
    user: server.users.alice,
    command: 'settings',
    subcommand: 'show',
    memberPermissions: 1n << 5n,
  });
  await forced.acknowledged();
  assert.equal((forced.payload as any).member.permissions, String(1n << 5n));
  assert.deepEqual(server.violations, []);
});

test('slash refuses what a Discord client would not send', () => {
  const { server } = h;
  const alice = server.users.alice;
  assert.throws(() => server.slash({ user: alice, command: 'nope' }), SlashCommandError);
  assert.throws(() => server.slash({ user: alice, command: 'imagine', options: {} }), /requires option "prompt"/);
  assert.throws(
    () => server.slash({ user: alice, command: 'imagine', options: { prompt: 'x', count: 9 } }),
    /between 1 and 4, got 9/,
  );
  assert.throws(
    () => server.slash({ user: alice, command: 'imagine', options: { prompt: 'x', count: 1.5 } }),
    /an integer/,
  );
  assert.throws(
    () => server.slash({ user: alice, command: 'imagine', options: { prompt: 'x', aspect: '4:3' } }),
    /one of \["1:1", "16:9"\]/,
  );
  assert.throws(
    () => server.slash({ user: alice, command: 'imagine', options: { prompt: 'x', colour: 'red' } }),
    /no option "colour"/,
  );
  assert.throws(() => server.slash({ user: alice, command: 'settings' }), /needs a subcommand/);
});

test('follow-ups (ephemeral and public), withResponse, fetchReply and deleteReply', async () => {
  const { server } = h;
  let fetched: string | undefined;
  let responseId: string | undefined;
  h.onInteraction(async (i) => {
    if (!i.isChatInputCommand()) return;
    const response = await i.reply({ content: 'first', withResponse: true });
    responseId = response.resource?.message?.id;
    await i.followUp({ content: 'secret', flags: MessageFlags.Ephemeral });
    await i.followUp({ content: 'public', files: [new AttachmentBuilder(Buffer.from('hello'), { name: 'a.txt' })] });
    fetched = (await i.fetchReply()).content;
    await i.deleteReply();
  });
  const it = server.slash({ user: server.users.bob, command: 'imagine', options: { prompt: 'dog' } });
  await it.waitForFollowUp((m) => m.content === 'public');
  await server.waitFor(() => it.original === null, 'original deleted');
  assert.equal(fetched, 'first');
  assert.ok(responseId);
  assert.deepEqual(
    it.followUps.map((m) => [m.content, m.flags & 64]),
    [
      ['secret', 64],
      ['public', 0],
    ],
  );
  assert.equal(it.followUps[1].attachments[0].data.toString(), 'hello');
  assert.deepEqual(server.violations, []);
});

test('a follow-up after a deferral fills the loading message instead of creating one', async () => {
  const { server } = h;
  h.onInteraction(async (i) => {
    if (!i.isChatInputCommand()) return;
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    await i.followUp({ content: 'error: banned word' });
  });
  const it = server.slash({ user: server.users.bob, command: 'imagine', options: { prompt: 'bad' } });
  const original = await it.waitFor((m) => m.content === 'error: banned word');
  assert.equal(original.flags & 64, 64, 'stays ephemeral');
  assert.equal(original.flags & 128, 0, 'no longer loading');
  assert.equal(it.followUps.length, 0);
  assert.deepEqual(server.violations, []);
});

test('buttons: update (type 7), deferUpdate + editReply (type 6), and a new reply (type 4)', async () => {
  const { server } = h;
  h.onInteraction(async (i) => {
    if (i.isChatInputCommand()) await i.reply({ content: 'result', components: [buttons('reroll:9', 'cancel:9')] });
    if (!i.isButton()) return;
    if (i.customId === 'cancel:9') await i.update({ content: 'cancelled', components: [] });
    else if (i.user.id === server.users.alice.id) {
      await i.deferUpdate();
      await i.editReply({ content: 'rerolling' });
    } else
      await i.reply({
        content: `reroll for ${i.user.username}`,
        files: [new AttachmentBuilder(await png(8, 8), { name: 'r.png' })],
      });
  });
  const it = server.slash({ user: server.users.alice, command: 'imagine', options: { prompt: 'dog' } });
  const result = await it.waitFor((m) => m.components.length > 0);

  const bob = server.click({ user: server.users.bob, message: result, customId: 'reroll:9' });
  const reply = await bob.waitFor((m) => m.attachments.length === 1);
  assert.equal(bob.ack!.type, CallbackType.ChannelMessageWithSource);
  assert.notEqual(reply.id, result.id);
  assert.equal((bob.payload as any).message.id, result.id);
  assert.equal((bob.payload as any).data.custom_id, 'reroll:9');

  const alice = server.click({ user: server.users.alice, message: result, customId: 'reroll:9' });
  await alice.waitFor((m) => m.content === 'rerolling');
  assert.equal(alice.ack!.type, CallbackType.DeferredUpdateMessage);
  assert.equal(alice.original!.id, result.id);

  const cancel = server.click({ user: server.users.alice, message: result, customId: 'cancel:9' });
  const cancelled = await cancel.waitFor((m) => m.content === 'cancelled');
  assert.equal(cancel.ack!.type, CallbackType.UpdateMessage);
  assert.deepEqual(cancelled.components, []);
  assert.throws(
    () => server.click({ user: server.users.bob, message: cancelled, customId: 'reroll:9' }),
    /no component/,
  );
  assert.deepEqual(server.violations, []);
});

test('a forged custom_id can be sent with forge: true', async () => {
  const { server } = h;
  let got: string | undefined;
  h.onInteraction(async (i) => {
    if (i.isChatInputCommand()) await i.reply({ content: 'x', components: [buttons('ok')] });
    if (i.isButton()) {
      got = i.customId;
      await i.reply({ content: 'refused', flags: MessageFlags.Ephemeral });
    }
  });
  const it = server.slash({ user: server.users.alice, command: 'imagine', options: { prompt: 'x' } });
  const message = await it.waitFor((m) => m.components.length > 0);
  const forged = server.click({ user: server.users.bob, message, customId: 'v:../../etc', forge: true });
  await forged.waitFor((m) => m.content === 'refused');
  assert.equal(got, 'v:../../etc');
});

test('bot channel messages with attachments, fetched and edited through the channel routes', async () => {
  const { server, client } = h;
  const channel = await client.channels.fetch(server.channels.art.id);
  assert.ok(channel?.isSendable());
  const sent = await channel.send({
    content: `<@${server.users.alice.id}> your image`,
    files: [new AttachmentBuilder(await png(16, 16), { name: 'late.png' })],
    allowedMentions: { users: [server.users.alice.id] },
  });
  const stored = await server.waitForChannelMessage(server.channels.art.id, (m: StoredMessage) => m.id === sent.id);
  assert.equal(stored.kind, 'channel');
  assert.equal((await sharp(stored.attachments[0].data).metadata()).width, 16);
  assert.deepEqual(stored.allowedMentions, { users: [server.users.alice.id] });
  await sent.edit({ content: 'edited' });
  assert.equal(server.message(sent.id)!.content, 'edited');
  const refetched = await channel.messages.fetch({ message: sent.id, force: true });
  assert.equal(refetched.content, 'edited');
  assert.deepEqual(server.violations, []);
});

test('added members can use commands; ack latencies are collected', async () => {
  const { server } = h;
  const carol = server.addUser('carol', { roles: [server.roles.moderator.id] });
  h.onInteraction(async (i) => {
    if (i.isChatInputCommand()) await i.reply({ content: `hi ${i.user.username}`, flags: MessageFlags.Ephemeral });
  });
  const it = server.slash({ user: carol, command: 'settings', subcommand: 'show' });
  await it.waitFor((m) => m.content === 'hi carol');
  assert.equal(
    BigInt((it.payload as any).member.permissions) & (1n << 5n),
    1n << 5n,
    'the Moderator role grants Manage Server',
  );
  const latencies = server.ackLatencies();
  assert.equal(latencies.length, server.interactions.filter((i) => i.ack).length);
  assert.ok(latencies.every((ms) => ms >= 0 && ms < 3000));
});
