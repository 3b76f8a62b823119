// Several models over BullMQ: one queue per model, so each job reaches a worker that serves its model.
// The bot side (openRunner with the model list, as the app opens it) on a real redis-server, and two GPU
// workers that each serve one model: every job runs on its own model's worker, one without a model on
// the default's, and the fair order still holds within each model.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { GuildSettingsStore, JobQueue, openStore, type JobRecord, type Store } from '../../src/queue/index.ts';
import { GpuWorker, modelQueueName } from '../../src/queue/bullmq/index.ts';
import { openRunner, type JobRunner } from '../../src/app/runner.ts';
import { DiffusionPipeline, silentLogger } from '../../src/engine/index.ts';
import {
  HAVE_REDIS,
  NO_REDIS_REASON,
  owner,
  request,
  startRedis,
  tempDir,
  waitFor,
  type RedisServer,
} from '../queue/helpers.ts';

const MODELS = join(import.meta.dirname, '../fixtures/models');
const skip = HAVE_REDIS ? false : NO_REDIS_REASON;
let redis: RedisServer;
let store: Store;
let queue: JobQueue;
let runner: JobRunner;
const workers: GpuWorker[] = [];
const ranOn: Record<string, string> = {};

before(async () => {
  if (skip) return;
  redis = await startRedis();
  const dir = tempDir('model-routing-');
  store = await openStore({ dataDir: dir, redisUrl: redis.url, namespace: 'routing' });
  const settings = new GuildSettingsStore(store);
  await settings.update('100', { cooldownSeconds: 0, maxPending: 20 });
  queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
  runner = await openRunner({
    backend: 'bullmq',
    queue,
    resultsDir: join(dir, 'results'),
    redisUrl: redis.url,
    prefetch: 0,
    models: ['tiny-fp32', 'sd2-tiny'],
  });
  for (const model of ['tiny-fp32', 'sd2-tiny']) {
    const engine = await DiffusionPipeline.load(join(MODELS, model), { logger: silentLogger, intraOpNumThreads: 1 });
    workers.push(
      await GpuWorker.start(engine, {
        redisUrl: redis.url,
        name: `serves-${model}`,
        queueName: modelQueueName(model),
        onJob: (e) => {
          if (e.type === 'start') ranOn[e.jobId] = model;
        },
      }),
    );
  }
  runner.start();
});

after(async () => {
  if (skip) return;
  await runner.stop({ requeue: true });
  await Promise.all(workers.map((w) => w.stop({ requeue: true })));
  await runner.close();
  await queue.close();
  await store.close();
  await redis.stop();
});

const done = (id: string) =>
  waitFor<JobRecord>(
    (cb) => {
      queue.on('done', cb);
      queue.on('failed', cb);
      return () => {
        queue.off('done', cb);
        queue.off('failed', cb);
      };
    },
    (j) => j.id === id,
    20_000,
  );

test('each job runs on a worker serving its model; a job without one on the default model', { skip }, async () => {
  const jobs = await Promise.all(
    [
      { user: 'a', model: 'sd2-tiny' },
      { user: 'b', model: 'tiny-fp32' },
      { user: 'c', model: undefined },
      { user: 'a', model: 'sd2-tiny' },
    ].map(({ user, model }) =>
      queue.submit({
        owner: owner(user),
        kind: 'new',
        request: request({ steps: 2, width: 64, height: 64, ...(model ? { model } : {}) }),
      }),
    ),
  );
  const finished = await Promise.all(jobs.map((j) => done(j.id)));
  assert.deepEqual(
    finished.map((j) => j.error),
    [undefined, undefined, undefined, undefined],
  );
  assert.deepEqual(
    finished.map((j) => [j.request.model ?? '(default)', ranOn[j.id], j.result?.model]),
    [
      ['sd2-tiny', 'sd2-tiny', 'sd2-tiny'],
      ['tiny-fp32', 'tiny-fp32', 'tiny-fp32'],
      ['(default)', 'tiny-fp32', 'tiny-fp32'],
      ['sd2-tiny', 'sd2-tiny', 'sd2-tiny'],
    ],
  );
});
