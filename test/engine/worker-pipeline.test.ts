import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { WorkerPipeline } from '../../src/engine/worker-pipeline.ts';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { GenerationCancelledError, InvalidRequestError, ModelLoadError } from '../../src/engine/errors.ts';
import type { GenerateRequest, StepProgress } from '../../src/engine/types.ts';

const FIXTURE = join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-fp32');
let engine: WorkerPipeline;
const logs: string[] = [];

const req = (o: Partial<GenerateRequest> = {}): GenerateRequest => ({
  prompt: 'a red apple',
  seed: 3,
  steps: 4,
  guidance: 7,
  width: 64,
  height: 64,
  sampler: 'euler_a',
  count: 2,
  ...o,
});

before(async () => {
  engine = await WorkerPipeline.load(FIXTURE, {
    logger: { info: (_o, m) => logs.push(m ?? ''), warn() {}, error() {} },
    intraOpNumThreads: 1,
  });
});
after(async () => {
  await engine.close();
});

test('the worker loads the model, forwards its log lines and describes it', () => {
  assert.equal(engine.modelName, 'tiny-fp32');
  assert.equal(engine.defaultSize, 64);
  assert.equal(engine.info.hasVaeEncoder, true);
  assert.ok(logs.includes('model loaded'));
});

test('images from the worker equal the in-thread pipeline, byte for byte', async () => {
  const local = await DiffusionPipeline.load(FIXTURE);
  try {
    const a = await engine.generate(req());
    const b = await local.generate(req());
    assert.deepEqual(a.seeds, [3, 4]);
    for (let i = 0; i < 2; i++) assert.deepEqual(a.images[i], b.images[i]);
    assert.ok(a.timings.sessionRunMs > 0);
  } finally {
    await local.close();
  }
});

test('steps and previews arrive through the worker; previews can be off', async () => {
  const seen: StepProgress[] = [];
  await engine.generate(req({ steps: 5 }), { onStep: (p) => seen.push(p) });
  assert.deepEqual(
    seen.map((p) => p.step),
    [1, 2, 3, 4, 5],
  );
  assert.ok(
    seen.every(
      (p) =>
        p.preview!.data instanceof Uint8Array && p.preview!.data.length === p.preview!.width * p.preview!.height * 3,
    ),
  );
  const plain: StepProgress[] = [];
  await engine.generate(req({ steps: 3 }), { onStep: (p) => plain.push(p), previews: false });
  assert.ok(plain.length === 3 && plain.every((p) => p.preview === undefined));
});

test('cancellation crosses the thread and keeps its class', async () => {
  // The slow fixture keeps each step long enough that the abort, sent from this thread after step 2,
  // lands before the worker could finish all 50 steps even on a loaded machine.
  const slow = await WorkerPipeline.load(join(FIXTURE, '..', 'tiny-slow'), { intraOpNumThreads: 1 });
  try {
    const controller = new AbortController();
    await assert.rejects(
      slow.generate(req({ steps: 50, count: 1 }), {
        signal: controller.signal,
        onStep: ({ step }) => step === 2 && controller.abort(),
      }),
      (e: unknown) => e instanceof GenerationCancelledError && e.step >= 2 && e.step < 50 && e.total === 50,
    );
  } finally {
    await slow.close();
  }
  await assert.rejects(engine.generate(req(), { signal: AbortSignal.abort() }), GenerationCancelledError);
  assert.equal((await engine.generate(req({ count: 1 }))).images.length, 1);
});

test('invalid requests come back as InvalidRequestError with the field', async () => {
  await assert.rejects(
    engine.generate(req({ steps: 500 })),
    (e: unknown) => e instanceof InvalidRequestError && e.field === 'steps' && /got 500/.test(e.message),
  );
});

test('concurrent calls run one after another and each gets its own result', async () => {
  const [a, b] = await Promise.all([
    engine.generate(req({ seed: 10, count: 1 })),
    engine.generate(req({ seed: 11, count: 1 })),
  ]);
  assert.deepEqual([a.seeds, b.seeds], [[10], [11]]);
});

test('a broken folder rejects load with ModelLoadError naming the file', async () => {
  await assert.rejects(
    WorkerPipeline.load(join(FIXTURE, 'unet')),
    (e: unknown) => e instanceof ModelLoadError && /model_index\.json/.test(e.file),
  );
});
