// The assembled app (real store, engine, queue, worker, discord.js bot against the local Discord
// server): what a graceful stop does to a job that is running when it comes.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startApp, type App } from '../../src/app/app.ts';
import { startDiscord } from '../../src/app/front-end.ts';
import { startDiscordServer, type DiscordServer, type InteractionHandle } from '../support/discord/index.ts';
import { FIXTURE, isFinal, paced } from '../e2e/harness.ts';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import { HAVE_REDIS, NO_REDIS_REASON, startRedis } from '../queue/helpers.ts';

let server: DiscordServer | undefined;
let apps: App[] = [];
let dataDir: string | undefined;
const lines: string[] = [];

afterEach(async () => {
  for (const app of apps) await app.stop({ graceMs: 0 }).catch(() => undefined);
  apps = [];
  const violations = server ? [...server.violations] : [];
  await server?.close();
  server = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  lines.length = 0;
  assert.deepEqual(violations, []);
});

async function start(stepMs: number, extraEnv: Record<string, string> = {}): Promise<App> {
  const config = parseConfig({
    DISCORD_TOKEN: server!.token,
    DISCORD_API_URL: server!.apiUrl,
    DATA_DIR: dataDir!,
    MODEL_DIR: FIXTURE,
    REGISTER_COMMANDS: server!.guildId,
    LOG_LEVEL: 'debug',
    ...extraEnv,
  });
  const logger = createLogger({
    level: 'debug',
    secrets: [server!.token],
    destination: { write: (line: string) => void lines.push(line) },
  });
  const app = await startApp(config, logger, (deps) => startDiscord(deps), {
    wrapEngine: (engine) => paced(engine, stepMs),
  });
  apps.push(app);
  return app;
}

async function imagine(steps: number): Promise<InteractionHandle> {
  const i = server!.slash({
    user: server!.users.alice,
    command: 'imagine',
    options: { prompt: 'a lighthouse', steps },
  });
  await i.acknowledged();
  return i;
}

const finals = (i: InteractionHandle) => i.edits.filter((w) => w.message.id === i.originalId && isFinal(w.message));

test('stop with time to spare: the running job finishes and its final is delivered before the bot goes', async () => {
  server = await startDiscordServer({ waitTimeoutMs: 20_000 });
  dataDir = mkdtempSync(join(tmpdir(), 'ef-stop-'));
  const app = await start(40);
  assert.deepEqual(await app.health(), {
    ready: true,
    checks: { store: true, engine: true, worker: true, discord: true },
  });
  const i = await imagine(12);
  await i.waitFor((m) => /Step \d+\/12/.test(m.content));
  assert.equal(app.worker.busy, true);
  const stopping = app.stop({ graceMs: 20_000 });
  assert.equal((await app.health()).ready, false, 'not ready while stopping');
  await stopping;
  assert.equal(finals(i).length, 1, 'the final was delivered before stop() resolved');
  assert.equal(server.gateway.connected, 0, 'the bot disconnected');
  const text = lines.join('');
  assert.ok(!text.includes(server.token), 'the token is never logged');
  assert.match(text, /"msg":"stopped"/);
});

test('stop with a short grace: the running job is re-queued, and the next start delivers it once', async () => {
  server = await startDiscordServer({ waitTimeoutMs: 20_000 });
  dataDir = mkdtempSync(join(tmpdir(), 'ef-stop-'));
  const first = await start(80);
  const i = await imagine(30);
  await i.waitFor((m) => /Step \d+\/30/.test(m.content));
  const jobId = first.queue.listForUser(server.users.alice.id).then((jobs) => jobs[0].id);
  const requeued = new Promise<void>((resolve) => first.queue.on('requeued', () => resolve()));
  await first.stop({ graceMs: 100 });
  await requeued;
  assert.equal(finals(i).length, 0, 'not finished yet');

  const second = await start(5);
  const record = await second.queue.get(await jobId);
  assert.ok(
    record && (record.state === 'queued' || record.state === 'running' || record.state === 'done'),
    `job state ${record?.state}`,
  );
  const final = await i.waitFor(isFinal);
  assert.match(final.content, /a lighthouse/);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(finals(i).length, 1, 'delivered exactly once');
  const done = (await second.queue.listForUser(server.users.alice.id, { finished: 5 })).filter(
    (j) => j.state === 'done',
  );
  assert.equal(done.length, 1, 'one job, run to the end once');
});

test('/healthz checks for real: a Redis store that stops answering and a dead engine thread are reported', {
  skip: HAVE_REDIS ? false : NO_REDIS_REASON,
}, async () => {
  server = await startDiscordServer({ waitTimeoutMs: 20_000 });
  dataDir = mkdtempSync(join(tmpdir(), 'ef-health-'));
  const redis = await startRedis();
  try {
    const app = await start(1, { REDIS_URL: redis.url });
    assert.deepEqual((await app.health()).checks, { store: true, engine: true, worker: true, discord: true });
    // The engine thread dies: not alive while a new one starts, alive again after.
    void (app.engine as unknown as { worker: ThreadWorker }).worker.terminate();
    let seenDown = false;
    for (let i = 0; i < 100 && !seenDown; i++) {
      seenDown = !(await app.health()).checks.engine;
      if (!seenDown) await new Promise((r) => setTimeout(r, 5));
    }
    assert.ok(seenDown, 'reported down while the thread restarts');
    for (let i = 0; i < 300 && !(await app.health()).checks.engine; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal((await app.health()).checks.engine, true, 'the engine thread came back');
    await redis.stop();
    const down = await app.health();
    assert.equal(down.checks.store, false);
    assert.equal(down.ready, false);
  } finally {
    await redis.stop().catch(() => undefined);
  }
});
