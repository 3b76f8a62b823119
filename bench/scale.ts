// Scale-out benchmark: the BullMQ backend with 1, 2 and 4 GPU worker PROCESSES on a fake engine that
// sleeps (no CPU), against a throwaway redis-server.
//   npm run bench:scale
//   npm run bench:scale -- --workers 1,2,4 --jobs-per-worker 25 --engine-ms 200 --prefetch 2
// Prints per worker count: jobs/s, the scaling ratio (jobs/s against N x the 1-worker figure, and
// against the ideal N x 1000/engine-ms), and the per-job overhead of the Redis backend: the time a
// worker is busy per job outside the engine call and the PNG encoding (which the local backend pays
// too), with its parts; and the cruder wall-clock overhead that also counts start-up and the tail.
// Targets (issue 7): scaling >= 0.9 x workers up to 4; per-job overhead < 5 ms.
import { rmSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { GuildSettingsStore, JobQueue, openStore, type JobRecord } from '../src/queue/index.ts';
import { Dispatcher } from '../src/queue/bullmq/index.ts';
import { startRedis, tempDir } from '../test/queue/helpers.ts';
import { startWorkerProcess, type WorkerProcess } from '../test/scale/helpers.ts';

const { values: args } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2,4' },
    'jobs-per-worker': { type: 'string', default: '25' },
    'engine-ms': { type: 'string', default: '200' },
    users: { type: 'string', default: '20' },
    prefetch: { type: 'string', default: '1' },
  },
});
const COUNTS = args.workers.split(',').map(Number);
const PER_WORKER = Number(args['jobs-per-worker']);
const ENGINE_MS = Number(args['engine-ms']);
const USERS = Number(args.users);
const STEPS = 4;

const redis = await startRedis();
const dataDir = tempDir('bench-scale-');
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);

interface Run {
  workers: number;
  jobs: number;
  wallMs: number;
  jobsPerSec: number;
  engineMs: number;
  /** Wall x workers / jobs - engine: includes start-up and the uneven tail. */
  wallOverheadMs: number;
  /** Per worker, first start to last done, minus engine and PNG encoding, per job: the backend's cost. */
  overheadMs: number;
  encodeMs: number;
  storeMs: number;
  gapMs: number;
}

async function run(count: number, round: number): Promise<Run> {
  const name = `r${round}`;
  const store = await openStore({ dataDir, redisUrl: redis.url, namespace: `bench-${name}` });
  const settings = new GuildSettingsStore(store);
  const jobs = PER_WORKER * count;
  await settings.update('100', { cooldownSeconds: 0, maxPending: 20, dailyQuota: 10_000 });
  const queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0, maxQueued: jobs + 10 });
  const dispatcher = await Dispatcher.open(queue, {
    redisUrl: redis.url,
    resultsDir: `${dataDir}/results-${name}`,
    queueName: `bench-${name}`,
    prefetch: Number(args.prefetch),
  });
  const procs: WorkerProcess[] = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      startWorkerProcess({
        redisUrl: redis.url,
        name: `${name}-w${i + 1}`,
        queueName: `bench-${name}`,
        stepMs: ENGINE_MS / STEPS,
      }),
    ),
  );
  const finals: JobRecord[] = [];
  let allDone!: () => void;
  const done = new Promise<void>((r) => (allDone = r));
  for (const e of ['done', 'failed', 'cancelled'] as const) {
    queue.on(e, (job) => {
      finals.push(job);
      if (finals.length === jobs) allDone();
    });
  }
  for (let i = 0; i < jobs; i++) {
    await queue.submit({
      owner: { userId: `u${i % USERS}`, guildId: '100', channelId: '200' },
      request: {
        prompt: `job ${i}`,
        seed: i,
        steps: STEPS,
        guidance: 5,
        width: 16,
        height: 16,
        sampler: 'euler',
        count: 1,
      },
    });
  }
  const t0 = performance.now();
  dispatcher.start();
  await done;
  const wallMs = performance.now() - t0;
  const failed = finals.filter((f) => f.state !== 'done');
  if (failed.length > 0) throw new Error(`${failed.length} jobs did not finish: ${failed[0].error}`);

  const doneEvents = procs.flatMap((p) => p.events.filter((e) => e.type === 'done'));
  const engine = doneEvents.map((e) => e.engineMs!);
  const gaps: number[] = [];
  const perWorker: number[] = [];
  for (const p of procs) {
    const starts = p.events.filter((e) => e.type === 'start');
    const dones = p.events.filter((e) => e.type === 'done');
    if (dones.length === 0) continue;
    const span = dones.at(-1)!.at! - starts[0].at!;
    perWorker.push((span - dones.reduce((a, e) => a + e.engineMs! + e.encodeMs!, 0)) / dones.length);
    const ev = p.events.filter((e) => e.type === 'start' || e.type === 'done');
    for (let i = 1; i < ev.length; i++)
      if (ev[i].type === 'start' && ev[i - 1].type === 'done') gaps.push(ev[i].at! - ev[i - 1].at!);
  }
  await Promise.all(procs.map((p) => p.kill('SIGTERM')));
  await dispatcher.stop();
  await dispatcher.close();
  await queue.close();
  await store.close();
  const engineMs = mean(engine);
  return {
    workers: count,
    jobs,
    wallMs,
    jobsPerSec: (jobs / wallMs) * 1000,
    engineMs,
    wallOverheadMs: (wallMs * count) / jobs - engineMs,
    overheadMs: mean(perWorker),
    encodeMs: mean(doneEvents.map((e) => e.encodeMs!)),
    storeMs: mean(doneEvents.map((e) => e.storeMs!)),
    gapMs: mean(gaps),
  };
}

