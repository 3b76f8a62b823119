import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { guidanceEmbedding } from '../../src/engine/guidance-embedding.ts';
import { GenerationCancelledError, InvalidRequestError } from '../../src/engine/errors.ts';
import { encodePng } from '../../src/engine/images.ts';
import { SAMPLERS, type GenerateRequest, type StepProgress } from '../../src/engine/types.ts';
import type { EngineLogger } from '../../src/engine/logger.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const VARIANTS = ['tiny-fp32', 'tiny-int64', 'tiny-fp16'] as const;
const pipelines = new Map<string, DiffusionPipeline>();
const warnings: string[] = [];
const logger: EngineLogger = { info() {}, warn: (_o, msg) => warnings.push(msg ?? ''), error() {} };

function req(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    prompt: 'a red apple',
    negativePrompt: 'blurry',
    seed: 42,
    steps: 4,
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

before(async () => {
  for (const v of VARIANTS)
    pipelines.set(v, await DiffusionPipeline.load(join(FIXTURES, v), { logger, intraOpNumThreads: 1 }));
});
after(async () => {
  for (const p of pipelines.values()) await p.close();
});

const fp32 = () => pipelines.get('tiny-fp32')!;

test('every fixture variant generates with every sampler', async () => {
  for (const v of VARIANTS) {
    for (const sampler of SAMPLERS) {
      const result = await pipelines.get(v)!.generate(req({ sampler, count: 2 }));
      assert.equal(result.images.length, 2, `${v} ${sampler}`);
      assert.deepEqual(result.seeds, [42, 43]);
      assert.equal(result.model, v);
      const img = result.images[0];
      assert.deepEqual([img.width, img.height, img.data.length], [64, 64, 64 * 64 * 3]);
      // random weights saturate some samplers, but never to one constant fill (NaN latents would give all 0)
      assert.ok(new Set(img.data).size > 1, `${v} ${sampler}: expected more than one pixel value`);
      assert.ok(result.timings.sessionRunMs > 0 && result.timings.totalMs >= result.timings.sessionRunMs);
    }
  }
});

test('non-square sizes keep height before width', async () => {
  const { images } = await pipelines.get('tiny-int64')!.generate(req({ width: 96, height: 32 }));
  assert.deepEqual([images[0].width, images[0].height], [96, 32]);
});

test('the same seed gives bit-identical images; another seed does not', async () => {
  for (const v of VARIANTS) {
    const a = await pipelines.get(v)!.generate(req());
    const b = await pipelines.get(v)!.generate(req());
    const c = await pipelines.get(v)!.generate(req({ seed: 43 }));
    assert.ok(same(a.images[0].data, b.images[0].data), v);
    assert.ok(!same(a.images[0].data, c.images[0].data), v);
  }
});

test('image i of a count-4 batch equals a single image with seed+i (ancestral noise included)', async () => {
  for (const v of VARIANTS) {
    const batch = await pipelines.get(v)!.generate(req({ count: 4, seed: 0xfffffffe }));
    assert.deepEqual(batch.seeds, [0xfffffffe, 0xffffffff, 0, 1]);
    for (let i = 0; i < 4; i++) {
      const single = await pipelines.get(v)!.generate(req({ seed: batch.seeds[i] }));
      assert.ok(same(batch.images[i].data, single.images[0].data), `${v} image ${i}`);
    }
  }
});

test('variation strength 0 equals the base image; a real strength changes it a little', async () => {
  const base = await fp32().generate(req({ sampler: 'euler' }));
  const zero = await fp32().generate(req({ sampler: 'euler', variation: { seed: 7, strength: 0 } }));
  const subtle = await fp32().generate(req({ sampler: 'euler', variation: { seed: 7, strength: 0.2 } }));
  const other = await fp32().generate(req({ sampler: 'euler', seed: 7 }));
  assert.ok(same(base.images[0].data, zero.images[0].data));
  assert.ok(!same(base.images[0].data, subtle.images[0].data));
  const dist = (a: Uint8Array, b: Uint8Array) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0);
  assert.ok(dist(base.images[0].data, subtle.images[0].data) < dist(base.images[0].data, other.images[0].data));
});

test('onStep is called once per step with previews, and without them when previews are off', async () => {
  for (const v of VARIANTS) {
    const seen: StepProgress[] = [];
    const withPreviews = await pipelines.get(v)!.generate(req({ steps: 5, count: 2 }), { onStep: (p) => seen.push(p) });
    assert.deepEqual(
      seen.map((p) => p.step),
      [1, 2, 3, 4, 5],
    );
    assert.ok(
      seen.every((p) => p.total === 5 && p.preview && p.preview.data.length === p.preview.width * p.preview.height * 3),
    );
    const lastPreview = seen[4].preview!;
    // two images side by side: TAESD previews are full size, linear ones latent size
    const expectedWidth = v === 'tiny-fp32' ? 128 : 2 * (64 / pipelines.get(v)!.model.vaeScaleFactor);
    assert.equal(lastPreview.width, expectedWidth, v);
    const plain: StepProgress[] = [];
    const without = await pipelines
      .get(v)!
      .generate(req({ steps: 5, count: 2 }), { onStep: (p) => plain.push(p), previews: false });
    assert.equal(plain.length, 5);
    assert.ok(plain.every((p) => p.preview === undefined));
    assert.ok(same(withPreviews.images[1].data, without.images[1].data), 'previews must not change the result');
  }
});

