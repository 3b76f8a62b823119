// Queue benchmark: 1,000 jobs from 50 users through a fake engine that sleeps, on a real store.
//   npm run bench:queue                 # SQLite file in a temp dir
//   npm run bench:queue -- --redis      # a throwaway redis-server on a free port
//   npm run bench:queue -- --jobs 200 --users 10 --engine-ms 10
// Prints: submit and position() latency with everything queued, per-job queue overhead, the engine's
// idle time between consecutive jobs, and fairness against ideal round-robin.
// Targets (issue 4): idle < 10 ms; submit and position < 1 ms with 1,000 queued.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GenerateOptions, GenerateRequest, GenerateResult, ImageGenerator } from '../src/engine/types.ts';
import { GuildSettingsStore, JobQueue, openStore, Worker, type JobRecord } from '../src/queue/index.ts';

const { values: args } = parseArgs({
  options: {
    jobs: { type: 'string', default: '1000' },
    users: { type: 'string', default: '50' },
    steps: { type: 'string', default: '4' },
    'engine-ms': { type: 'string', default: '8' },
    redis: { type: 'boolean', default: false },
  },
});
const JOBS = Number(args.jobs);
const USERS = Number(args.users);
const STEPS = Number(args.steps);
const ENGINE_MS = Number(args['engine-ms']);

/** Sleeps ENGINE_MS per job (spread over the steps) and records when each call starts and ends. */
class SleepingEngine implements ImageGenerator {
  readonly modelName = 'bench-sleep';
  readonly spans: Array<[start: number, end: number]> = [];
  async generate(req: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const start = performance.now();
    for (let step = 1; step <= req.steps; step++) {
      await new Promise((r) => setTimeout(r, ENGINE_MS / req.steps));
      options.onStep?.({ step, total: req.steps });
    }
    const image = {
      width: req.width,
      height: req.height,
      data: new Uint8Array(req.width * req.height * 3).fill(req.seed % 256),
    };
    this.spans.push([start, performance.now()]);
    return {
      images: [image],
      seeds: [req.seed],
      model: this.modelName,
      timings: { totalMs: performance.now() - start, sessionRunMs: 0 },
    };
  }
}

function summary(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  const p = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return `mean ${mean.toFixed(3)}  p50 ${p(0.5).toFixed(3)}  p99 ${p(0.99).toFixed(3)}  max ${s[s.length - 1].toFixed(3)} ms`;
}

function jain(xs: number[]): number {
  const sum = xs.reduce((a, b) => a + b, 0);
  const sq = xs.reduce((a, b) => a + b * b, 0);
  return (sum * sum) / (xs.length * sq);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-queue-'));
  let redis: ReturnType<typeof spawn> | undefined;
  let redisUrl: string | undefined;
  if (args.redis) {
    const port = await freePort();
    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    redisUrl = `redis://127.0.0.1:${port}`;
    await new Promise((r) => setTimeout(r, 300));
  }
  const store = await openStore({ dataDir: dir, redisUrl, namespace: 'bench' });
  const settings = new GuildSettingsStore(store);
  await settings.update('1', { cooldownSeconds: 0, maxPending: 20, dailyQuota: 10_000 });
  const queue = await JobQueue.open({ store, settings, maxQueued: JOBS, pruneIntervalMs: 0 });
  const engine = new SleepingEngine();
  const worker = new Worker(queue, engine, { resultsDir: join(dir, 'results'), previews: false });
  console.log(
    `queue bench: ${JOBS} jobs, ${USERS} users, fake engine ${ENGINE_MS} ms/job, store ${store.backend} (${store.location})`,
  );

  // Worst case for fairness: each user submits a burst, one user after another.
  const perUser = Math.ceil(JOBS / USERS);
  const submitMs: number[] = [];
  const jobs: JobRecord[] = [];
  for (let u = 0; u < USERS && jobs.length < JOBS; u++) {
    for (let k = 0; k < perUser && jobs.length < JOBS; k++) {
      const request = {
        prompt: `user ${u} job ${k}`,
        seed: jobs.length,
        steps: STEPS,
        guidance: 7,
        width: 16,
        height: 16,
        sampler: 'euler' as const,
        count: 1,
      };
      const t = performance.now();
      jobs.push(await queue.submit({ owner: { userId: `u${u}`, guildId: '1', channelId: '2' }, request }));
      submitMs.push(performance.now() - t);
    }
  }
  const lastHundred = submitMs.slice(-100);
  console.log(`submit (store write included), all ${JOBS}:   ${summary(submitMs)}`);
  console.log(`submit, last 100 (900+ queued):      ${summary(lastHundred)}`);

  const positionMs: number[] = [];
  for (const job of jobs) {
    const t = performance.now();
    queue.position(job.id);
    positionMs.push(performance.now() - t);
  }
  console.log(`position() with ${queue.stats().queued} queued:          ${summary(positionMs)}`);

  const order: string[] = []; // start order: fairness is about who gets the engine next
  let done = 0;
  queue.on('started', (j) => order.push(j.id));
  const allDone = new Promise<void>((resolve) =>
    queue.on('done', () => {
      if (++done === JOBS) resolve();
    }),
  );
  const t0 = performance.now();
  worker.start();
  await allDone;
  const wall = performance.now() - t0;
  await worker.stop();

  const spans = engine.spans;
  const busy = spans.reduce((a, [s, e]) => a + (e - s), 0);
  const idle = spans.slice(1).map(([s], i) => s - spans[i][1]);
  console.log(`wall ${(wall / 1000).toFixed(2)} s, engine busy ${(busy / 1000).toFixed(2)} s`);
  console.log(`per-job queue overhead (wall - engine busy) / jobs: ${((wall - busy) / JOBS).toFixed(3)} ms`);
  console.log(`engine idle between consecutive jobs:  ${summary(idle)}   (target < 10 ms)`);

  // Fairness: job k of the user in turn position i ideally starts at rank k * users + i.
  const rank = new Map(order.map((id, i) => [id, i]));
  let maxDev = 0;
  jobs.forEach((job, n) => {
    const u = Math.floor(n / perUser);
    const k = n % perUser;
    maxDev = Math.max(maxDev, Math.abs(rank.get(job.id)! - (k * USERS + u)));
  });
  const meanRank = (ranks: (id: number) => number) =>
    Array.from({ length: USERS }, (_, u) => {
      const mine = jobs.map((_, n) => n).filter((n) => Math.floor(n / perUser) === u);
      return mine.reduce((a, n) => a + ranks(n), 0) / mine.length + 1;
    });
  const rrMeans = meanRank((n) => rank.get(jobs[n].id)!);
  const fifoMeans = meanRank((n) => n);
  console.log(`fairness: max deviation from ideal round-robin rank ${maxDev} (0 = exact)`);
  console.log(
    `fairness: Jain's index of per-user mean start rank ${jain(rrMeans).toFixed(3)} (FIFO on the same bursts: ${jain(fifoMeans).toFixed(3)}; 1 = equal)`,
  );
  console.log(
    `first job of the last user to submit started at rank ${rank.get(jobs[(USERS - 1) * perUser].id)! + 1} (FIFO: ${(USERS - 1) * perUser + 1})`,
  );

  await queue.close();
  await store.close();
  redis?.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
}

await main();
