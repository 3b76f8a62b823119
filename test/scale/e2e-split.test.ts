// End to end with split roles: the bot is the assembled app with ROLE=bot (no engine; jobs go through
// BullMQ on a real redis-server), and two GPU worker PROCESSES run the real tiny model (paced so a
// job lasts long enough to show previews). The local Discord-compatible server checks every rule.
import { botRegistry } from '../../src/commands/index.ts';
import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { parseConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startApp, type App } from '../../src/app/app.ts';
import { startBot } from '../../src/discord/bot.ts';
import { GuildSettingsStore, openStore } from '../../src/queue/index.ts';
import { registerBotCommands } from '../../src/app/register-commands.ts';
import {
  isEphemeral,
  startDiscordServer,
  type DiscordServer,
  type InteractionHandle,
} from '../support/discord/index.ts';
import { FIXTURE, buttonIds, buttonLabels, isFinal, SINGLE_BUTTONS, GRID_BUTTONS } from '../e2e/harness.ts';
import { HAVE_REDIS, NO_REDIS_REASON, startRedis, type RedisServer } from '../queue/helpers.ts';
import { startWorkerProcess, type WorkerProcess } from './helpers.ts';

const skip = HAVE_REDIS ? false : NO_REDIS_REASON;
let redis: RedisServer;
let server: DiscordServer;
let app: App;
let dataDir: string;
const workers: WorkerProcess[] = [];

before(async () => {
  if (skip) return;
  redis = await startRedis();
  server = await startDiscordServer({ waitTimeoutMs: 30_000, editRateLimit: { limit: 5, windowMs: 1000 } });
  await registerBotCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });
  dataDir = mkdtempSync(join(tmpdir(), 'e2e-split-'));
  const env = {
    ROLE: 'bot',
    REDIS_URL: redis.url,
    DISCORD_TOKEN: server.token,
    DISCORD_API_URL: server.apiUrl,
    DATA_DIR: dataDir,
    MODEL_DIR: FIXTURE,
    REGISTER_COMMANDS: 'off',
    LOG_LEVEL: 'silent',
  };
  const config = parseConfig(env);
  assert.equal(config.queueBackend, 'bullmq', 'ROLE=bot implies the BullMQ backend');
  // Settings live in Redis, shared with the bot: no cooldown, so tests can submit back to back.
  const store = await openStore({ dataDir, redisUrl: redis.url });
  await new GuildSettingsStore(store).update(server.guildId, { cooldownSeconds: 0 });
  await store.close();
  const logger = createLogger({ level: 'silent', secrets: [server.token] });
  // The production front end, with the e2e preview cadence (150 ms instead of 1.5 s).
  app = await startApp(config, logger, async (deps) => {
    const bot = await startBot({
      registry: botRegistry(),
      token: server.token,
      apiUrl: server.apiUrl,
      queue: deps.queue,
      settings: deps.settings,
      logger: { info() {}, warn() {}, error() {}, debug() {} },
      defaultSide: deps.engine.size.side,
      displaySide: 64,
      defaults: { steps: 4, guidance: 5, sampler: 'euler' },
      previewIntervalMs: 150,
    });
    return { rest: bot.client.rest, ready: () => bot.client.isReady(), stop: () => bot.stop() };
  });
  assert.equal(app.engine, undefined, 'the bot loaded no engine');
  assert.equal(app.worker.backend, 'bullmq');
  workers.push(
    ...(await Promise.all(
      [1, 2].map((k) =>
        startWorkerProcess({
          redisUrl: redis.url,
          name: `gpu${k}`,
          queueName: 'emojiforge-generate',
          prefix: 'emojiforge-bull',
          engine: 'tiny',
          stepMs: 40,
          lockMs: 1500,
          stalledMs: 500,
        }),
      ),
    )),
  );
});

