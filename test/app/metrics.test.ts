import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { REST } from '@discordjs/rest';
import { TypedEmitter, type JobQueueEvents } from '../../src/queue/events.ts';
import type { JobRecord } from '../../src/queue/types.ts';
import { Metrics } from '../../src/metrics/metrics.ts';
import { startMetricsServer } from '../../src/metrics/server.ts';

class FakeQueueEvents extends TypedEmitter<JobQueueEvents> {
  fire<E extends keyof JobQueueEvents>(event: E, ...args: Parameters<JobQueueEvents[E]>): void {
    this.emit(event, ...args);
  }
}

function job(id: string, patch: Partial<JobRecord> = {}): JobRecord {
  return {
    id,
    owner: { userId: 'u', guildId: 'g', channelId: 'c' },
    request: { prompt: 'a cat', seed: 1, steps: 3, guidance: 5, width: 64, height: 64, sampler: 'euler', count: 1 },
    kind: 'new',
    state: 'queued',
    createdAt: Date.now(),
    ...patch,
  };
}

/** The value of one sample line, e.g. value(text, 'emojiforge_jobs{state="queued"}'). */
function value(text: string, sample: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${sample} `));
  assert.ok(line, `no sample ${sample} in\n${text}`);
  return Number(line.slice(sample.length + 1));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

test('queue events drive queue length, jobs by state, outcomes and the two histograms', async () => {
  const queue = new FakeQueueEvents();
  const metrics = new Metrics({ processMetrics: false }).watchQueue(queue);
  queue.fire('queued', job('a'));
  queue.fire('queued', job('b'));
  queue.fire('queued', job('c'));
  let text = (await metrics.render()).body;
  assert.equal(value(text, 'emojiforge_queue_length'), 3);
  assert.equal(value(text, 'emojiforge_jobs{state="queued"}'), 3);
  assert.equal(value(text, 'emojiforge_jobs{state="running"}'), 0);
  assert.equal(value(text, 'emojiforge_jobs_submitted_total'), 3);

  queue.fire('started', job('a', { state: 'running' }));
  for (let step = 1; step <= 3; step++) {
    await sleep(20);
    queue.fire('progress', { job: job('a', { state: 'running' }), step, total: 3, etaMs: 0 });
  }
  queue.fire('done', job('a', { state: 'done', result: { images: [], seeds: [1], model: 'm', elapsedMs: 1500 } }));
  queue.fire('started', job('b', { state: 'running' }));
  queue.fire('failed', job('b', { state: 'failed', error: 'engine exploded' }));
  queue.fire('started', job('c', { state: 'running' }));
  text = (await metrics.render()).body;
  assert.equal(value(text, 'emojiforge_queue_length'), 0);
  assert.equal(value(text, 'emojiforge_jobs{state="running"}'), 1);
  queue.fire('requeued', job('c'));
  text = (await metrics.render()).body;
  assert.equal(value(text, 'emojiforge_jobs{state="queued"}'), 1);
  assert.equal(value(text, 'emojiforge_jobs{state="running"}'), 0);
  assert.equal(value(text, 'emojiforge_jobs_finished_total{outcome="done"}'), 1);
  assert.equal(value(text, 'emojiforge_jobs_finished_total{outcome="failed"}'), 1);
  assert.equal(value(text, 'emojiforge_jobs_finished_total{outcome="requeued"}'), 1);
  assert.equal(value(text, 'emojiforge_jobs_finished_total{outcome="cancelled"}'), 0);

  // Three steps of about 20 ms each; the first is timed from 'started'.
  assert.equal(value(text, 'emojiforge_step_seconds_count'), 3);
  const stepSum = value(text, 'emojiforge_step_seconds_sum');
  assert.ok(stepSum >= 0.055 && stepSum < 1, `step time sum ${stepSum}`);
  assert.equal(value(text, 'emojiforge_step_seconds_bucket{le="0.016"}'), 0);
  assert.equal(value(text, 'emojiforge_generation_seconds_count'), 1);
  assert.equal(value(text, 'emojiforge_generation_seconds_sum'), 1.5);
  assert.equal(value(text, 'emojiforge_generation_seconds_bucket{le="1.6"}'), 1);
  assert.equal(value(text, 'emojiforge_generation_seconds_bucket{le="0.8"}'), 0);

  metrics.close();
  queue.fire('queued', job('d'));
  assert.equal(value((await metrics.render()).body, 'emojiforge_jobs_submitted_total'), 3, 'close() unsubscribes');
});

test('live counts from the queue win over counting events', async () => {
  const metrics = new Metrics({
    processMetrics: false,
    stats: () => ({ queued: 7, running: 1, byState: { queued: 7, running: 1, done: 12, failed: 2, cancelled: 3 } }),
  });
  const text = (await metrics.render()).body;
  assert.equal(value(text, 'emojiforge_queue_length'), 7);
  assert.equal(value(text, 'emojiforge_jobs{state="running"}'), 1);
  assert.equal(value(text, 'emojiforge_jobs{state="done"}'), 12);
  assert.equal(value(text, 'emojiforge_jobs{state="cancelled"}'), 3);
});

test('discord.js REST error responses and rate limits are counted', async () => {
  let hits429 = 0;
  const api = createServer((request, response) => {
    const json = (status: number, body: unknown, headers: Record<string, string> = {}) =>
      response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    if (request.url?.endsWith('/channels/1/messages/2')) return json(404, { message: 'Unknown Message', code: 10008 });
    if (request.url?.endsWith('/channels/1/messages') && hits429++ === 0) {
      return json(
        429,
        { message: 'You are being rate limited.', retry_after: 0.05, global: false },
        {
          'retry-after': '0.05',
          'x-ratelimit-scope': 'user',
          'x-ratelimit-limit': '5',
          'x-ratelimit-remaining': '0',
          'x-ratelimit-reset-after': '0.05',
          'x-ratelimit-bucket': 'b1',
        },
      );
    }
    return json(200, { id: '3' });
  });
  await new Promise<void>((resolve) => api.listen(0, '127.0.0.1', resolve));
  const rest = new REST({ api: `http://127.0.0.1:${(api.address() as AddressInfo).port}/api`, retries: 0 }).setToken(
    't'.repeat(30),
  );
  const metrics = new Metrics({ processMetrics: false }).watchRest(rest);
  try {
    await assert.rejects(rest.get('/channels/1/messages/2'));
    await rest.post('/channels/1/messages', { body: { content: 'hi' } }); // 429 once, then retried by discord.js
    const text = (await metrics.render()).body;
    assert.equal(value(text, 'emojiforge_discord_api_errors_total{status="404",method="GET"}'), 1);
    assert.equal(value(text, 'emojiforge_discord_api_errors_total{status="429",method="POST"}'), 1);
    assert.equal(value(text, 'emojiforge_discord_rate_limited_total{scope="user"}'), 1);
  } finally {
    metrics.close();
    await new Promise((resolve) => api.close(resolve));
  }
});