try {
  const runs: Run[] = [];
  for (const [i, count] of COUNTS.entries()) runs.push(await run(count, i));
  const base = runs.find((r) => r.workers === 1);
  console.log(
    `BullMQ backend, fake engine sleeping ${ENGINE_MS} ms a job (${STEPS} steps), ${PER_WORKER} jobs per worker, ${USERS} users, prefetch ${args.prefetch}`,
  );
  console.log(
    'per job, ms: engine = the fake engine call; png = encoding the display PNG (the local backend pays it too);',
  );
  console.log('  backend = worker busy span minus engine and png (Redis writes, completion, taking the next job);');
  console.log("  redis = storing the PNGs in Redis; gap = a worker's idle time from one job's end to the next start;");
  console.log('  wall = wall x workers / jobs - engine (adds start-up and the uneven tail)');
  console.log('workers  jobs  wall s   jobs/s  vs 1 worker  vs ideal  engine    png  backend  redis    gap   wall');
  for (const r of runs) {
    const vsBase = base ? r.jobsPerSec / (base.jobsPerSec * r.workers) : NaN;
    const vsIdeal = r.jobsPerSec / ((1000 / ENGINE_MS) * r.workers);
    const f = (x: number, w: number, d = 2) => x.toFixed(d).padStart(w);
    console.log(
      `${String(r.workers).padStart(7)}  ${String(r.jobs).padStart(4)}  ${f(r.wallMs / 1000, 6)}  ${f(r.jobsPerSec, 7)}  ${f(vsBase, 11, 3)}  ${f(vsIdeal, 8, 3)}  ${f(r.engineMs, 6, 1)}  ${f(r.encodeMs, 5)}  ${f(r.overheadMs, 7)}  ${f(r.storeMs, 5)}  ${f(r.gapMs, 5)}  ${f(r.wallOverheadMs, 5)}`,
    );
  }
  const worst = Math.min(...runs.map((r) => (base ? r.jobsPerSec / (base.jobsPerSec * r.workers) : 1)));
  const maxOverhead = Math.max(...runs.map((r) => r.overheadMs));
  console.log(
    `scaling ratio (worst, vs N x 1 worker): ${worst.toFixed(3)} (target >= 0.9); backend overhead per job (worst): ${maxOverhead.toFixed(2)} ms (target < 5 ms)`,
  );
} finally {
  await redis.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
