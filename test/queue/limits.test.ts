// Every refusal at submit: its code, its message, when it resets, and that it changes nothing.
import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, FakeGenerator, manualClock, owner, request, tempDir, waitFor, type Backend } from './helpers.ts';
import { GuildSettingsStore, type GuildSettings } from '../../src/queue/settings.ts';
import { JobQueue, type JobQueueOptions, type SubmitInput } from '../../src/queue/queue.ts';
import { LimitError, type LimitCode } from '../../src/queue/limits.ts';
import { Worker } from '../../src/queue/worker.ts';
import type { Store } from '../../src/queue/store.ts';
import type { JobRecord } from '../../src/queue/types.ts';

for (const { name, make, skip } of BACKENDS) {
  describe(`submit limits on ${name}`, { skip }, () => {
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

    const clock = manualClock();
    async function setup(
      settingsPatch: Partial<GuildSettings> = {},
      options: Partial<JobQueueOptions> = {},
      storeName = `l${++n}`,
    ) {
      const store: Store = await backend.open(storeName);
      const settings = new GuildSettingsStore(store);
      await settings.update('100', { cooldownSeconds: 0, maxPending: 20, ...settingsPatch });
      const queue = await JobQueue.open({ store, settings, clock: clock.now, pruneIntervalMs: 0, ...options });
      cleanups.push(async () => {
        await queue.close();
        await store.close();
      });
      return { store, settings, queue, storeName };
    }

    /** Submits expecting a refusal; checks the queue did not change. */
    async function refused(queue: JobQueue, input: SubmitInput, code: LimitCode, message: RegExp): Promise<LimitError> {
      const before = JSON.stringify(queue.stats());
      const beforeUser = (await queue.listForUser(input.owner.userId)).length;
      let caught: unknown;
      try {
        await queue.submit(input);
      } catch (err) {
        caught = err;
      }
      assert.ok(caught instanceof LimitError, `expected a LimitError ${code}, got ${String(caught)}`);
      assert.equal(caught.code, code);
      assert.match(caught.message, message);
      assert.equal(JSON.stringify(queue.stats()), before, 'a refused submit changes nothing');
      assert.equal((await queue.listForUser(input.owner.userId)).length, beforeUser);
      return caught;
    }

    test('pending jobs per user (across servers), with an estimated reset', async () => {
      const { queue, settings } = await setup({ maxPending: 2 });
      await settings.update('101', { cooldownSeconds: 0 });
      await queue.submit({ owner: owner('A'), request: request() });
      await queue.submit({ owner: owner('A', '101'), request: request() });
      const err = await refused(
        queue,
        { owner: owner('A'), request: request() },
        'pending',
        /already have 2 jobs waiting or running \(the limit is 2\)/,
      );
      assert.ok(
        err.resetsAt !== undefined && err.resetsAt > clock.now(),
        'resetsAt estimates when the first job finishes',
      );
      await queue.submit({ owner: owner('B'), request: request() });
      const [first] = await queue.listForUser('A');
      await queue.cancel(first.id, { userId: 'A', isModerator: false });
      await queue.submit({ owner: owner('A'), request: request() });
    });

    test('cooldown per user per server, from when the previous job finished, resetsAt exact', async () => {
      const { queue, settings } = await setup({ cooldownSeconds: 10 });
      await settings.update('101', { cooldownSeconds: 10 });
      const first = await queue.submit({ owner: owner('A'), request: request() });
      // A job still waiting holds the pending limit, not the cooldown.
      clock.advance(30_000);
      const second = await queue.submit({ owner: owner('A'), request: request() });
      const t0 = clock.now();
      await queue.cancel(first.id, { userId: 'A', isModerator: false });
      await queue.cancel(second.id, { userId: 'A', isModerator: false });
      clock.advance(3_000);
      const err = await refused(
        queue,
        { owner: owner('A'), request: request() },
        'cooldown',
        /wait 7 more seconds .*cooldown is 10 s/,
      );
      assert.equal(err.resetsAt, t0 + 10_000);
      await queue.submit({ owner: owner('B'), request: request() });
      await queue.submit({ owner: owner('A', '101'), request: request() });
      clock.advance(7_000);
      await queue.submit({ owner: owner('A'), request: request() });
    });

    test('by default there is no cooldown: a reroll the moment a result arrives is accepted', async () => {
      const { store } = await setup();
      const settings = new GuildSettingsStore(store);
      assert.equal((await settings.get('999')).cooldownSeconds, 0);
      const queue = await JobQueue.open({ store, settings, clock: clock.now, pruneIntervalMs: 0 });
      cleanups.push(() => queue.close());
      const job = await queue.submit({ owner: owner('A', '999'), request: request() });
      await queue.cancel(job.id, { userId: 'A', isModerator: false });
      await queue.submit({ owner: owner('A', '999'), request: request() });
    });

    test("a restart keeps a finished job's cooldown", async () => {
      const { queue, storeName } = await setup({ cooldownSeconds: 60 });
      const job = await queue.submit({ owner: owner('A'), request: request() });
      await queue.cancel(job.id, { userId: 'A', isModerator: false });
      const finishedAt = clock.now();
      await queue.close();
      clock.advance(20_000);
      const { queue: again } = await setup({ cooldownSeconds: 60 }, {}, storeName);
      const err = await refused(again, { owner: owner('A'), request: request() }, 'cooldown', /wait 40 more seconds/);
      assert.equal(err.resetsAt, finishedAt + 60_000);
    });

    test('daily quota per user per server, UTC day, kept across a restart', async () => {
      clock.set(Date.UTC(2026, 10, 27, 23, 0, 0));
      const first = await setup({ dailyQuota: 2 });
      await first.queue.submit({ owner: owner('A'), request: request() });
      await first.queue.submit({ owner: owner('A'), request: request() });
      const err = await refused(
        first.queue,
        { owner: owner('A'), request: request() },
        'daily_quota',
        /today's 2 images in this server.*00:00 UTC/,
      );
      assert.equal(err.resetsAt, Date.UTC(2026, 10, 28));
      await first.queue.close();
      await first.store.close();
      cleanups.pop();

      const again = await setup({ dailyQuota: 2 }, {}, first.storeName);
      await refused(again.queue, { owner: owner('A'), request: request() }, 'daily_quota', /today's 2 images/);
      await again.queue.submit({ owner: owner('B'), request: request() });
      clock.set(Date.UTC(2026, 10, 28, 0, 0, 1));
      await again.queue.submit({ owner: owner('A'), request: request() });
    });

    test('global queue cap (back-pressure) with a reset estimate while a job runs', async () => {
      const { queue } = await setup({}, { maxQueued: 3 });
      for (const u of ['A', 'B', 'C']) await queue.submit({ owner: owner(u), request: request() });
      const err = await refused(
        queue,
        { owner: owner('D'), request: request() },
        'queue_full',
        /queue is full \(3 jobs waiting\)/,
      );
      assert.equal(err.resetsAt, undefined, 'nothing running: no honest estimate');
      const worker = new Worker(queue, new FakeGenerator(30), { resultsDir: tempDir() });
      const started = waitFor<JobRecord>((cb) => queue.on('started', cb));
      worker.start();
      await started;
      await queue.submit({ owner: owner('D'), request: request() });
      const err2 = await refused(queue, { owner: owner('E'), request: request() }, 'queue_full', /queue is full/);
      assert.ok(err2.resetsAt! > clock.now());
      await worker.stop({ requeue: true });
    });

    test('parameter caps from the server settings', async () => {
      const { queue } = await setup({ maxSteps: 30, maxCount: 2, maxSide: 256, allowedSamplers: ['euler', 'ddim'] });
      const cases: Array<[Partial<SubmitInput['request']>, string, RegExp]> = [
        [{ steps: 500 }, 'steps', /expected steps between 1 and 30, got 500/],
        [{ steps: 0 }, 'steps', /got 0/],
        [{ count: 3 }, 'count', /expected count between 1 and 2, got 3/],
        [{ width: 512 }, 'width', /this image is 512×16, over this server's 256 px limit for a side/],
        [{ height: 20 }, 'height', /multiple of 8.*got 20/],
        [{ sampler: 'euler_a' }, 'sampler', /euler_a sampler is not allowed here; expected one of euler, ddim/],
        [{ sampler: 'plms' as never }, 'sampler', /expected a sampler from .*got plms/],
        [{ seed: -1 }, 'seed', /expected a seed between 0 and 4294967295, got -1/],
        [{ prompt: '   ' }, 'prompt', /expected a prompt/],
      ];
      for (const [patch, field, message] of cases) {
        const err = await refused(queue, { owner: owner('A'), request: request(patch) }, 'param', message);
        assert.equal(err.detail, field);
      }
      await queue.submit({ owner: owner('A'), request: request({ steps: 30, count: 2, width: 256, sampler: 'ddim' }) });
    });

    test('banned words (evasions included) name the word', async () => {
      const { queue } = await setup({ bannedWords: ['gore'] });
      const err = await refused(
        queue,
        { owner: owner('A'), request: request({ prompt: 'a g0r3 scene' }) },
        'banned_word',
        /not allow \("gore"\)/,
      );
      assert.equal(err.detail, 'gore');
      await queue.submit({ owner: owner('A'), request: request({ prompt: 'a gory... no, a cute scene' }) });
    });

    test('the negative prompt is moderated like the prompt (it is shown with the result)', async () => {
      const { queue } = await setup({ bannedWords: ['gore'] });
      const err = await refused(
        queue,
        { owner: owner('A'), request: request({ prompt: 'a cat', negativePrompt: 'blurry, g\u200Bore' }) },
        'banned_word',
        /negative prompt contains a word this server does not allow \("gore"\)/,
      );
      assert.equal(err.detail, 'gore');
      await queue.submit({ owner: owner('A'), request: request({ prompt: 'a cat', negativePrompt: 'blurry, gory' }) });
    });

    test('posting a stored image obeys the channel rules and a per-user cooldown of its own', async () => {
      const { queue } = await setup({ cooldownSeconds: 30, deniedChannels: ['201'] });
      await queue.admitPost(owner('A'));
      await assert.rejects(
        queue.admitPost(owner('A')),
        (e: unknown) => e instanceof LimitError && e.code === 'cooldown' && /wait 30 more seconds/.test(e.message),
      );
      await assert.rejects(
        queue.admitPost(owner('B', '100', '201')),
        (e: unknown) => e instanceof LimitError && e.code === 'channel',
      );
      await queue.admitPost(owner('B'));
      // Kept apart from submits: a post does not hold up the user's next job.
      await queue.submit({ owner: owner('A'), request: request() });
      clock.advance(31_000);
      await queue.admitPost(owner('A'));
    });

    test('the submit counters stay bounded: a month of users and days leaves only what can still refuse someone', async () => {
      const { queue } = await setup({ cooldownSeconds: 60, maxPending: 20, dailyQuota: 10_000 });
      for (let day = 0; day < 30; day++) {
        for (let u = 0; u < 40; u++) {
          const who = owner(`d${day}u${u}`, String(100 + (u % 3)));
          if (u % 3 === 0) await queue.admitPost(who);
          else {
            const job = await queue.submit({ owner: who, request: request() });
            await queue.cancel(job.id, { userId: who.userId, isModerator: false });
          }
        }
        clock.advance(24 * 60 * 60 * 1000);
      }
      await queue.admitPost(owner('last'));
      assert.ok(
        queue.ledgerSize <= 2,
        `expected the counters to hold only the last user, got ${queue.ledgerSize} entries`,
      );
    });

    test('channel allow and deny lists', async () => {
      const { queue } = await setup({ allowedChannels: ['200', '201'], deniedChannels: ['201'] });
      await queue.submit({ owner: owner('A', '100', '200'), request: request() });
      await refused(
        queue,
        { owner: owner('A', '100', '201'), request: request() },
        'channel',
        /not allowed in this channel/,
      );
      await refused(
        queue,
        { owner: owner('A', '100', '202'), request: request() },
        'channel',
        /not allowed in this channel/,
      );
    });

    /** A real store whose writes of keys starting with `prefix` are refused `times` times. */
    async function refusingStore(prefix: string, times: number): Promise<{ store: Store; inner: Store }> {
      const inner = await backend.open(`l${++n}`);
      let left = times;
      const store: Store = {
        backend: inner.backend,
        location: inner.location,
        get: <T>(key: string) => inner.get<T>(key),
        set: async (key, value, ttlMs) => {
          if (key.startsWith(prefix) && left-- > 0) throw new Error(`disk full (injected, writing ${prefix})`);
          return inner.set(key, value, ttlMs);
        },
        delete: (key) => inner.delete(key),
        iterate: <T>(prefix: string) => inner.iterate<T>(prefix),
        close: () => inner.close(),
      };
      return { store, inner };
    }

    for (const prefix of ['job:', 'usage:']) {
      test(`a submit whose ${prefix} write the store refuses charges nothing and leaves nothing stored`, async () => {
        const { store, inner } = await refusingStore(prefix, 1);
        const settings = new GuildSettingsStore(store);
        await settings.update('100', { cooldownSeconds: 60, dailyQuota: 1, maxPending: 1 });
        const queue = await JobQueue.open({ store, settings, clock: clock.now, pruneIntervalMs: 0 });
        cleanups.push(async () => {
          await queue.close();
          await store.close();
        });
        const before = JSON.stringify(queue.stats());

        await assert.rejects(queue.submit({ owner: owner('A'), request: request() }), /disk full \(injected/);
        assert.equal(JSON.stringify(queue.stats()), before, 'nothing queued, nothing counted');
        const stored = async (p: string) => {
          const keys = [];
          for await (const [k] of inner.iterate(p)) keys.push(k);
          return keys;
        };
        assert.deepEqual(await stored('job:'), [], 'no half of the refused pair stays stored');
        for (const key of await stored('usage:')) assert.equal(await inner.get(key), 0, `${key} is back to 0`);

        // At once, same user and server: neither the pending limit (1), the cooldown (60 s) nor the quota (1) holds it.
        const job = await queue.submit({ owner: owner('A'), request: request() });
        assert.deepEqual(
          (await queue.listForUser('A')).map((j) => j.id),
          [job.id],
        );
        assert.deepEqual(await stored('job:'), [`job:${job.id}`]);
        const usage = await stored('usage:');
        assert.equal(usage.length, 1);
        assert.equal(await inner.get(usage[0]), 1, 'the accepted submit is the one counted');
        await refused(queue, { owner: owner('A'), request: request() }, 'pending', /the limit is 1/);
      });
    }

    test('concurrent submits cannot slip past a limit together', async () => {
      const { queue } = await setup({ maxPending: 2 });
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => queue.submit({ owner: owner('A'), request: request() })),
      );
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 2);
      assert.equal(queue.stats().queued, 2);
    });
  });
}
