// The JobQueue and Worker against both real backends with a small fast engine.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { BACKENDS, FakeGenerator, manualClock, owner, request, tempDir, waitFor, type Backend } from './helpers.ts';
import { GuildSettingsStore, type GuildSettings } from '../../src/queue/settings.ts';
import { JobQueue, type JobQueueOptions } from '../../src/queue/queue.ts';
import { JobNotFoundError, JobStateError, PermissionError } from '../../src/queue/errors.ts';
import { Worker, type WorkerOptions } from '../../src/queue/worker.ts';
import type { Store } from '../../src/queue/store.ts';
import type { JobRecord } from '../../src/queue/types.ts';
import { readPngText } from '../../src/engine/images.ts';

for (const { name, make, skip } of BACKENDS) {
  describe(`job queue on ${name}`, { skip }, () => {
    let backend: Backend;
    let n = 0;
    const cleanups: Array<() => Promise<void>> = [];
    before(async () => {
      backend = await make();
    });
    afterEach(async () => {
      while (cleanups.length) await cleanups.pop()!();
    });
    after(async () => {
      await backend?.cleanup();
    });

    interface Setup {
      store: Store;
      settings: GuildSettingsStore;
      queue: JobQueue;
      engine: FakeGenerator;
      worker: Worker;
      resultsDir: string;
      storeName: string;
    }
    async function setup(
      opts: {
        settings?: Partial<GuildSettings>;
        queue?: Partial<JobQueueOptions>;
        worker?: Partial<WorkerOptions>;
        stepMs?: number;
        storeName?: string;
      } = {},
    ): Promise<Setup> {
      const storeName = opts.storeName ?? `q${++n}`;
      const store = await backend.open(storeName);
      const settings = new GuildSettingsStore(store);
      await settings.update('100', { cooldownSeconds: 0, maxPending: 20, ...opts.settings });
      const queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0, ...opts.queue });
      const engine = new FakeGenerator(opts.stepMs ?? 3);
      const resultsDir = tempDir('queue-results-');
      const worker = new Worker(queue, engine, { resultsDir, ...opts.worker });
      cleanups.push(async () => {
        await worker.stop({ requeue: true });
        await queue.close();
        await store.close();
      });
      return { store, settings, queue, engine, worker, resultsDir, storeName };
    }

    function collect(queue: JobQueue) {
      const events: string[] = [];
      for (const e of ['queued', 'started', 'done', 'failed', 'cancelled', 'requeued'] as const) {
        queue.on(e, (job: JobRecord) => events.push(`${e}:${job.request.prompt}`));
      }
      return events;
    }

    const idle = (queue: JobQueue) =>
      waitFor<JobRecord>(
        (cb) => {
          const offs = (['done', 'failed', 'cancelled'] as const).map((e) => queue.on(e, cb));
          return () => offs.forEach((off) => off());
        },
        () => queue.stats().queued === 0 && queue.stats().running === 0,
        10_000,
      );

    test('fair order: round-robin between users, FIFO within a user; position() predicts it', async () => {
      const { queue, engine, worker } = await setup();
      const submitted: JobRecord[] = [];
      for (let i = 1; i <= 5; i++)
        submitted.push(await queue.submit({ owner: owner('A'), request: request({ prompt: `A${i}` }) }));
      submitted.push(await queue.submit({ owner: owner('B'), request: request({ prompt: 'B1' }) }));
      for (let i = 1; i <= 2; i++)
        submitted.push(await queue.submit({ owner: owner('C'), request: request({ prompt: `C${i}` }) }));
      const expected = ['A1', 'B1', 'C1', 'A2', 'C2', 'A3', 'A4', 'A5'];
      const predicted = [...submitted]
        .sort((x, y) => queue.position(x.id)!.position - queue.position(y.id)!.position)
        .map((j) => j.request.prompt);
      assert.deepEqual(predicted, expected);
      assert.deepEqual(
        submitted.map((j) => queue.position(j.id)!.position).sort((a, b) => a - b),
        [1, 2, 3, 4, 5, 6, 7, 8],
      );
      // ETAs grow with position.
      const etas = expected.map((p) => queue.position(submitted.find((j) => j.request.prompt === p)!.id)!.etaMs);
      for (let i = 1; i < etas.length; i++) assert.ok(etas[i] > etas[i - 1], `eta ${etas[i]} after ${etas[i - 1]}`);
      const finished = idle(queue);
      worker.start();
      await finished;
      assert.deepEqual(engine.prompts, expected);
      assert.equal(engine.maxActive, 1, 'one engine call at a time');
    });

    test("a user arriving later is served before the busy user's backlog", async () => {
      const { queue, engine, worker } = await setup({ stepMs: 5 });
      for (let i = 1; i <= 6; i++) await queue.submit({ owner: owner('A'), request: request({ prompt: `A${i}` }) });
      const finished = idle(queue);
      worker.start();
      await waitFor<JobRecord>(
        (cb) => queue.on('done', cb),
        (j) => j.request.prompt === 'A1',
      );
      const late = await queue.submit({ owner: owner('L'), request: request({ prompt: 'L1' }) });
      assert.ok(queue.position(late.id)!.position <= 2, `late user at position ${queue.position(late.id)!.position}`);
      await finished;
      assert.ok(engine.prompts.indexOf('L1') <= 3, `L1 ran at ${engine.prompts.indexOf('L1')} in ${engine.prompts}`);
    });

    test('a done job is persisted with its result before "done" fires; PNGs carry the parameters', async () => {
      const { queue, store, worker, resultsDir } = await setup();
      const seen: Array<Promise<JobRecord | undefined>> = [];
      queue.on('done', (job) => {
        seen.push(store.get<JobRecord>(`job:${job.id}`));
      });
      const progress: number[] = [];
      queue.on('progress', (e) => progress.push(e.step));
      const job = await queue.submit({
        owner: owner('A'),
        request: request({ prompt: 'grid me', count: 3, seed: 7 }),
        delivery: { token: 'abc' },
      });
      const done = waitFor<JobRecord>((cb) => queue.on('done', cb));
      worker.start();
      const record = await done;
      const stored = await seen[0];
      assert.equal(stored?.state, 'done');
      assert.deepEqual(stored?.result, record.result);
      assert.deepEqual(progress, [1, 2, 3, 4]);
      assert.equal(record.result!.images.length, 3);
      assert.deepEqual(record.result!.seeds, [7, 8, 9]);
      assert.ok(record.result!.grid && existsSync(record.result!.grid));
      for (const path of record.result!.images) {
        assert.ok(path.startsWith(`${resultsDir}/${job.id}/`), path);
        const text = readPngText(readFileSync(path));
        assert.match(text.parameters, /^grid me\n.*Steps: 4/s);
      }
      assert.deepEqual(record.delivery, { token: 'abc' });
      assert.equal((await queue.get(job.id))?.state, 'done');
      assert.equal(queue.position(job.id), undefined);
    });

    test('cancel: queued by owner, refused to others, allowed to moderators; finished is a JobStateError', async () => {
      const { queue, worker, engine } = await setup();
      const events = collect(queue);
      const a = await queue.submit({ owner: owner('A'), request: request({ prompt: 'a' }) });
      const b = await queue.submit({ owner: owner('A'), request: request({ prompt: 'b' }) });
      const c = await queue.submit({ owner: owner('A'), request: request({ prompt: 'c' }) });
      await assert.rejects(queue.cancel(a.id, { userId: 'B', isModerator: false }), PermissionError);
      assert.equal((await queue.get(a.id))?.state, 'queued', 'a refused cancel changes nothing');
      assert.equal((await queue.cancel(a.id, { userId: 'A', isModerator: false })).state, 'cancelled');
      assert.equal((await queue.cancel(b.id, { userId: 'M', isModerator: true })).state, 'cancelled');
      assert.equal(queue.position(c.id)!.position, 1);
      await assert.rejects(queue.cancel('nope', { userId: 'A', isModerator: false }), JobNotFoundError);
      const finished = idle(queue);
      worker.start();
      await finished;
      assert.deepEqual(engine.prompts, ['c']);
      await assert.rejects(queue.cancel(c.id, { userId: 'A', isModerator: false }), JobStateError);
      await assert.rejects(queue.cancel(a.id, { userId: 'A', isModerator: false }), JobStateError);
      assert.deepEqual(
        events.filter((e) => e.startsWith('cancelled')),
        ['cancelled:a', 'cancelled:b'],
      );
      assert.equal((await queue.get(a.id))?.state, 'cancelled');
    });

    test('cancel a running job: the engine sees the abort, the next job runs', async () => {
      const { queue, worker, engine } = await setup({ stepMs: 20 });
      const slow = await queue.submit({ owner: owner('A'), request: request({ prompt: 'slow', steps: 50 }) });
      await queue.submit({ owner: owner('B'), request: request({ prompt: 'next' }) });
      const started = waitFor<JobRecord>(
        (cb) => queue.on('progress', (e) => cb(e.job)),
        (j) => j.id === slow.id && j.progress!.step >= 2,
      );
      const finished = idle(queue);
      worker.start();
      await started;
      await assert.rejects(queue.cancel(slow.id, { userId: 'B', isModerator: false }), PermissionError);
      const t0 = performance.now();
      const cancelled = await queue.cancel(slow.id, { userId: 'A', isModerator: false });
      assert.ok(performance.now() - t0 < 500, 'cancel returns within a step or two');
      assert.equal(cancelled.state, 'cancelled');
      await finished;
      assert.deepEqual(
        engine.calls.map((c) => [c.prompt, c.aborted, c.finished]),
        [
          ['slow', true, false],
          ['next', false, true],
        ],
      );
      assert.equal((await queue.get(slow.id))?.state, 'cancelled');
    });

    test('an engine error fails that job with its message and the worker goes on', async () => {
      const { queue, worker } = await setup();
      const bad = await queue.submit({ owner: owner('A'), request: request({ prompt: 'please explode' }) });
      const good = await queue.submit({ owner: owner('A'), request: request({ prompt: 'fine' }) });
      const finished = idle(queue);
      worker.start();
      await finished;
      const failed = await queue.get(bad.id);
      assert.equal(failed?.state, 'failed');
      assert.match(failed!.error!, /boom: the fake engine exploded/);
      assert.equal((await queue.get(good.id))?.state, 'done');
    });

    test('a job past its timeout is aborted and fails; the next one runs', async () => {
      const { queue, worker, engine } = await setup({ stepMs: 20, worker: { jobTimeoutMs: 100 } });
      const slow = await queue.submit({ owner: owner('A'), request: request({ prompt: 'slow', steps: 50 }) });
      const quick = await queue.submit({ owner: owner('B'), request: request({ prompt: 'quick', steps: 2 }) });
      const finished = idle(queue);
      worker.start();
      await finished;
      const failed = await queue.get(slow.id);
      assert.equal(failed?.state, 'failed');
      assert.match(failed!.error!, /took longer than the 100 ms limit/);
      assert.ok(engine.calls[0].aborted);
      assert.equal((await queue.get(quick.id))?.state, 'done');
    });

    test("stop({ requeue: true }) puts the running job back at the front of its owner's line", async () => {
      const { queue, worker, engine, store, settings } = await setup({ stepMs: 20 });
      const a1 = await queue.submit({ owner: owner('A'), request: request({ prompt: 'A1', steps: 50 }) });
      await queue.submit({ owner: owner('A'), request: request({ prompt: 'A2' }) });
      await queue.submit({ owner: owner('B'), request: request({ prompt: 'B1' }) });
      const started = waitFor<JobRecord>((cb) => queue.on('started', cb));
      worker.start();
      await started;
      await worker.stop({ requeue: true });
      assert.equal((await queue.get(a1.id))?.state, 'queued');
      assert.equal(queue.position(a1.id)!.position, 1);
      engine.stepMs = 2;
      const second = new Worker(queue, engine, { resultsDir: tempDir() });
      const finished = idle(queue);
      second.start();
      await finished;
      await second.stop();
      assert.deepEqual(engine.prompts, ['A1', 'A1', 'B1', 'A2']);
      assert.equal((await store.get<JobRecord>(`job:${a1.id}`))?.state, 'done');
      void settings;
    });

    test('stop() without requeue lets the running job finish', async () => {
      const { queue, worker } = await setup({ stepMs: 10 });
      const a = await queue.submit({ owner: owner('A'), request: request({ prompt: 'A', steps: 10 }) });
      const started = waitFor<JobRecord>((cb) => queue.on('started', cb));
      worker.start();
      await started;
      await worker.stop();
      assert.equal((await queue.get(a.id))?.state, 'done');
    });

    test('retention: finished records and their files are pruned, active ones kept', async () => {
      const clock = manualClock();
      const { queue, worker, store } = await setup({ queue: { clock: clock.now, retentionMs: 60_000 } });
      const old = await queue.submit({ owner: owner('A'), request: request({ prompt: 'old', count: 2 }) });
      const finished = idle(queue);
      worker.start();
      await finished;
      await worker.stop();
      const record = (await queue.get(old.id))!;
      assert.ok(existsSync(record.result!.images[0]));
      clock.advance(30_000);
      const keep = await queue.submit({ owner: owner('A'), request: request({ prompt: 'keep' }) });
      assert.equal(await queue.prune(), 0);
      clock.advance(31_000);
      assert.equal(await queue.prune(), 1);
      assert.equal(await queue.get(old.id), undefined);
      assert.equal(await store.get(`job:${old.id}`), undefined);
      assert.ok(!existsSync(record.result!.images[0]));
      assert.ok(!existsSync(record.result!.grid!));
      assert.equal((await queue.get(keep.id))?.state, 'queued');
    });

    test('setDelivery, listForUser and stats', async () => {
      const { queue, worker } = await setup();
      const a = await queue.submit({ owner: owner('A'), request: request({ prompt: 'a' }) });
      await queue.submit({ owner: owner('A'), request: request({ prompt: 'b' }) });
      await queue.submit({ owner: owner('B'), request: request({ prompt: 'c' }) });
      assert.deepEqual((await queue.setDelivery(a.id, { messageId: '9' })).delivery, { messageId: '9' });
      assert.deepEqual(
        (await queue.listForUser('A')).map((j) => j.request.prompt),
        ['a', 'b'],
      );
      assert.deepEqual(queue.stats().byState, { queued: 3, running: 0, done: 0, failed: 0, cancelled: 0 });
      assert.equal(queue.stats().waitingUsers, 2);
      const finished = idle(queue);
      worker.start();
      await finished;
      assert.deepEqual(queue.stats().byState, { queued: 0, running: 0, done: 3, failed: 0, cancelled: 0 });
      const listed = await queue.listForUser('A', { finished: 5 });
      assert.equal(listed.length, 2);
      assert.deepEqual((await queue.get(a.id))?.delivery, { messageId: '9' });
      await queue.setDelivery(a.id, { messageId: '10' });
      assert.deepEqual((await queue.get(a.id))?.delivery, { messageId: '10' });
    });

    test('pendingDeliveries: active jobs in run order, then finished ones still owed a message, across a reopen', async () => {
      const first = await setup();
      const owed = { token: 't', delivered: false };
      const a1 = await first.queue.submit({ owner: owner('A'), request: request({ prompt: 'a1' }), delivery: owed });
      const b1 = await first.queue.submit({ owner: owner('B'), request: request({ prompt: 'b1' }), delivery: owed });
      const none = await first.queue.submit({ owner: owner('B'), request: request({ prompt: 'no delivery' }) });
      const legacy = await first.queue.submit({
        owner: owner('A'),
        request: request({ prompt: 'legacy' }),
        delivery: { token: 't' },
      });
      const a2 = await first.queue.submit({ owner: owner('A'), request: request({ prompt: 'a2' }), delivery: owed });
      assert.deepEqual(
        (await first.queue.pendingDeliveries()).map((j) => j.request.prompt),
        ['a1', 'b1', 'legacy', 'no delivery', 'a2'],
      );
      const finished = waitFor<JobRecord>((cb) =>
        first.queue.on('done', (j) => {
          if (j.id === a2.id) cb(j);
        }),
      );
      first.worker.start();
      await finished;
      await first.worker.stop();
      // Nobody delivered anything: every job that asked for a message is still owed one.
      assert.deepEqual(
        (await first.queue.pendingDeliveries()).map((j) => j.id),
        [a1.id, b1.id, a2.id],
      );
      await first.queue.setDelivery(b1.id, { ...owed, delivered: true });
      await first.queue.close();
      await first.store.close();
      cleanups.pop();
      const again = await setup({ storeName: first.storeName });
      const pending = await again.queue.pendingDeliveries();
      assert.deepEqual(
        pending.map((j) => j.id),
        [a1.id, a2.id],
      );
      assert.ok(pending.every((j) => j.state === 'done' && j.result));
      assert.equal((await again.queue.get(none.id))?.state, 'done');
      assert.equal((await again.queue.get(legacy.id))?.state, 'done');
    });

    test('queued jobs survive a reopen in the same order', async () => {
      const first = await setup();
      const ids = [];
      for (const [u, p] of [
        ['A', 'A1'],
        ['A', 'A2'],
        ['B', 'B1'],
      ])
        ids.push((await first.queue.submit({ owner: owner(u), request: request({ prompt: p }) })).id);
      await first.queue.close();
      await first.store.close();
      cleanups.pop();
      const again = await setup({ storeName: first.storeName });
      assert.deepEqual(
        ids.map((id) => again.queue.position(id)?.position),
        [1, 3, 2],
      );
      const finished = idle(again.queue);
      again.worker.start();
      await finished;
      assert.deepEqual(again.engine.prompts, ['A1', 'B1', 'A2']);
    });
  });
}
