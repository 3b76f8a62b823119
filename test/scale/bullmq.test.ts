// The BullMQ backend against a real redis-server and real worker PROCESSES: fair sharing between two
// workers, a worker killed mid-job (SIGKILL) whose job another worker finishes with exactly one final,
// cancellation across processes, engine failure, and a bot restart that collects a job finished while
// it was down (without running it twice).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  GuildSettingsStore,
  JobQueue,
  openStore,
  type JobProgressEvent,
  type JobRecord,
  type Store,
} from '../../src/queue/index.ts';
import { Redis } from 'ioredis';
import { Dispatcher } from '../../src/queue/bullmq/index.ts';
import {
  HAVE_REDIS,
  NO_REDIS_REASON,
  owner,
  request,
  startRedis,
  tempDir,
  waitFor,
  sleep,
  type RedisServer,
} from '../queue/helpers.ts';
import { startWorkerProcess, type WorkerProcess } from './helpers.ts';

let redis: RedisServer;
let n = 0;

interface Bot {
  store: Store;
  queue: JobQueue;
  dispatcher: Dispatcher;
  resultsDir: string;
  finals: JobRecord[];
  close(): Promise<void>;
}

/** The bot side: JobQueue on the Redis store + Dispatcher. Same `name` = same data (a restart). */
async function openBot(
  name: string,
  resultsDir = tempDir('scale-results-'),
  options: { prefetch?: number } = {},
): Promise<Bot> {
  const store = await openStore({ dataDir: resultsDir, redisUrl: redis.url, namespace: `t-${name}` });
  const settings = new GuildSettingsStore(store);
  await settings.update('100', { cooldownSeconds: 0, maxPending: 20 });
  const queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
  const dispatcher = await Dispatcher.open(queue, {
    redisUrl: redis.url,
    resultsDir,
    queueName: `q-${name}`,
    prefetch: options.prefetch ?? 1,
  });
  const finals: JobRecord[] = [];
  for (const e of ['done', 'failed', 'cancelled'] as const) queue.on(e, (job) => void finals.push(job));
  return {
    store,
    queue,
    dispatcher,
    resultsDir,
    finals,
    async close() {
      await dispatcher.stop({ requeue: true });
      await dispatcher.close();
      await queue.close();
      await store.close();
    },
  };
}

function untilFinal(queue: JobQueue, id: string, timeoutMs = 20_000): Promise<JobRecord> {
  return Promise.race(
    (['done', 'failed', 'cancelled'] as const).map((e) =>
      waitFor<JobRecord>(
        (cb) => queue.on(e, cb),
        (j) => j.id === id,
        timeoutMs,
      ),
    ),
  );
}

