import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OrderedWriter } from '../../src/queue/writes.ts';
import { StepTimes } from '../../src/queue/eta.ts';
import { openStore, type Store } from '../../src/queue/store.ts';
import { sleep, tempDir } from './helpers.ts';

test('OrderedWriter: a slow earlier write never lands after a later one', async () => {
  const real = await openStore({ dataDir: tempDir() });
  try {
    let first = true;
    // The first set of the key stalls, as a 'running' write might while 'done' is issued.
    const slow: Store = Object.create(real, {
      set: {
        value: async (key: string, value: unknown) => {
          if (first) {
            first = false;
            await sleep(50);
          }
          return real.set(key, value);
        },
      },
    });
    const writer = new OrderedWriter(slow);
    const a = writer.set('job:x', { state: 'running' });
    await sleep(5); // the 'running' write is now in flight (stalled)
    const b = writer.set('job:x', { state: 'done' });
    await Promise.all([a, b]);
    assert.deepEqual(await real.get('job:x'), { state: 'done' });
    await writer.set('job:x', { state: 'done', n: 2 });
    await writer.delete('job:x');
    await writer.flush();
    assert.equal(await real.get('job:x'), undefined);
    assert.equal(writer.inFlight, 0);
  } finally {
    await real.close();
  }
});

test('StepTimes: moving average per image count, scaled for unseen counts', () => {
  const t = new StepTimes(100, 0.5);
  assert.equal(t.stepMs(1), 100);
  assert.equal(t.stepMs(4), 400);
  t.record(1, 10, 200); // 20 ms/step
  assert.equal(t.stepMs(1), 20);
  assert.equal(t.stepMs(2), 40);
  t.record(1, 10, 400); // 40 ms/step -> average 30
  assert.equal(t.stepMs(1), 30);
  t.record(4, 10, 1000);
  assert.equal(t.stepMs(4), 100);
  assert.equal(t.stepMs(3), 75, 'nearest measured count (4), scaled');
});
