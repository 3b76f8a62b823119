// The engine's worker thread dies under a job (here: a message it cannot read throws in its handler, the
// way an uncaught error ends the thread; it is read between two ONNX calls, as terminating the thread
// inside a native onnxruntime call would abort the whole process, as a native crash does). The engine
// starts a new thread by itself, the job goes back to the front of the line and finishes, and a job that
// keeps killing the engine fails with a fixed message instead of looping.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Worker as ThreadWorker } from 'node:worker_threads';
import { EngineCrashedError, WorkerPipeline, type ImageGenerator } from '../../src/engine/index.ts';
import { GuildSettingsStore, JobQueue, Worker, openStore, type JobRecord } from '../../src/queue/index.ts';
import { owner, request, tempDir } from '../queue/helpers.ts';
import { MODELS } from './helpers.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Ends the engine's thread from inside, mid-call: its message handler throws on a message with no type. */
function killThread(engine: WorkerPipeline): void {
  (engine as unknown as { worker: ThreadWorker }).worker.postMessage(null);
}

test('a dead engine thread is restarted; the call under it fails as crashed and the next call works', async () => {
  const engine = await WorkerPipeline.load(join(MODELS, 'tiny-slow'), { intraOpNumThreads: 1 });
  try {
    assert.equal(engine.alive, true);
    const call = engine.generate(request({ steps: 30, width: 64, height: 64 }));
    killThread(engine);
    await assert.rejects(call, (e: unknown) => e instanceof EngineCrashedError);
    const next = await engine.generate(request({ steps: 2, width: 64, height: 64 }));
    assert.equal(next.images.length, 1);
    assert.equal(engine.restarts, 1);
    assert.equal(engine.alive, true);
  } finally {
    await engine.close();
  }
});

test('through the queue: the job is re-queued and finishes; one that keeps crashing the engine fails, not loops', async () => {
  const dataDir = tempDir('engine-crash-');
  dirs.push(dataDir);
  const store = await openStore({ dataDir });
  const settings = new GuildSettingsStore(store);
  await settings.update('100', { cooldownSeconds: 0 });
  const queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
  const engine = await WorkerPipeline.load(join(MODELS, 'tiny-slow'), { intraOpNumThreads: 1 });
  // The thread dies as each run of "doomed", and the first run of "lucky", reaches it.
  const kills = new Map<string, number>();
  const crashing: ImageGenerator = {
    modelName: engine.modelName,
    async generate(r, options) {
      // A thread being started again after the last kill: kill the new one, once it is there.
      await (engine as unknown as { restarting?: Promise<void> }).restarting;
      const call = engine.generate(r, options);
      const runs = kills.get(r.prompt) ?? 0;
      if (r.prompt === 'doomed' || runs === 0) {
        kills.set(r.prompt, runs + 1);
        killThread(engine);
      }
      return call;
    },
  };
  const worker = new Worker(queue, crashing, { resultsDir: join(dataDir, 'results') });
  const events: string[] = [];
  for (const e of ['requeued', 'done', 'failed'] as const)
    queue.on(e, (job: JobRecord) => void events.push(`${e}:${job.request.prompt}`));
  worker.start();
  try {
    const finished = (id: string) =>
      new Promise<JobRecord>((resolve) => {
        for (const e of ['done', 'failed'] as const)
          queue.on(e, (job: JobRecord) => {
            if (job.id === id) resolve(job);
          });
      });
    const lucky = await queue.submit({
      owner: owner('alice'),
      request: request({ prompt: 'lucky', steps: 6, width: 64, height: 64 }),
    });
    const luckyEnd = await finished(lucky.id);
    assert.equal(luckyEnd.state, 'done');
    assert.deepEqual(
      events.filter((e) => e.endsWith(':lucky')),
      ['requeued:lucky', 'done:lucky'],
    );
    const doomed = await queue.submit({
      owner: owner('bob'),
      request: request({ prompt: 'doomed', steps: 6, width: 64, height: 64 }),
    });
    const doomedEnd = await finished(doomed.id);
    assert.equal(doomedEnd.state, 'failed');
    assert.equal(doomedEnd.failure, 'engine_crash');
    assert.equal(kills.get('doomed'), 3, 'two re-runs, then it fails');
    assert.equal(engine.restarts, 4);
  } finally {
    await worker.stop({ requeue: true });
    await queue.close();
    await engine.close();
    await store.close();
  }
});
