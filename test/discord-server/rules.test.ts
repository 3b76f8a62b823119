// Each of Discord's rules, broken on purpose: the server answers like Discord and records a violation.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  AttachmentBuilder,
  MessageFlags,
  Routes,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type Interaction,
} from 'discord.js';
import { startHarness, expectViolations, discordErrorCode, type Harness } from './helpers.ts';

const ACK_WINDOW = 300;
const TOKEN_LIFETIME = 1200;
const SIZE_LIMIT = 2000;
let h: Harness;

before(async () => {
  // Edits are not rate-limited here: these tests send many refused edits in a row.
  h = await startHarness({
    ackWindowMs: ACK_WINDOW,
    tokenLifetimeMs: TOKEN_LIFETIME,
    attachmentSizeLimit: SIZE_LIMIT,
    editRateLimit: null,
  });
  await h.client.application!.commands.set(
    [new SlashCommandBuilder().setName('go').setDescription('Go').toJSON()],
    h.server.guildId,
  );
});

after(async () => {
  await h.close();
});

/** Dispatches /go, runs `body` in the bot and returns what it returned. */
async function run<T>(body: (i: ChatInputCommandInteraction) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    h.onInteraction(async (i: Interaction) => {
      if (i.isChatInputCommand()) await body(i).then(resolve, reject);
    });
    h.server.slash({ user: h.server.users.alice, command: 'go' });
  });
}

const row = (...ids: string[]) => ({
  type: 1,
  components: ids.map((id) => ({ type: 2, style: 2, label: 'b', custom_id: id })),
});

test('a first response after the ack window is refused (10062) and recorded once', async () => {
  const code = await run(async (i) => {
    await sleep(ACK_WINDOW + 100);
    return discordErrorCode(() => i.deferReply());
  });
  assert.equal(code, 10062);
  expectViolations(h.server, [/not acknowledged within 300 ms/]);
});

test('an interaction never answered is recorded', async () => {
  const it = h.server.slash({ user: h.server.users.bob, command: 'go' });
  h.onInteraction(() => {});
  await sleep(ACK_WINDOW + 50);
  assert.equal(it.ack, null);
  expectViolations(h.server, [/\/go by bob: not acknowledged within 300 ms/]);
});

test('a slow callback that arrives inside the window but is answered after it is not a violation', async () => {
  h.server.inject({ path: /\/callback$/, delayMs: ACK_WINDOW + 50 });
  const code = await run((i) => discordErrorCode(() => i.deferReply()));
  assert.equal(code, undefined);
  expectViolations(h.server, []);
});

test('a second acknowledgement is refused with 40060', async () => {
  const code = await run(async (i) => {
    await i.deferReply();
    return discordErrorCode(() =>
      i.client.rest.post(Routes.interactionCallback(i.id, i.token), {
        body: { type: 4, data: { content: 'again' } },
        auth: false,
      }),
    );
  });
  assert.equal(code, 40060);
  expectViolations(h.server, [/already acknowledged with type 5/]);
});

test('a component-only callback type on a slash command is refused', async () => {
  const code = await run((i) =>
    discordErrorCode(() =>
      i.client.rest.post(Routes.interactionCallback(i.id, i.token), { body: { type: 6 }, auth: false }),
    ),
  );
  assert.equal(code, 50035);
  await sleep(ACK_WINDOW + 50);
  expectViolations(h.server, [/callback type 6 is not valid/, /\/go by alice: not acknowledged within 300 ms/]);
});

test('the interaction token expires after its lifetime (50027)', async () => {
  const code = await run(async (i) => {
    await i.deferReply();
    await sleep(TOKEN_LIFETIME + 50);
    return discordErrorCode(() => i.editReply('too late'));
  });
  assert.equal(code, 50027);
  expectViolations(h.server, [/token used \d+ ms after dispatch; it expires after 1200 ms/]);
});

test('editing @original before acknowledging, or an unknown message, is 10008', async () => {
  const codes = await run(async (i) => {
    const early = await discordErrorCode(() => i.webhook.editMessage('@original', { content: 'x' }));
    await i.deferReply();
    const unknown = await discordErrorCode(() => i.webhook.editMessage('1234567890', { content: 'x' }));
    return [early, unknown];
  });
  assert.deepEqual(codes, [10008, 10008]);
  expectViolations(h.server, [
    /no original response \(the interaction was not acknowledged yet\)/,
    /no such message among this interaction's responses/,
  ]);
});

test('a follow-up before acknowledging is refused', async () => {
  const code = await run(async (i) => {
    const result = await discordErrorCode(() => i.webhook.send({ content: 'early' }));
    await i.deferReply();
    return result;
  });
  assert.equal(code, 10015);
  expectViolations(h.server, [/sent before the interaction was acknowledged/]);
});

test('custom_id length and uniqueness, buttons per row, rows per message, content length', async () => {
  const codes = await run(async (i) => {
    await i.deferReply();
    const edit = (payload: Record<string, unknown>) => discordErrorCode(() => i.editReply(payload));
    return [
      await edit({ components: [row('x'.repeat(101))] }),
      await edit({ components: [row('')] }),
      await edit({ components: [row('a', 'b'), row('c', 'a')] }),
      await edit({ components: [row('1', '2', '3', '4', '5', '6')] }),
      await edit({ components: ['1', '2', '3', '4', '5', '6'].map((id) => row(id)) }),
      await edit({ content: 'y'.repeat(2001) }),
      await edit({ content: 'y'.repeat(2000), components: [row('x'.repeat(100), 'b', 'c', 'd', 'e')] }),
    ];
  });
  assert.deepEqual(codes, [50035, 50035, 50035, 50035, 50035, 50035, undefined]);
  expectViolations(h.server, [
    /custom_id at components.0.components.0 is 101 characters, expected 1 to 100/,
    /custom_id at components.0.components.0 is 0 characters/,
    /custom_id "a" at components.1.components.1 duplicates the one at components.0.components.0/,
    /action row 0 holds 6 components, expected 1 to 5/,
    /6 action rows, at most 5 allowed/,
    /content is 2001 characters, at most 2000 allowed/,
  ]);
});

