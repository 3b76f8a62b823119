import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { MediaTooLargeError } from '../../src/media/errors.ts';
import { GenerationCancelledError } from '../../src/engine/errors.ts';
import { makeGrid } from '../../src/engine/images.ts';
import { traceGeneration } from '../../src/media/trace.ts';
import { encodeTimelapse, makeTimelapse, pickSteps, thin, timelapseFrames } from '../../src/media/timelapse.ts';
import type { GenerateRequest, RawImage, StepProgress } from '../../src/engine/types.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const VARIANTS = ['tiny-fp32', 'tiny-int64', 'tiny-fp16'] as const;
const pipelines = new Map<string, DiffusionPipeline>();
const fp32 = (): DiffusionPipeline => pipelines.get('tiny-fp32')!;

function req(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    prompt: 'a red apple',
    negativePrompt: 'blurry',
    seed: 42,
    steps: 12,
    guidance: 7,
    width: 64,
    height: 64,
    sampler: 'euler_a',
    count: 1,
    ...overrides,
  };
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

function psnr(a: Uint8Array, b: Uint8Array): number {
  assert.equal(a.length, b.length);
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  const mse = se / a.length;
  return mse === 0 ? Infinity : 10 * Math.log10((255 * 255) / mse);
}

/** Every page of an animated WebP as RGB. */
async function pages(webp: Buffer): Promise<{ frames: RawImage[]; delay: number[]; loop: number | undefined }> {
  const meta = await sharp(webp, { animated: true }).metadata();
  const { data, info } = await sharp(webp, { animated: true })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const h = meta.pageHeight!;
  const per = info.width * h * 3;
  const frames = Array.from({ length: meta.pages! }, (_, i) => ({
    width: info.width,
    height: h,
    data: new Uint8Array(data.subarray(i * per, (i + 1) * per)),
  }));
  return { frames, delay: meta.delay ?? [], loop: meta.loop };
}

before(async () => {
  for (const v of VARIANTS) pipelines.set(v, await DiffusionPipeline.load(join(FIXTURES, v), { intraOpNumThreads: 1 }));
});
after(async () => {
  for (const p of pipelines.values()) await p.close();
});

test('recording a run leaves its images exactly as a plain generate() makes them', async () => {
  for (const v of VARIANTS) {
    for (const sampler of ['euler_a', 'dpmpp_2m_karras', 'lcm'] as const) {
      const r = req({ sampler, count: 2, steps: 6 });
      const plain = await pipelines.get(v)!.generate(r);
      const trace = await traceGeneration(pipelines.get(v)!, r);
      assert.equal(trace.result.images.length, 2);
      for (let i = 0; i < 2; i++)
        assert.ok(same(plain.images[i].data, trace.result.images[i].data), `${v} ${sampler} image ${i}`);
      assert.equal(trace.steps.length, 6);
      assert.deepEqual(
        trace.steps.map((s) => s.step),
        [1, 2, 3, 4, 5, 6],
      );
      const per = trace.latent.channels * trace.latent.height * trace.latent.width;
      assert.equal(trace.start.length, 2 * per);
      assert.equal(trace.final.length, 2 * per);
      // timesteps fall as the sampler goes
      for (let k = 1; k < trace.steps.length; k++)
        assert.ok(trace.steps[k].timestep < trace.steps[k - 1].timestep, `${v} ${sampler} timesteps`);
    }
  }
});

test('a recorded run reports the same progress and previews as a plain run (TAESD and linear map)', async () => {
  for (const v of ['tiny-fp32', 'tiny-int64'] as const) {
    const r = req({ steps: 4, count: 2 });
    const plain: StepProgress[] = [];
    await pipelines.get(v)!.generate(r, { onStep: (p) => plain.push(p) });
    const traced: StepProgress[] = [];
    await traceGeneration(pipelines.get(v)!, r, { onStep: (p) => traced.push(p) });
    assert.equal(traced.length, plain.length);
    for (let k = 0; k < plain.length; k++) {
      assert.equal(traced[k].step, plain[k].step);
      assert.equal(traced[k].total, plain[k].total);
      assert.ok(plain[k].preview && traced[k].preview, `${v} step ${k + 1} has a preview`);
      assert.deepEqual(
        [traced[k].preview!.width, traced[k].preview!.height],
        [plain[k].preview!.width, plain[k].preview!.height],
      );
      assert.ok(same(traced[k].preview!.data, plain[k].preview!.data), `${v} preview ${k + 1}`);
    }
    const quiet: StepProgress[] = [];
    await traceGeneration(pipelines.get(v)!, r, { onStep: (p) => quiet.push(p), previews: false });
    assert.equal(quiet.length, 4);
    assert.ok(quiet.every((p) => p.preview === undefined));
  }
});

test('the last frame is the image a plain run of the same request posts; the first is the starting noise', async () => {
  const r = req();
  const plain = await fp32().generate(r);
  const trace = await traceGeneration(fp32(), r);
  const frames = await timelapseFrames(fp32(), trace, 24);
  assert.equal(frames.length, 13, 'static + x0 after steps 1..11 + final');
  assert.deepEqual(
    frames.map((f) => f.step),
    [0, ...Array.from({ length: 11 }, (_, i) => i + 1), 13],
  );
  const last = frames[frames.length - 1].image;
  assert.ok(same(last.data, plain.images[0].data));
  // the film moves: no two neighbouring frames are the same picture
  for (let k = 1; k < frames.length; k++)
    assert.ok(!same(frames[k - 1].image.data, frames[k].image.data), `frames ${k - 1} and ${k}`);
  // the starting noise is far from the result, the frame before the end is close to it
  assert.ok(psnr(frames[0].image.data, last.data) < psnr(frames[frames.length - 2].image.data, last.data));
});

