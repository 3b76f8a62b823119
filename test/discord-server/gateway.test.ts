// The gateway: heartbeats, resume after a dropped connection or op 7 (missed dispatches replayed),
// refusal of a wrong token, and the end of a session on a clean close.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Events, GatewayIntentBits, MessageFlags, SlashCommandBuilder } from 'discord.js';
import WebSocket from 'ws';
import { startHarness, expectViolations } from './helpers.ts';
import { startDiscordServer, NoBotConnectedError } from '../support/discord/index.ts';

const go = new SlashCommandBuilder().setName('go').setDescription('Go').toJSON();

test('heartbeats are acknowledged', async () => {
  const h = await startHarness({ heartbeatIntervalMs: 100 });
  try {
    await h.server.waitFor(() => h.server.gateway.heartbeats >= 2, 'two heartbeats', 2000);
    await h.server.waitFor(() => h.client.ws.ping >= 0, 'a measured ping', 2000);
  } finally {
    await h.close();
  }
});

test('a dropped connection resumes and gets the interaction dispatched while it was down', async () => {
  const h = await startHarness();
  try {
    await h.client.application!.commands.set([go], h.server.guildId);
    h.onInteraction(async (i) => {
      if (i.isChatInputCommand()) await i.reply('here');
    });
    h.server.dropConnections();
    const it = h.server.slash({ user: h.server.users.alice, command: 'go' });
    await it.waitFor((m) => m.content === 'here', 5000);
    assert.equal(h.server.gateway.resumes, 1);
    assert.equal(h.server.gateway.identifies, 1);

    h.server.requestReconnect();
    await h.server.waitFor(() => h.server.gateway.resumes === 2, 'a second resume after op 7', 5000);
    await h.server.waitForBot();
    const again = h.server.slash({ user: h.server.users.bob, command: 'go' });
    await again.waitFor((m) => m.content === 'here');
    assert.deepEqual(h.server.violations, []);
  } finally {
    await h.close();
  }
});

test('a destroyed client ends its session: nothing left to dispatch to', async () => {
  const h = await startHarness();
  await h.client.application!.commands.set([go], h.server.guildId);
  await h.client.destroy();
  await h.server.waitFor(() => h.server.gateway.connected === 0, 'the socket to close');
  assert.throws(() => h.server.slash({ user: h.server.users.alice, command: 'go' }), NoBotConnectedError);
  await h.close();
});

test('a wrong token cannot log in', async () => {
  const server = await startDiscordServer();
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api: server.apiUrl } });
  try {
    await assert.rejects(client.login('not-the-token'));
    expectViolations(server, [/missing or wrong bot token/]);
    assert.equal(server.gateway.identifies, 0);
  } finally {
    await client.destroy();
    await server.close();
  }
});

test('the gateway refuses other versions and transport compression', async () => {
  const server = await startDiscordServer();
  try {
    const closeCode = (query: string) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`${server.gatewayUrl}?${query}`);
        ws.on('close', (code) => resolve(code));
        ws.on('error', () => {});
      });
    assert.equal(await closeCode('v=9&encoding=json'), 4012);
    assert.equal(await closeCode('v=10&encoding=json&compress=zlib-stream'), 4012);
    expectViolations(server, [/v=9/, /compress=zlib-stream/]);
  } finally {
    await server.close();
  }
});

test('a connection whose heartbeats stop is closed with 4009 and recorded', async () => {
  const server = await startDiscordServer({ heartbeatIntervalMs: 100 });
  try {
    const ws = new WebSocket(`${server.gatewayUrl}?v=10&encoding=json`);
    const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
    ws.on('message', (raw) => {
      const payload = JSON.parse(raw.toString());
      if (payload.op === 10) ws.send(JSON.stringify({ op: 2, d: { token: server.token, intents: 1, properties: {} } }));
    });
    assert.equal(await closed, 4009);
    assert.equal(server.gateway.timeouts, 1);
    expectViolations(server, [/no heartbeat for \d+ ms \(interval 100 ms\)/]);
  } finally {
    await server.close();
  }
});

test('with the GuildMessages intent the bot gets MESSAGE_CREATE / UPDATE / DELETE for visible messages', async () => {
  const h = await startHarness({}, [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages]);
  try {
    const seen: string[] = [];
    h.client.on(Events.MessageCreate, (m) => void seen.push(`create ${m.content}`));
    h.client.on(Events.MessageUpdate, (_old, m) => void seen.push(`update ${m.content}`));
    h.client.on(Events.MessageDelete, (m) => void seen.push(`delete ${m.id}`));
    await h.client.application!.commands.set([go], h.server.guildId);
    h.onInteraction(async (i) => {
      if (!i.isChatInputCommand()) return;
      await i.reply({ content: 'secret', flags: MessageFlags.Ephemeral });
      await i.followUp('public');
    });
    const it = h.server.slash({ user: h.server.users.alice, command: 'go' });
    await it.waitForFollowUp((m) => m.content === 'public');
    const channel = h.client.channels.cache.get(h.server.channels.general.id);
    assert.ok(channel?.isSendable());
    const sent = await channel.send('hello');
    await sent.edit('hello again');
    await sent.delete();
    await h.server.waitFor(() => seen.length >= 4, 'four message events', 2000);
    assert.deepEqual(seen, ['create public', 'create hello', 'update hello again', `delete ${sent.id}`]);
    assert.equal(channel.messages.cache.has(sent.id), false);
  } finally {
    await h.close();
  }
});
