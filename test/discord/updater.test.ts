import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ReplyUpdater, type EditFailure } from '../../src/discord/updater.ts';
import { FakeClock, flush } from './fake-clock.ts';

class RateLimited extends Error {
  constructor(readonly retryAfterMs: number) {
    super('429');
  }
}
class ServerError extends Error {}
class Fatal extends Error {}

function classify(error: unknown): EditFailure {
  if (error instanceof RateLimited) return { kind: 'rateLimit', retryAfterMs: error.retryAfterMs };
  if (error instanceof ServerError) return { kind: 'retry' };
  return { kind: 'fatal' };
}

/** An edit function whose calls stay in flight until the test settles them. */
function controlledEdit() {
  const calls: { payload: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  const edit = (payload: string) => new Promise<void>((resolve, reject) => calls.push({ payload, resolve, reject }));
  return { calls, edit };
}

test('latest wins: previews pushed during an edit replace each other, one edit in flight', async () => {
  const clock = new FakeClock();
  const { calls, edit } = controlledEdit();
  const updater = new ReplyUpdater<string>({ edit, classify, clock, intervalMs: 1500 });
  updater.push('p1');
  await flush();
  assert.deepEqual(
    calls.map((c) => c.payload),
    ['p1'],
  );
  for (const p of ['p2', 'p3', 'p4']) updater.push(p);
  await clock.advance(5000);
  assert.equal(calls.length, 1, 'nothing sent while the first edit is in flight');
  calls[0].resolve();
  await clock.advance(0);
  assert.deepEqual(
    calls.map((c) => c.payload),
    ['p1', 'p4'],
    'p2 and p3 were replaced, not queued',
  );
  assert.equal(updater.maxInFlight, 1);
  assert.equal(updater.dropped, 2);
});

test('cadence: a preview right after an edit waits for the interval', async () => {
  const clock = new FakeClock();
  const sent: [number, string][] = [];
  const updater = new ReplyUpdater<string>({
    edit: async (p) => void sent.push([clock.now(), p]),
    classify,
    clock,
    intervalMs: 1500,
  });
  updater.push('a');
  await clock.advance(100);
  updater.push('b');
  await clock.advance(1000);
  assert.equal(sent.length, 1);
  await clock.advance(500);
  assert.deepEqual(sent, [
    [0, 'a'],
    [1500, 'b'],
  ]);
});

test('429 backs the cadence off (at least Retry-After) and success recovers it', async () => {
  const clock = new FakeClock();
  const sent: number[] = [];
  let limitNext = 2;
  const updater = new ReplyUpdater<string>({
    edit: async () => {
      if (limitNext > 0) {
        limitNext--;
        throw new RateLimited(4000);
      }
      sent.push(clock.now());
    },
    classify,
    clock,
    intervalMs: 1000,
    maxIntervalMs: 16_000,
  });
  updater.push('a');
  await clock.advance(0);
  assert.equal(updater.intervalMs, 4000, 'max(2x, Retry-After)');
  updater.push('b');
  await clock.advance(3999);
  assert.equal(updater.rateLimited, 1, 'no edit before Retry-After elapsed');
  await clock.advance(1);
  assert.equal(updater.rateLimited, 2);
  assert.equal(updater.intervalMs, 8000);
  updater.push('c');
  await clock.advance(8000);
  assert.deepEqual(sent, [12_000], 'interval counted from the last attempt');
  assert.equal(updater.intervalMs, 4000, 'halved after a success');
  updater.push('d');
  await clock.advance(4000);
  assert.equal(updater.intervalMs, 2000);
  updater.push('e');
  await clock.advance(2000);
  assert.equal(updater.intervalMs, 1000, 'back to base, never below');
});

test('final edit supersedes pending previews, waits for the in-flight one, retries 5xx and 429', async () => {
  const clock = new FakeClock();
  const { calls, edit } = controlledEdit();
  const updater = new ReplyUpdater<string>({ edit, classify, clock, retryBaseMs: 500 });
  updater.push('preview1');
  await flush();
  updater.push('preview2');
  const done = updater.finish('final');
  let finished = false;
  void done.then(() => (finished = true));
  await clock.advance(1000);
  assert.equal(calls.length, 1, 'final waits for the in-flight preview');
  calls[0].resolve();
  await clock.advance(0);
  assert.equal(calls[1].payload, 'final');
  calls[1].reject(new ServerError('500'));
  await clock.advance(499);
  assert.equal(calls.length, 2);
  await clock.advance(1);
  assert.equal(calls[2].payload, 'final');
  calls[2].reject(new RateLimited(3000));
  await clock.advance(2999);
  assert.equal(calls.length, 3);
  await clock.advance(1);
  calls[3].resolve();
  await clock.advance(0);
  assert.ok(finished);
  assert.equal(updater.maxInFlight, 1);
  assert.ok(!calls.some((c) => c.payload === 'preview2'));
  updater.push('late preview');
  await clock.advance(10_000);
  assert.equal(calls.length, 4, 'no previews after the final');
});

test('a fatal final error is thrown at once so the caller can deliver another way', async () => {
  const clock = new FakeClock();
  let tries = 0;
  const updater = new ReplyUpdater<string>({
    edit: async () => {
      tries++;
      throw new Fatal('invalid token');
    },
    classify,
    clock,
  });
  await assert.rejects(updater.finish('final'), Fatal);
  assert.equal(tries, 1);
});

test('final gives up after finalAttempts', async () => {
  const clock = new FakeClock();
  let tries = 0;
  const updater = new ReplyUpdater<string>({
    edit: async () => {
      tries++;
      throw new ServerError('502');
    },
    classify,
    clock,
    finalAttempts: 3,
    retryBaseMs: 10,
  });
  const result = updater.finish('final').catch((e) => e);
  await clock.advance(1000);
  assert.ok((await result) instanceof ServerError);
  assert.equal(tries, 3);
});

test('the first preview skips the cadence: sent as soon as the edit in flight lands, later ones wait', async () => {
  const clock = new FakeClock();
  const { calls, edit } = controlledEdit();
  const updater = new ReplyUpdater<string>({ edit, classify, clock, intervalMs: 1500 });
  updater.push('started');
  await flush();
  updater.push('step 1 (first image)', true);
  updater.push('step 2'); // replaces it, and is shown in its place
  calls[0].resolve();
  await clock.advance(0);
  assert.deepEqual(
    calls.map((c) => c.payload),
    ['started', 'step 2'],
    'no 1.5 s wait after the start edit',
  );
  calls[1].resolve();
  await flush();
  updater.push('step 3');
  await clock.advance(1000);
  assert.equal(calls.length, 2, 'a later preview keeps the cadence');
  await clock.advance(500);
  assert.equal(calls.length, 3);
});

test('a final that arrives before the first preview was sent sends that preview first; others are dropped', async () => {
  const clock = new FakeClock();
  const { calls, edit } = controlledEdit();
  const updater = new ReplyUpdater<string>({ edit, classify, clock, intervalMs: 1500 });
  updater.push('started');
  await flush();
  updater.push('step 1', true);
  const done = updater.finish('final');
  calls[0].resolve();
  await flush();
  assert.deepEqual(
    calls.map((c) => c.payload),
    ['started', 'step 1'],
  );
  calls[1].resolve();
  await flush();
  assert.deepEqual(
    calls.map((c) => c.payload),
    ['started', 'step 1', 'final'],
  );
  calls[2].resolve();
  await done;

  // A later preview that is not the first is superseded by the final, as before.
  const second = controlledEdit();
  const other = new ReplyUpdater<string>({ edit: second.edit, classify, clock, intervalMs: 1500 });
  other.push('step 1', true);
  await flush();
  other.push('step 2');
  const otherDone = other.finish('final');
  second.calls[0].resolve();
  await flush();
  second.calls[1].resolve();
  await otherDone;
  assert.deepEqual(
    second.calls.map((c) => c.payload),
    ['step 1', 'final'],
  );
});