test('a batch makes a film of grids ending in the posted grid', async () => {
  const r = req({ count: 3, steps: 5, seed: 9 });
  const plain = await pipelines.get('tiny-int64')!.generate(r);
  const trace = await traceGeneration(pipelines.get('tiny-int64')!, r);
  const frames = await timelapseFrames(pipelines.get('tiny-int64')!, trace, 24);
  const grid = makeGrid(plain.images);
  for (const f of frames) assert.deepEqual([f.image.width, f.image.height], [grid.width, grid.height]);
  assert.ok(same(frames[frames.length - 1].image.data, grid.data));
  // one image of the batch: its own film, ending in that image
  const single = await timelapseFrames(pipelines.get('tiny-int64')!, trace, 24, 2);
  assert.equal(single.length, frames.length);
  assert.ok(same(single[single.length - 1].image.data, plain.images[2].data));
  assert.deepEqual([single[0].image.width, single[0].image.height], [64, 64]);
  await assert.rejects(timelapseFrames(pipelines.get('tiny-int64')!, trace, 24, 3), RangeError);
});

test('the animated WebP decodes: one page per frame, loops, holds the end, last page matches the posted image', async () => {
  const r = req({ seed: 5 });
  const plain = await fp32().generate(r);
  const film = await makeTimelapse(fp32(), r, { maxFrames: 8 });
  assert.equal(film.frameSteps.length, 8);
  assert.equal(film.frameSteps[0], 0);
  assert.equal(film.frameSteps.at(-1), 13);
  assert.equal(film.totalSteps, 12);
  assert.deepEqual([film.width, film.height], [512, 512]);
  const { frames, delay, loop } = await pages(film.webp);
  assert.equal(frames.length, 8);
  assert.equal(loop, 0);
  assert.equal(delay.length, 8);
  assert.ok(delay.at(-1)! > delay[1], 'the final image is held longer');
  // As the front end shows it: a nearest-neighbour upscale of the native image.
  const native = plain.images[0];
  const posted = {
    data: await sharp(native.data, { raw: { width: native.width, height: native.height, channels: 3 } })
      .resize(512, 512, { kernel: 'nearest' })
      .raw()
      .toBuffer(),
  };
  const lastQuality = psnr(frames.at(-1)!.data, posted.data);
  assert.ok(lastQuality > 20, `last page vs posted image: ${lastQuality.toFixed(1)} dB`);
  assert.ok(lastQuality > psnr(frames[0].data, posted.data) + 5, 'the first page is not the result');
});

test('the step picker and the frame thinner keep the ends and space the rest evenly', () => {
  assert.deepEqual(pickSteps(12, 24), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(pickSteps(50, 6), [1, 17, 33, 49]);
  assert.deepEqual(pickSteps(1, 24), []);
  assert.deepEqual(pickSteps(30, 2), []);
  assert.deepEqual(thin([0, 1, 2, 3, 4, 5, 6, 7, 8], 3), [0, 4, 8]);
  assert.deepEqual(thin([0, 1, 2], 5), [0, 1, 2]);
  assert.throws(() => thin([0, 1, 2], 1), RangeError);
});

test('the byte limit is respected by dropping frames, then shrinking; too small a limit is a clear error', async () => {
  const r = req({ steps: 20, seed: 11 });
  const trace = await traceGeneration(fp32(), r);
  const frames = await timelapseFrames(fp32(), trace, 24);
  const full = await encodeTimelapse(frames, trace.total);
  assert.equal(full.frameSteps.length, 21);
  const limit = Math.floor(full.webp.length / 3);
  const fitted = await encodeTimelapse(frames, trace.total, { byteLimit: limit });
  assert.ok(fitted.webp.length <= limit, `${fitted.webp.length} > ${limit}`);
  assert.ok(fitted.frameSteps.length < 21 && fitted.frameSteps.length >= 2);
  assert.equal(fitted.frameSteps[0], 0);
  assert.equal(fitted.frameSteps.at(-1), 21);
  const { frames: decoded } = await pages(fitted.webp);
  assert.equal(decoded.length, fitted.frameSteps.length);

  const tight = await encodeTimelapse(frames, trace.total, { byteLimit: 6000 });
  assert.ok(tight.webp.length <= 6000);
  assert.ok(tight.width < 512, `expected a smaller size, got ${tight.width}`);

  await assert.rejects(
    encodeTimelapse(frames, trace.total, { byteLimit: 100 }),
    (e: unknown) => e instanceof MediaTooLargeError && /timelapse .*at most 100 bytes/.test(e.message),
  );
});

test('a cancelled timelapse stops with the engine cancellation error', async () => {
  const controller = new AbortController();
  controller.abort();
  await assert.rejects(makeTimelapse(fp32(), req(), { signal: controller.signal }), GenerationCancelledError);
  await assert.rejects(makeTimelapse(fp32(), req(), { maxFrames: 1 }), RangeError);
});
