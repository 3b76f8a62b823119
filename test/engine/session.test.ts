import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  ModelSession,
  floatTensor,
  idsTensor,
  timestepTensor,
  toFloat32,
  type ValueInfo,
} from '../../src/engine/session.ts';
import { silentLogger } from '../../src/engine/logger.ts';

const info = (type: string, shape: (number | string)[]): ValueInfo => ({ name: 'timestep', type, shape });

test('timestep follows the declared type and shape', () => {
  const scalar = timestepTensor(981.5, info('float32', []), 4, 'batch');
  assert.deepEqual([scalar.type, scalar.dims, [...(scalar.data as Float32Array)]], ['float32', [], [981.5]]);
  const one = timestepTensor(981.5, info('int64', [1]), 4, 'batch');
  assert.deepEqual([one.type, one.dims, [...(one.data as BigInt64Array)]], ['int64', [1], [982n]]);
  // a symbolic dim named like the sample's batch dim gets one value per row
  const perRow = timestepTensor(10, info('float16', ['batch']), 3, 'batch');
  assert.deepEqual(
    [perRow.type, perRow.dims, [...(perRow.data as Uint16Array)]],
    ['float16', [3], [0x4900, 0x4900, 0x4900]],
  );
  // any other symbolic name gets [1], as diffusers' ONNX pipeline passes it
  const other = timestepTensor(10, info('float32', ['timestep_batch']), 3, 'batch');
  assert.deepEqual(other.dims, [1]);
  assert.throws(() => timestepTensor(1, info('string', []), 1), /expected a timestep of type/);
});

test('ids as int32 or int64, [rows, length]', () => {
  const a = idsTensor(
    [
      [1, 2, 3],
      [4, 5, 6],
    ],
    'int32',
  );
  assert.deepEqual([a.type, a.dims, [...(a.data as Int32Array)]], ['int32', [2, 3], [1, 2, 3, 4, 5, 6]]);
  const b = idsTensor([[49406, 49407]], 'int64');
  assert.deepEqual([b.type, [...(b.data as BigInt64Array)]], ['int64', [49406n, 49407n]]);
  assert.throws(() => idsTensor([[1]], 'float32'), /expected input_ids of type int32 or int64, got float32/);
});

test('float tensors convert to float16 and back', () => {
  const src = Float32Array.from([0, 1, -2.5, 0.1]);
  const t = floatTensor(src, [4], 'float16');
  assert.equal(t.type, 'float16');
  const back = toFloat32(t);
  assert.deepEqual([...back.subarray(0, 3)], [0, 1, -2.5]);
  assert.ok(Math.abs(back[3] - 0.1) < 1e-4);
  assert.equal(toFloat32(floatTensor(src, [4], 'float32')), src);
});

test('releaseBetweenRuns: the session closes after each run and opens again for the next, with the same results', async () => {
  const file = join(import.meta.dirname, '..', 'fixtures', 'models', 'sd15-tiny', 'text_encoder', 'model.onnx');
  const kept = await ModelSession.open(file, {}, silentLogger);
  const released = await ModelSession.open(file, { releaseBetweenRuns: true }, silentLogger);
  try {
    const ids = () => ({ input_ids: idsTensor([Array.from({ length: 32 }, (_, i) => i % 7)], 'int32') });
    const clock = { sessionRunMs: 0 };
    const expected = toFloat32((await kept.run(ids(), clock)).last_hidden_state);
    for (let round = 0; round < 3; round++) {
      const out = toFloat32((await released.run(ids(), clock)).last_hidden_state);
      assert.deepEqual([...out], [...expected], `round ${round}: the same values, readable after the close`);
    }
    const both = await Promise.all([released.run(ids(), clock), released.run(ids(), clock)]);
    for (const out of both) assert.deepEqual([...toFloat32(out.last_hidden_state)], [...expected], 'two at once');
    assert.equal(released.inputs.get('input_ids')!.type, 'int32', 'its metadata stays');
  } finally {
    await Promise.all([kept.release(), released.release()]);
  }
});