after(async () => {
  if (skip) return;
  await Promise.all(workers.map((w) => w.kill()));
  await app?.stop({ graceMs: 0 });
  await server?.close();
  await redis?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

afterEach(() => {
  if (!skip) assert.deepEqual(server.violations, []);
});

const finalsOf = (i: InteractionHandle) => i.edits.filter((w) => w.message.id === i.originalId && isFinal(w.message));

test('split roles: /imagine is deferred, previews edit the reply, the final PNG comes with its buttons', {
  skip,
}, async () => {
  const i = server.slash({
    user: server.users.alice,
    command: 'imagine',
    options: { prompt: 'a red apple --seed 42', steps: 12 },
  });
  assert.equal((await i.acknowledged()).type, 5);
  const final = await i.waitFor(isFinal);
  assert.match(final.content, /seed 42/);
  assert.match(final.content, /12 steps/);
  assert.equal((await sharp(final.attachments[0].data).metadata()).format, 'png');
  assert.deepEqual(buttonLabels(final), SINGLE_BUTTONS);
  const previews = i.edits.filter((w) => /Step \d+\/12/.test(w.message.content));
  assert.ok(
    previews.some((w) => w.message.attachments.some((a) => a.filename === 'preview.webp')),
    `expected a preview edit, got ${i.edits.map((w) => w.message.content).join(' | ')}`,
  );
  assert.equal(server.maxEditsInFlight(), 1);
  assert.equal(finalsOf(i).length, 1);
});

test('split roles: two users at once run on both workers; a grid comes back with its U/V buttons', {
  skip,
}, async () => {
  const before = workers.map((w) => w.events.filter((e) => e.type === 'done').length);
  const a = server.slash({
    user: server.users.alice,
    command: 'imagine',
    options: { prompt: 'blue fish', count: 4, steps: 12 },
  });
  const b = server.slash({ user: server.users.bob, command: 'imagine', options: { prompt: 'green tree', steps: 12 } });
  const [fa, fb] = await Promise.all([a.waitFor(isFinal), b.waitFor(isFinal)]);
  assert.equal(fa.attachments[0].filename, 'grid.png');
  assert.deepEqual(buttonLabels(fa), GRID_BUTTONS);
  assert.equal(fb.attachments[0].filename, 'image.png');
  const ran = workers.map((w, k) => w.events.filter((e) => e.type === 'done').length - before[k]);
  assert.deepEqual(ran, [1, 1], 'one job on each worker');
  // A button becomes a new job from the stored record, run by whichever worker is free.
  const u2 = server.click({ user: server.users.alice, message: fa, customId: buttonIds(fa)[1] });
  const picked = await u2.waitFor(isFinal);
  assert.match(picked.attachments[0].filename, /^image(-2)?\.png$/);
});

test('split roles: Cancel on a job running on a worker process stops it', { skip }, async () => {
  const i = server.slash({
    user: server.users.alice,
    command: 'imagine',
    options: { prompt: 'a slow boat', steps: 40 },
  });
  const shown = await i.waitFor((m) => buttonLabels(m).includes('Cancel') && /Step [1-9]\d*\/40/.test(m.content));
  const click = server.click({
    user: server.users.alice,
    message: shown,
    customId: buttonIds(shown)[buttonLabels(shown).indexOf('Cancel')],
  });
  await server.waitFor(
    () => [click.original, ...click.followUps].find((m) => m && isEphemeral(m) && /^Cancelled/.test(m.content)),
    'the cancel confirmation',
  );
  const ended = await i.waitFor((m) => /Cancelled\./.test(m.content));
  assert.equal(ended.attachments.length, 0);
  await Promise.race(workers.map((w) => w.waitFor((e) => e.type === 'failed' && e.error === 'cancelled')));
});

test('split roles: the worker running a job is killed; the other finishes it and the user gets one final', {
  skip,
}, async () => {
  const i = server.slash({
    user: server.users.bob,
    command: 'imagine',
    options: { prompt: 'a stubborn owl', steps: 30 },
  });
  // Step 0 shows as soon as the job is handed to BullMQ; wait for a step a worker really ran.
  await i.waitFor((m) => /Step [1-9]\d*\/30/.test(m.content));
  const victim = workers.find((w) =>
    w.events.some((e) => e.type === 'start' && !w.events.some((d) => d.jobId === e.jobId && d.type !== 'start')),
  );
  assert.ok(victim, 'a worker is running the job');
  await victim.kill('SIGKILL');
  const final = await i.waitFor(isFinal);
  assert.match(final.content, /a stubborn owl/);
  await new Promise((r) => setTimeout(r, 2500));
  assert.equal(finalsOf(i).length, 1, 'exactly one final edit');
  const survivor = workers.find((w) => w !== victim)!;
  assert.ok(survivor.events.some((e) => e.type === 'done'));
});
