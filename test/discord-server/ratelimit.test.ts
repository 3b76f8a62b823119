// Injected 429s and 5xx answers, and the per-token edit limit: discord.js waits, retries, and the
// writes still land without violations.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { startHarness, discordErrorCode, type Harness } from './helpers.ts';

const EDITS = { limit: 3, windowMs: 400 };
let h: Harness;

before(async () => {
  h = await startHarness({ editRateLimit: EDITS });
  await h.client.application!.commands.set(
    [new SlashCommandBuilder().setName('go').setDescription('Go').toJSON()],
    h.server.guildId,
  );
});

after(async () => {
  await h.close();
});

function run<T>(body: (i: ChatInputCommandInteraction) => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    h.onInteraction(async (i) => {
      if (i.isChatInputCommand()) await body(i).then(resolve, reject);
    });
    h.server.slash({ user: h.server.users.alice, command: 'go' });
  });
}

const patches = (since: number) => h.server.requests.filter((r) => r.at >= since && r.method === 'PATCH');

test('normal answers carry X-RateLimit-* headers', async () => {
  const res = await fetch(`${h.server.apiUrl}/v10/users/@me`, { headers: { authorization: `Bot ${h.server.token}` } });
  assert.equal(res.status, 200);
  for (const name of ['limit', 'remaining', 'reset', 'reset-after', 'bucket']) {
    assert.ok(res.headers.get(`x-ratelimit-${name}`), `x-ratelimit-${name} present`);
  }
});

test('an injected 429 on an edit is waited out and retried by discord.js', async () => {
  const start = Date.now();
  const injection = h.server.inject({
    method: 'PATCH',
    path: /\/messages\/@original$/,
    status: 429,
    retryAfterMs: 250,
  });
  const result = await run(async (i) => {
    await i.deferReply();
    await i.editReply('final');
    return Date.now() - start;
  });
  assert.equal(injection.hits, 1);
  assert.ok(result >= 250, `waited Retry-After (took ${result} ms)`);
  assert.deepEqual(
    patches(start).map((r) => [r.status, r.injected ?? false]),
    [
      [429, true],
      [200, false],
    ],
  );
  assert.equal(h.server.interactions.at(-1)!.original!.content, 'final');
  assert.deepEqual(h.server.violations, []);
});

test('a global 429 on the callback still acknowledges inside the window', async () => {
  const start = Date.now();
  h.server.inject({ path: /\/callback$/, status: 429, retryAfterMs: 150, global: true });
  await run((i) => i.deferReply());
  const it = h.server.interactions.at(-1)!;
  assert.ok(it.ack && it.ack.latencyMs >= 150);
  assert.deepEqual(
    h.server.requests.filter((r) => r.at >= start && r.path.endsWith('/callback')).map((r) => r.status),
    [429, 204],
  );
  assert.deepEqual(h.server.violations, []);
});

test('5xx answers are retried (three times by default); a fourth failure reaches the bot', async () => {
  h.server.inject({ method: 'PATCH', path: /@original$/, status: 500, times: 2 });
  const landed = await run(async (i) => {
    await i.deferReply();
    return discordErrorCode(() => i.editReply('after two 500s'));
  });
  assert.equal(landed, undefined);
  assert.equal(h.server.interactions.at(-1)!.original!.content, 'after two 500s');

  h.server.inject({ method: 'PATCH', path: /@original$/, status: 503, times: 4 });
  const failed = await run(async (i) => {
    await i.deferReply();
    return i.editReply('never').then(
      () => 'landed',
      (error: { status?: number }) => error.status,
    );
  });
  assert.equal(failed, 503);
  assert.deepEqual(h.server.violations, []);
});

test('the per-token edit limit: discord.js follows the bucket headers and every edit lands', async () => {
  const start = Date.now();
  const took = await run(async (i) => {
    await i.deferReply();
    for (let n = 1; n <= 7; n++) await i.editReply(`edit ${n}`);
    return Date.now() - start;
  });
  const it = h.server.interactions.at(-1)!;
  assert.equal(it.original!.content, 'edit 7');
  assert.equal(it.edits.length, 7);
  assert.ok(took >= 2 * EDITS.windowMs - 50, `7 edits at 3 per 400 ms need two waits (took ${took} ms)`);
  const accepted = patches(start)
    .filter((r) => r.status === 200)
    .map((r) => r.at);
  for (const at of accepted) {
    assert.ok(
      accepted.filter((t) => t >= at && t < at + EDITS.windowMs).length <= EDITS.limit + 1,
      'no more than one bucket of edits per window',
    );
  }
  assert.deepEqual(h.server.violations, []);
});

test('going over the edit limit is answered 429 with Discord headers and body', async () => {
  const it = h.server.slash({ user: h.server.users.bob, command: 'go' });
  h.onInteraction(async (i) => {
    if (i.isChatInputCommand()) await i.deferReply();
  });
  await it.acknowledged();
  const url = `${h.server.apiUrl}/v10/webhooks/${h.server.applicationId}/${it.token}/messages/@original`;
  const answers = [];
  for (let n = 0; n < EDITS.limit + 1; n++) {
    answers.push(
      await fetch(url, {
        method: 'PATCH',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ content: `${n}` }),
      }),
    );
  }
  assert.deepEqual(
    answers.map((r) => r.status),
    [200, 200, 200, 429],
  );
  assert.deepEqual(
    answers.map((r) => r.headers.get('x-ratelimit-remaining')),
    ['2', '1', '0', '0'],
  );
  const limited = answers.at(-1)!;
  assert.equal(limited.headers.get('x-ratelimit-scope'), 'user');
  assert.ok(Number(limited.headers.get('retry-after')) > 0);
  const body = (await limited.json()) as { retry_after: number; global: boolean; message: string };
  assert.equal(body.global, false);
  assert.ok(body.retry_after > 0 && body.retry_after <= EDITS.windowMs / 1000);
  assert.equal(it.original!.content, '2', 'the refused edit changed nothing');
  assert.deepEqual(h.server.violations, [], 'a 429 is an answer, not a violation');
});