test('with reportLatents: true, each step reports its timestep, latents and x0, and the result its start and final latents', async () => {
  const r = req({ steps: 4, count: 2, sampler: 'euler' });
  const seen: StepProgress[] = [];
  const result = await fp32().generate(r, { reportLatents: true, previews: false, onStep: (p) => seen.push(p) });
  const plain = await fp32().generate(r);
  assert.ok(same(result.images[1].data, plain.images[1].data), 'reporting changes nothing');
  const run = result.latents!;
  const per = run.channels * run.height * run.width;
  assert.equal(seen.length, 4);
  for (const [k, p] of seen.entries()) {
    assert.equal(p.timestep, run.timesteps[k]);
    assert.equal(p.latents!.length, 2 * per);
    assert.equal(p.x0!.length, 2 * per);
  }
  assert.deepEqual(seen.at(-1)!.latents, run.final, 'the last step leaves the latents the VAE decodes');
  assert.equal(run.start.length, 2 * per);
  const decoded = await fp32().decodeLatents(run.final, 2, run.height, run.width);
  assert.ok(same(decoded[0].data, result.images[0].data), 'decodeLatents(final) is the result');
  const quiet: StepProgress[] = [];
  const without = await fp32().generate(r, { onStep: (p) => quiet.push(p) });
  assert.equal(without.latents, undefined);
  assert.ok(quiet.every((p) => p.latents === undefined && p.x0 === undefined));
});

test('the linear preview decodes x0 with the model factors', async () => {
  const p = pipelines.get('tiny-int64')!;
  let preview: StepProgress['preview'];
  await p.generate(req({ steps: 3, sampler: 'euler' }), { onStep: (s) => (preview = s.preview) });
  assert.deepEqual([preview!.width, preview!.height], [16, 16]);
  assert.ok(new Set(preview!.data).size > 4);
});

test('an AbortSignal stops the run between steps with GenerationCancelledError', async () => {
  const controller = new AbortController();
  const steps: number[] = [];
  await assert.rejects(
    fp32().generate(req({ steps: 20 }), {
      signal: controller.signal,
      onStep: ({ step }) => {
        steps.push(step);
        if (step === 3) controller.abort();
      },
    }),
    (error: unknown) => error instanceof GenerationCancelledError && error.step === 3 && error.total === 20,
  );
  assert.deepEqual(steps, [1, 2, 3]);
  // an already aborted signal stops before the first step
  await assert.rejects(fp32().generate(req(), { signal: AbortSignal.abort() }), GenerationCancelledError);
  // and the pipeline still works afterwards
  assert.equal((await fp32().generate(req())).images.length, 1);
});

test('bad requests are refused with InvalidRequestError naming the problem', async () => {
  const cases: [Partial<GenerateRequest>, string, RegExp][] = [
    [{ prompt: '   ' }, 'prompt', /non-empty prompt/],
    [{ sampler: 'plms' as never }, 'sampler', /expected sampler to be one of .*got "plms"/],
    [{ steps: 0 }, 'steps', /expected steps between 1 and 150, got 0/],
    [{ steps: 500 }, 'steps', /expected steps between 1 and 150, got 500/],
    [{ steps: 2.5 }, 'steps', /got 2.5/],
    [{ width: 70 }, 'width', /expected width to be a multiple of 8, got 70/],
    [{ height: 16 }, 'height', /expected height between 32 and 2048, got 16/],
    [{ width: 4096 }, 'width', /between 32 and 2048, got 4096/],
    [{ count: 5 }, 'count', /expected count between 1 and 4, got 5/],
    [{ count: 0 }, 'count', /got 0/],
    [{ guidance: -1 }, 'guidance', /expected guidance between 0 and 30, got -1/],
    [{ guidance: NaN }, 'guidance', /got NaN/],
    [{ seed: -1 }, 'seed', /expected seed to be an integer between 0 and 4294967295, got -1/],
    [{ seed: 2 ** 32 }, 'seed', /got 4294967296/],
    [
      { variation: { seed: 1, strength: 1.5 } },
      'variation.strength',
      /expected variation strength between 0 and 1, got 1.5/,
    ],
    [{ init: { imagePath: '/no/such.png', strength: 0.5 } }, 'init.imagePath', /expected an existing image file/],
  ];
  for (const [overrides, field, message] of cases) {
    await assert.rejects(fp32().generate(req(overrides)), (error: unknown) => {
      assert.ok(error instanceof InvalidRequestError, `${field}: expected InvalidRequestError, got ${String(error)}`);
      assert.equal(error.field, field);
      assert.match(error.message, message);
      return true;
    });
  }
  // the int64 fixture's VAE factor is 4, so 36 is refused as not a multiple of 8 either way
  await assert.rejects(pipelines.get('tiny-int64')!.generate(req({ width: 36 })), /multiple of 8/);
  // no VAE encoder: image-to-image is refused up front
  await assert.rejects(
    pipelines.get('tiny-fp16')!.generate(req({ init: { imagePath: __filename(), strength: 0.5 } })),
    (e: unknown) => e instanceof InvalidRequestError && /VAE encoder/.test(e.message),
  );
});

