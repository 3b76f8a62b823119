// The worker entry as operators run it (`npm run start:worker`): a real process on the tiny fixture
// model that joins the BullMQ queue, finishes a job the bot side dispatched, and exits 0 on SIGTERM;
// without REDIS_URL it refuses to start and says which variable to set.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { GuildSettingsStore, JobQueue, openStore, type JobRecord } from '../../src/queue/index.ts';
import { Dispatcher } from '../../src/queue/bullmq/index.ts';
import { FIXTURE } from '../e2e/harness.ts';
import {
  HAVE_REDIS,
  NO_REDIS_REASON,
  owner,
  startRedis,
  tempDir,
  waitFor,
  type RedisServer,
} from '../queue/helpers.ts';

const ENTRY = join(import.meta.dirname, '../../src/index.ts');
const skip = HAVE_REDIS ? false : NO_REDIS_REASON;
let redis: RedisServer;
const dir = tempDir('worker-main-');

function run(env: Record<string, string>) {
  const clean = { ...process.env };
  for (const k of ['ROLE', 'DISCORD_TOKEN', 'REDIS_URL', 'QUEUE_BACKEND', 'MODEL_DIR', 'DATA_DIR']) delete clean[k];
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY], {
    env: { ...clean, ROLE: 'worker', DATA_DIR: dir, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const until = async (pattern: RegExp, timeoutMs = 30_000): Promise<void> => {
    const t0 = Date.now();
    while (!pattern.test(out)) {
      if (child.exitCode !== null) throw new Error(`worker exited (${child.exitCode}) before ${pattern}: ${out}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`no ${pattern} within ${timeoutMs} ms: ${out}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exited, until, output: () => out };
}

before(async () => {
  if (!skip) redis = await startRedis();
});
after(async () => {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('src/worker-main.ts: joins the queue, runs a job on MODEL_DIR, stops cleanly on SIGTERM', { skip }, async () => {
  const worker = run({
    REDIS_URL: redis.url,
    MODEL_DIR: FIXTURE,
    WORKER_NAME: 'gpu-a',
    LOG_LEVEL: 'info',
    SHUTDOWN_GRACE_SECONDS: '5',
  });
  await worker.until(/"msg":"worker ready"/);
  assert.match(worker.output(), /"name":"gpu-a"/);

  const store = await openStore({ dataDir: dir, redisUrl: redis.url, namespace: 'wm' });
  const settings = new GuildSettingsStore(store);
  const queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
  const dispatcher = await Dispatcher.open(queue, { redisUrl: redis.url, resultsDir: join(dir, 'results') });
  try {
    dispatcher.start();
    const job = await queue.submit({
      owner: owner('ann'),
      request: {
        prompt: 'a smiling sun',
        seed: 7,
        steps: 4,
        guidance: 5,
        width: 64,
        height: 64,
        sampler: 'euler',
        count: 1,
      },
    });
    const done = await waitFor<JobRecord>(
      (cb) => queue.on('done', cb),
      (j) => j.id === job.id,
      30_000,
    );
    assert.equal(done.result!.seeds[0], 7);
    assert.ok(existsSync(done.result!.images[0]));
    await worker.until(/"msg":"job done"/);
  } finally {
    await dispatcher.stop({ requeue: true });
    await dispatcher.close();
    await queue.close();
    await store.close();
  }
  worker.child.kill('SIGTERM');
  assert.equal(await worker.exited, 0, worker.output());
  assert.match(worker.output(), /"msg":"worker stopped"/);
});

test('src/worker-main.ts without REDIS_URL: exit 1 naming the variable, no token asked for', async () => {
  const worker = run({ MODEL_DIR: FIXTURE });
  assert.equal(await worker.exited, 1);
  assert.match(worker.output(), /REDIS_URL: expected a redis:\/\/ URL because QUEUE_BACKEND is bullmq \(ROLE=worker\)/);
  assert.doesNotMatch(worker.output(), /DISCORD_TOKEN/);
});