describe('BullMQ backend with worker processes', { skip: HAVE_REDIS ? false : NO_REDIS_REASON }, () => {
  const workers: WorkerProcess[] = [];
  const bots: Bot[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await Promise.all(workers.map((w) => w.kill()));
    for (const b of bots) await b.close().catch(() => {});
    for (const b of bots) rmSync(b.resultsDir, { recursive: true, force: true });
    await redis.stop();
  });

  async function setup(opts: {
    workers: number;
    stepMs?: number;
    lockMs?: number;
    stalledMs?: number;
    prefetch?: number;
  }) {
    const name = `s${++n}`;
    const bot = await openBot(name, undefined, { prefetch: opts.prefetch });
    bots.push(bot);
    const procs = await Promise.all(
      Array.from({ length: opts.workers }, (_, i) =>
        startWorkerProcess({
          redisUrl: redis.url,
          name: `${name}-w${i + 1}`,
          queueName: `q-${name}`,
          stepMs: opts.stepMs,
          lockMs: opts.lockMs,
          stalledMs: opts.stalledMs,
        }),
      ),
    );
    workers.push(...procs);
    return { name, bot, procs };
  }

  test('two worker processes share the queue in fair order; every job finishes once with its images', async () => {
    const { bot, procs } = await setup({ workers: 2, stepMs: 40 });
    const progress: number[] = [];
    bot.queue.on('progress', (e) => void progress.push(e.step));
    // Everything is queued before dispatch starts, so the fair order is fully decided by the queue.
    const a = [];
    for (let i = 0; i < 6; i++)
      a.push(await bot.queue.submit({ owner: owner('alice'), request: request({ prompt: `alice ${i}`, seed: i }) }));
    const b = [];
    for (let i = 0; i < 2; i++)
      b.push(await bot.queue.submit({ owner: owner('bob'), request: request({ prompt: `bob ${i}`, seed: 10 + i }) }));
    const all = [...a, ...b];
    const finished = Promise.all(all.map((j) => untilFinal(bot.queue, j.id)));
    bot.dispatcher.start();
    const records = await finished;
    assert.deepEqual(
      records.map((r) => r.state),
      all.map(() => 'done'),
    );

    const starts = procs.flatMap((p) => p.events.filter((e) => e.type === 'start')).sort((x, y) => x.at! - y.at!);
    assert.equal(starts.length, 8, 'each job started once');
    assert.equal(new Set(starts.map((s) => s.jobId)).size, 8);
    // Round-robin: bob's two jobs are among the first four to start, not after alice's six.
    const bobStarts = b.map((j) => starts.findIndex((s) => s.jobId === j.id));
    assert.ok(
      bobStarts.every((i) => i >= 0 && i < 4),
      `bob's jobs started at positions ${bobStarts}`,
    );
    // Both workers took a fair share (4 each when timing is even; at least 2 each on a busy box).
    for (const p of procs)
      assert.ok(
        p.events.filter((e) => e.type === 'done').length >= 2,
        `${p.name} ran ${p.events.filter((e) => e.type === 'done').length} jobs`,
      );
    // Results were copied into the bot's results folder and are real PNGs.
    for (const r of records) {
      assert.equal(r.result!.images.length, 1);
      const png = readFileSync(r.result!.images[0]);
      assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47]);
      assert.ok(r.result!.images[0].startsWith(join(bot.resultsDir, r.id)));
    }
    assert.ok(progress.includes(4), 'progress events came through QueueEvents');
    assert.equal(bot.finals.length, 8);
    // The PNGs left Redis once the bot had them and the records said done.
    const client = new Redis(redis.url);
    try {
      await sleep(100);
      assert.deepEqual(await client.keys('emojiforge-bull:result:*'), []);
    } finally {
      client.disconnect();
    }
  });

  test('a worker killed mid-job: another worker finishes it and the user gets exactly one final', async () => {
    const { bot, procs } = await setup({ workers: 2, stepMs: 150, lockMs: 1500, stalledMs: 500 });
    bot.dispatcher.start();
    const job = await bot.queue.submit({
      owner: owner('carol'),
      request: request({ steps: 6, count: 2, prompt: 'survivor' }),
    });
    const final = untilFinal(bot.queue, job.id, 30_000);
    // Whichever worker took it is killed after its first step.
    const first = await Promise.race(
      procs.map((p) => p.waitFor((e) => e.type === 'start' && e.jobId === job.id).then(() => p)),
    );
    await waitFor<JobProgressEvent>(
      (cb) => bot.queue.on('progress', cb),
      (e) => e.job.id === job.id && e.step >= 1,
      10_000,
    );
    await first.kill('SIGKILL');
    const other = procs.find((p) => p !== first)!;
    const done = await final;
    assert.equal(done.state, 'done');
    assert.equal(done.result!.images.length, 2);
    assert.ok(done.result!.grid && existsSync(done.result!.grid));
    assert.ok(
      other.events.some((e) => e.type === 'done' && e.jobId === job.id),
      'the surviving worker finished it',
    );
    assert.ok(!first.events.some((e) => e.type === 'done'), 'the killed worker never finished it');
    // Past a few more stall checks: no second final, no second run, and the record stays done.
    await sleep(2500);
    assert.equal(bot.finals.filter((j) => j.id === job.id).length, 1);
    assert.equal(other.events.filter((e) => e.type === 'start' && e.jobId === job.id).length, 1);
    assert.equal((await bot.queue.get(job.id))!.state, 'done');
  });

  test('cancel: a running job stops on its worker, a waiting one never starts', async () => {
    const { bot, procs } = await setup({ workers: 1, stepMs: 100 });
    bot.dispatcher.start();
    const running = await bot.queue.submit({ owner: owner('dave'), request: request({ steps: 30, prompt: 'long' }) });
    const waiting = await bot.queue.submit({ owner: owner('erin'), request: request({ steps: 30, prompt: 'next' }) });
    await procs[0].waitFor((e) => e.type === 'start' && e.jobId === running.id);
    // The second job is in BullMQ's wait list (prefetch 1) behind the running one.
    const cancelledWaiting = await bot.queue.cancel(waiting.id, { userId: 'erin', isModerator: false });
    assert.equal(cancelledWaiting.state, 'cancelled');
    const t0 = Date.now();
    const cancelledRunning = await bot.queue.cancel(running.id, { userId: 'mod', isModerator: true });
    assert.equal(cancelledRunning.state, 'cancelled');
    assert.ok(Date.now() - t0 < 2000, 'the worker stopped within a couple of steps');
    await procs[0].waitFor((e) => e.type === 'failed' && e.jobId === running.id);
    await sleep(300);
    assert.ok(
      !procs[0].events.some((e) => e.type === 'start' && e.jobId === waiting.id),
      'the cancelled waiting job never ran',
    );
    assert.equal(bot.finals.length, 2);
  });

  test('an engine error fails that job with its message and the worker goes on', async () => {
    const { bot } = await setup({ workers: 1, stepMs: 10 });
    bot.dispatcher.start();
    const bad = await bot.queue.submit({ owner: owner('fay'), request: request({ prompt: 'please explode' }) });
    const good = await bot.queue.submit({ owner: owner('gus'), request: request({ prompt: 'fine' }) });
    const [b, g] = await Promise.all([untilFinal(bot.queue, bad.id), untilFinal(bot.queue, good.id)]);
    assert.equal(b.state, 'failed');
    assert.match(b.error!, /^the engine failed: boom: the fake engine exploded/);
    assert.equal(g.state, 'done');
  });

  test('a bot restart collects a job that finished while it was down, without a second run', async () => {
    const name = `s${++n}`;
    const resultsDir = tempDir('scale-restart-');
    const bot1 = await openBot(name, resultsDir);
    const [worker] = await Promise.all([
      startWorkerProcess({ redisUrl: redis.url, name: `${name}-w1`, queueName: `q-${name}`, stepMs: 100 }),
    ]);
    workers.push(worker);
    bot1.dispatcher.start();
    const job = await bot1.queue.submit({ owner: owner('hal'), request: request({ steps: 8 }) });
    await worker.waitFor((e) => e.type === 'start' && e.jobId === job.id);
    await bot1.close(); // requeue: the record goes back to queued; BullMQ keeps running it
    assert.equal(bot1.finals.length, 0);
    await worker.waitFor((e) => e.type === 'done' && e.jobId === job.id);

    const bot2 = await openBot(name, resultsDir);
    bots.push(bot2);
    const final = untilFinal(bot2.queue, job.id);
    bot2.dispatcher.start();
    const done = await final;
    assert.equal(done.state, 'done');
    assert.ok(existsSync(done.result!.images[0]));
    await sleep(300);
    assert.equal(worker.events.filter((e) => e.type === 'start' && e.jobId === job.id).length, 1, 'ran once');
  });
});