function __filename(): string {
  return new URL(import.meta.url).pathname;
}

test('a prompt over the token limit is truncated with a warning, not refused', async () => {
  warnings.length = 0;
  const long = Array.from({ length: 120 }, (_, i) => `word${i}`).join(' ');
  const result = await fp32().generate(req({ prompt: long }));
  assert.equal(result.images.length, 1);
  assert.ok(warnings.some((w) => /truncated/.test(w)));
});

test('guidance <= 1 skips the unconditional pass and still works', async () => {
  const a = await fp32().generate(req({ guidance: 1 }));
  const b = await fp32().generate(req({ guidance: 1, negativePrompt: 'something else entirely' }));
  // without CFG the negative prompt plays no part
  assert.ok(same(a.images[0].data, b.images[0].data));
  const c = await fp32().generate(req({ guidance: 7 }));
  assert.ok(!same(a.images[0].data, c.images[0].data));
});

test('image-to-image starts from the source image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'img2img-'));
  try {
    const src = await fp32().generate(req({ seed: 5 }));
    const path = join(dir, 'src.png');
    writeFileSync(path, await encodePng(src.images[0], { prompt: 'x' }));
    const seen: number[] = [];
    const low = await fp32().generate(req({ seed: 9, steps: 10, init: { imagePath: path, strength: 0.3 } }), {
      onStep: (p) => seen.push(p.total),
    });
    assert.ok(seen.length === 3 && seen.every((t) => t === 3), `expected 3 of 10 steps, got ${seen}`);
    const high = await fp32().generate(req({ seed: 9, steps: 10, init: { imagePath: path, strength: 1 } }));
    assert.equal(low.images[0].width, 64);
    assert.ok(!same(low.images[0].data, high.images[0].data));
    // the int64 fixture's encoder writes latent_sample (older exports)
    const other = await pipelines.get('tiny-int64')!.generate(req({ init: { imagePath: path, strength: 0.5 } }));
    assert.equal(other.images.length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('LCM guidance embedding matches diffusers for a known case', () => {
  const e = guidanceEmbedding(1, 4, 2); // w = 0: sin 0 = 0, cos 0 = 1
  assert.deepEqual([...e], [0, 0, 1, 1, 0, 0, 1, 1]);
  const f = guidanceEmbedding(1.001, 4, 1); // w*1000 = 1: freqs [1, 1e-4]
  assert.ok(Math.abs(f[0] - Math.sin(1)) < 1e-4 && Math.abs(f[1] - Math.sin(1e-4)) < 1e-6);
});

test('the event loop keeps turning while a generation runs', async () => {
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  await fp32().generate(req({ steps: 30, count: 4 }), { onStep: () => {} });
  clearInterval(timer);
  assert.ok(ticks > 0, 'timers ran during generation');
});

test('startLatents replaces the seeded starting noise (as diffusers pipelines take `latents`); a wrong size is refused', async () => {
  const { NoiseStream } = await import('../../src/engine/noise.ts');
  const r = req({ steps: 3, count: 2, sampler: 'euler_a', seed: 40 });
  const per = 4 * (r.height / 8) * (r.width / 8);
  const given = new Float32Array(2 * per);
  given.set(new NoiseStream(40).next(per), 0);
  given.set(new NoiseStream(41).next(per), per);
  const seeded = await fp32().generate(r);
  const supplied = await fp32().generate(r, { startLatents: given });
  assert.ok(same(seeded.images[1].data, supplied.images[1].data), 'the seed streams given as latents: the same images');
  const other = await fp32().generate(r, { startLatents: given.map((v) => -v) });
  assert.ok(!same(other.images[0].data, seeded.images[0].data));
  await assert.rejects(
    fp32().generate(r, { startLatents: new Float32Array(per) }),
    /expected starting latents of 2×4×8×8 = 512 values, got 256/,
  );
});