test('the same rules hold for replies, follow-ups, updates and channel messages', async () => {
  const codes = await run(async (i) => {
    const reply = await discordErrorCode(() => i.reply({ content: 'z'.repeat(2001) }));
    await i.deferReply({ flags: MessageFlags.Ephemeral });
    await i.editReply('ok');
    const followUp = await discordErrorCode(() => i.followUp({ components: [row('a', 'a')] as never }));
    const channel = await i.client.channels.fetch(h.server.channels.general.id);
    const sent = await discordErrorCode(() => (channel as any).send({ content: 'q'.repeat(2001) }));
    return [reply, followUp, sent];
  });
  assert.deepEqual(codes, [50035, 50035, 50035]);
  expectViolations(h.server, [
    /callback type 4: content is 2001/,
    /follow-up to \/go: custom_id "a"/,
    /message to channel \d+: content is 2001/,
  ]);
});

test('an attachment over the size limit is refused with 413 / 40005', async () => {
  const codes = await run(async (i) => {
    await i.deferReply();
    const big = await discordErrorCode(() =>
      i.editReply({ files: [new AttachmentBuilder(Buffer.alloc(SIZE_LIMIT + 1), { name: 'big.png' })] }),
    );
    const fits = await discordErrorCode(() =>
      i.editReply({ files: [new AttachmentBuilder(Buffer.alloc(SIZE_LIMIT), { name: 'ok.png' })] }),
    );
    return [big, fits, i.attachmentSizeLimit];
  });
  assert.deepEqual(codes, [40005, undefined, SIZE_LIMIT]);
  expectViolations(h.server, [/attachment "big.png" is 2001 bytes, over the 2000-byte attachment_size_limit/]);
});

test('two edits in flight at once to one message are recorded', async () => {
  const it = h.server.slash({ user: h.server.users.alice, command: 'go' });
  h.onInteraction(async (i) => {
    if (i.isChatInputCommand()) await i.deferReply();
  });
  await it.acknowledged();
  // discord.js queues one request per bucket, so go around it as a careless bot might.
  h.server.inject({ method: 'PATCH', path: /@original$/, delayMs: 100, times: 2 });
  const url = `${h.server.apiUrl}/v10/webhooks/${h.server.applicationId}/${it.token}/messages/@original`;
  const patch = (content: string) =>
    fetch(url, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ content }) });
  const answers = await Promise.all([patch('a'), patch('b')]);
  assert.deepEqual(
    answers.map((r) => r.status),
    [200, 200],
  );
  assert.equal(h.server.maxEditsInFlight(it.originalId!), 2);
  expectViolations(h.server, [/2 edits in flight at once to message \d+, at most 1 allowed/]);
});

test('bad command registrations, a wrong bot token and unknown routes are recorded', async () => {
  const bad = await discordErrorCode(() =>
    h.client.application!.commands.set([{ name: 'Imagine', description: '' } as never], h.server.guildId),
  );
  assert.equal(bad, 50035);
  const wrong = await fetch(`${h.server.apiUrl}/v10/users/@me`, { headers: { authorization: 'Bot nope' } });
  assert.equal(wrong.status, 401);
  const missing = await fetch(`${h.server.apiUrl}/v10/guilds/${h.server.guildId}/bans`, {
    headers: { authorization: `Bot ${h.server.token}` },
  });
  assert.equal(missing.status, 404);
  expectViolations(h.server, [
    /command registration refused/,
    /missing or wrong bot token/,
    /does not implement that route/,
  ]);
  assert.deepEqual(
    h.server.registeredCommands(h.server.guildId).map((c) => c.name),
    ['go'],
    'a refused registration changes nothing',
  );
});

test('embed limits and button styles and labels', async () => {
  const codes = await run(async (i) => {
    await i.deferReply();
    const edit = (payload: Record<string, unknown>) => discordErrorCode(() => i.editReply(payload));
    return [
      await edit({ embeds: [{ title: 't'.repeat(257) }] }),
      await edit({ embeds: [{ description: 'd'.repeat(4000) }, { description: 'd'.repeat(2001) }] }),
      await edit({ embeds: [{ fields: Array.from({ length: 26 }, (_, n) => ({ name: `f${n}`, value: 'v' })) }] }),
      await edit({ components: [{ type: 1, components: [{ type: 2, style: 9, label: 'x', custom_id: 'a' }] }] }),
      await edit({ components: [{ type: 1, components: [{ type: 2, style: 1, custom_id: 'a' }] }] }),
      await edit({ embeds: [{ title: 'Seed 42', fields: [{ name: 'steps', value: '20' }] }] }),
    ];
  });
  assert.deepEqual(codes, [50035, 50035, 50035, 50035, 50035, undefined]);
  expectViolations(h.server, [
    /embed title at embeds.0.title is 257 characters, at most 256/,
    /embeds hold 6001 characters in all, at most 6000/,
    /embed 0 has 26 fields, at most 25/,
    /button at components.0.components.0 has style 9/,
    /button at components.0.components.0 has neither a label nor an emoji/,
  ]);
});
