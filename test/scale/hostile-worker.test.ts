// A GPU worker is another machine. What the bot hands it carries no credential and no host path, and
// what comes back is checked: a result whose file name is a path is refused, never written.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Worker as BullWorker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { GuildSettingsStore, JobQueue, openStore, type JobRecord, type Store } from '../../src/queue/index.ts';
import { Dispatcher } from '../../src/queue/bullmq/index.ts';
import { DEFAULT_PREFIX, resultKey, type WireJob, type WireResult } from '../../src/queue/bullmq/protocol.ts';
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

describe('a hostile GPU worker', { skip: HAVE_REDIS ? false : NO_REDIS_REASON }, () => {
  let redis: RedisServer;
  let store: Store;
  let queue: JobQueue;
  let dispatcher: Dispatcher;
  let worker: BullWorker<WireJob, WireResult>;
  let client: Redis;
  const dataDir = tempDir('hostile-');
  const resultsDir = join(dataDir, 'results');
  const seen: WireJob[] = [];

  before(async () => {
    redis = await startRedis();
    store = await openStore({ dataDir, redisUrl: redis.url, namespace: 'hostile' });
    const settings = new GuildSettingsStore(store);
    await settings.update('100', { cooldownSeconds: 0 });
    queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
    dispatcher = await Dispatcher.open(queue, {
      redisUrl: redis.url,
      resultsDir,
      queueName: 'q-hostile',
      workerPollMs: 50,
    });
    client = new Redis(redis.url);
    // A worker that announces itself like ours but answers with a path for a file name.
    worker = new BullWorker<WireJob, WireResult>(
      'q-hostile',
      async (job: Job<WireJob, WireResult>) => {
        seen.push(job.data);
        await client.set(resultKey(DEFAULT_PREFIX, job.id!, '0'), Buffer.from('not really a png'));
        await client.set(resultKey(DEFAULT_PREFIX, job.id!, 'media'), Buffer.from('payload'));
        return {
          images: 1,
          grid: false,
          seeds: [1],
          model: 'evil',
          engineMs: 1,
          worker: 'evil',
          media: { name: '../../x.png', caption: 'gotcha' },
        };
      },
      { connection: { url: redis.url }, prefix: DEFAULT_PREFIX },
    );
    await client.zadd(`${DEFAULT_PREFIX}:q-hostile:workers`, Date.now() + 60_000, 'evil');
    dispatcher.start();
  });

  after(async () => {
    await worker?.close();
    await dispatcher?.stop({ requeue: true });
    await dispatcher?.close();
    await queue?.close();
    await store?.close();
    client?.disconnect();
    await redis?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('gets no token or owner, and its ../../x.png is refused: the job fails, nothing lands outside the job folder', async () => {
    const failed = waitFor<JobRecord>(
      (cb) => queue.on('failed', cb),
      () => true,
      15_000,
    );
    const submitted = await queue.submit({
      owner: owner('alice'),
      request: request({ steps: 2 }),
      kind: 'timelapse',
      delivery: {
        applicationId: '1',
        token: 'interaction-token-secret-abcdef',
        createdAt: Date.now(),
        channelId: '200',
        delivered: false,
      },
    });
    const job = await failed;
    assert.equal(job.id, submitted.id);
    assert.match(job.error ?? '', /expected a media file name/);
    assert.equal(seen.length, 1);
    const wire = JSON.stringify(seen[0]);
    assert.doesNotMatch(wire, /interaction-token-secret/);
    assert.deepEqual(Object.keys(seen[0].job).sort(), ['id', 'kind', 'request']);
    assert.ok(
      !existsSync(join(resultsDir, '..', 'x.png')) && !existsSync(join(dataDir, '..', 'x.png')),
      'nothing written outside',
    );
    const inside = existsSync(join(resultsDir, submitted.id)) ? readdirSync(join(resultsDir, submitted.id)) : [];
    assert.ok(!inside.includes('x.png'));
  });
});
