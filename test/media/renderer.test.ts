import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { createMediaRenderer, mediaRendererFor } from '../../src/media/renderer.ts';
import { MediaTooLargeError } from '../../src/media/errors.ts';
import type { GenerateRequest, StepProgress } from '../../src/engine/types.ts';

let pipeline: DiffusionPipeline;
before(async () => {
  pipeline = await DiffusionPipeline.load(join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-fp32'), {
    intraOpNumThreads: 1,
  });
});
after(() => pipeline.close());

const request: GenerateRequest = {
  prompt: 'a blue fish',
  seed: 3,
  steps: 6,
  guidance: 5,
  width: 64,
  height: 64,
  sampler: 'euler',
  count: 1,
};

test('generateWithTimelapse: the same result and progress as generate(), plus a film of that run', async () => {
  const media = createMediaRenderer(pipeline, { maxFrames: 5, displaySide: 128 });
  const plainSteps: StepProgress[] = [];
  const plain = await pipeline.generate(request, { onStep: (p) => plainSteps.push(p) });
  const steps: StepProgress[] = [];
  const { result, timelapse } = await media.generateWithTimelapse(request, { onStep: (p) => steps.push(p) });
  assert.ok(Buffer.from(result.images[0].data).equals(Buffer.from(plain.images[0].data)));
  assert.deepEqual(
    steps.map((s) => s.step),
    plainSteps.map((s) => s.step),
  );
  assert.equal(timelapse.name, 'timelapse.webp');
  const meta = await sharp(timelapse.data, { animated: true }).metadata();
  assert.deepEqual([meta.format, meta.pages, meta.width, meta.pageHeight], ['webp', 5, 128, 128]);
  assert.match(timelapse.caption, /^5 frames: .* 3 of the euler sampler's 6 steps/);
});

test('timelapse and diffusion files with their captions, within the byte limit', async () => {
  const media = createMediaRenderer(pipeline);
  const film = await media.timelapse(request, { byteLimit: 40_000 });
  assert.ok(film.data.length <= 40_000);
  assert.equal((await sharp(film.data, { animated: true }).metadata()).format, 'webp');
  const strip = await media.diffusion({ ...request, count: 2 }, { index: 1 });
  assert.equal(strip.name, 'diffusion.png');
  assert.equal((await sharp(strip.data).metadata()).format, 'png');
  assert.match(strip.caption, /Top row: .*\. Bottom row, read right to left: .*\.$/);
  const small = await media.diffusion(request, { byteLimit: Math.floor(strip.data.length * 0.6) });
  assert.ok(small.data.length <= strip.data.length * 0.6);
  assert.ok((await sharp(small.data).metadata()).width! < (await sharp(strip.data).metadata()).width!);
  await assert.rejects(media.diffusion(request, { byteLimit: 500 }), MediaTooLargeError);
});

test('mediaRendererFor: a renderer for an engine that reports its latents, nothing for one that only generates', async () => {
  const media = mediaRendererFor(pipeline)!;
  assert.ok(media);
  assert.equal((await media.timelapse(request)).name, 'timelapse.webp');
  assert.equal(mediaRendererFor({ modelName: 'x', generate: (r, o) => pipeline.generate(r, o) }), undefined);
  assert.equal(mediaRendererFor(undefined), undefined);
});

test('over the off-thread engine (WorkerPipeline, latents reported across the thread) the files are the same, with progress for --video', async () => {
  const { WorkerPipeline } = await import('../../src/engine/worker-pipeline.ts');
  const worker = await WorkerPipeline.load(join(import.meta.dirname, '..', 'fixtures', 'models', 'tiny-fp32'), {
    intraOpNumThreads: 1,
  });
  try {
    const remote = mediaRendererFor(worker)!;
    const local = createMediaRenderer(pipeline);
    const options = { byteLimit: 60_000 };
    const [a, b] = [await local.timelapse(request, options), await remote.timelapse(request, options)];
    assert.ok(Buffer.isBuffer(b.data));
    assert.ok(a.data.equals(b.data), 'same film');
    assert.equal(b.caption, a.caption);
    const [s1, s2] = [
      await local.diffusion({ ...request, count: 2 }, { index: 1 }),
      await remote.diffusion({ ...request, count: 2 }, { index: 1 }),
    ];
    assert.ok(s1.data.equals(s2.data), 'same strip');
    const steps: number[] = [];
    const video = await remote.generateWithTimelapse(request, { onStep: (p) => steps.push(p.step) });
    const plain = await pipeline.generate(request);
    assert.ok(Buffer.from(video.result.images[0].data).equals(Buffer.from(plain.images[0].data)));
    assert.deepEqual(steps, [1, 2, 3, 4, 5, 6]);
    assert.ok(video.timelapse.data.equals((await local.generateWithTimelapse(request)).timelapse.data));
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(
      remote.timelapse(request, { signal: controller.signal }),
      (e: unknown) => (e as Error).name === 'GenerationCancelledError',
    );
  } finally {
    await worker.close();
  }
});