test('the HTTP server answers /healthz by readiness and serves /metrics', async () => {
  let ready = false;
  const metrics = new Metrics();
  const server = await startMetricsServer({
    host: '127.0.0.1',
    port: 0,
    metrics,
    health: () => ({ ready, checks: { store: true, discord: ready } }),
  });
  try {
    let response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 503);
    assert.deepEqual(await response.json(), { status: 'not ready', checks: { store: true, discord: false } });
    ready = true;
    response = await fetch(`${server.url}/healthz`);
    assert.equal(response.status, 200);
    assert.equal((await response.json()).status, 'ok');
    response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
    const text = await response.text();
    assert.match(text, /^# HELP emojiforge_queue_length /m);
    assert.match(text, /^emojiforge_process_resident_memory_bytes \d+/m);
    assert.equal((await fetch(`${server.url}/nope`)).status, 404);
    assert.equal((await fetch(`${server.url}/metrics`, { method: 'POST' })).status, 405);
  } finally {
    await server.close();
  }
});

test('with the real queue, worker and engine: a finished job shows in every queue metric', async () => {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { openStore, GuildSettingsStore, JobQueue, Worker } = await import('../../src/queue/index.ts');
  const { DiffusionPipeline } = await import('../../src/engine/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'ef-metrics-'));
  const store = await openStore({ dataDir: dir });
  const queue = await JobQueue.open({ store, settings: new GuildSettingsStore(store), pruneIntervalMs: 0 });
  const engine = await DiffusionPipeline.load(join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-fp32'));
  const metrics = new Metrics({ processMetrics: false, stats: () => queue.stats() }).watchQueue(queue);
  const worker = new Worker(queue, engine, { resultsDir: join(dir, 'results') });
  try {
    const side = engine.defaultSize;
    const finished = new Promise<void>((resolve) => {
      let n = 0;
      queue.on('done', () => ++n === 2 && resolve());
    });
    for (const userId of ['1001', '1002']) {
      await queue.submit({
        owner: { userId, guildId: '2001', channelId: '3001' },
        request: {
          prompt: 'a cat',
          seed: 5,
          steps: 4,
          guidance: 3,
          width: side,
          height: side,
          sampler: 'euler',
          count: 1,
        },
      });
    }
    let text = (await metrics.render()).body;
    assert.equal(value(text, 'emojiforge_queue_length'), 2);
    worker.start();
    await finished;
    text = (await metrics.render()).body;
    assert.equal(value(text, 'emojiforge_queue_length'), 0);
    assert.equal(value(text, 'emojiforge_jobs{state="done"}'), 2);
    assert.equal(value(text, 'emojiforge_jobs_submitted_total'), 2);
    assert.equal(value(text, 'emojiforge_jobs_finished_total{outcome="done"}'), 2);
    assert.equal(value(text, 'emojiforge_step_seconds_count'), 8);
    assert.equal(value(text, 'emojiforge_generation_seconds_count'), 2);
  } finally {
    await worker.stop({ requeue: true });
    metrics.close();
    await queue.close();
    await engine.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the safety checker's verdicts on finished images are counted", async () => {
  const queue = new FakeQueueEvents();
  const metrics = new Metrics({ processMetrics: false }).watchQueue(queue);
  const result = (flagged?: boolean[]) => ({
    images: [],
    seeds: [1],
    model: 'm',
    elapsedMs: 1,
    ...(flagged ? { flagged } : {}),
  });
  queue.fire('queued', job('a'));
  queue.fire('started', job('a', { state: 'running' }));
  queue.fire('done', job('a', { state: 'done', result: result([true, false, true]) }));
  queue.fire('queued', job('b'));
  queue.fire('done', job('b', { state: 'done', result: result() }));
  const text = (await metrics.render()).body;
  assert.equal(value(text, 'emojiforge_safety_checked_images_total{verdict="flagged"}'), 2);
  assert.equal(value(text, 'emojiforge_safety_checked_images_total{verdict="passed"}'), 1);
  metrics.close();
});
