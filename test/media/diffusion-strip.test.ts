import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import sharp from 'sharp';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { createScheduler } from '../../src/engine/schedulers/index.ts';
import { traceGeneration } from '../../src/media/trace.ts';
import {
  columnStepIndices,
  DiffusionStripError,
  FORWARD_LABEL,
  makeDiffusionStrip,
  REVERSE_LABEL,
  stripFromTrace,
  type DiffusionStrip,
} from '../../src/media/diffusion-strip.ts';
import { drawText, measureText } from '../../src/media/bitmap-font.ts';
import { resizeTo } from '../../src/media/timelapse.ts';
import type { GenerateRequest, RawImage } from '../../src/engine/types.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');
const pipelines = new Map<string, DiffusionPipeline>();
// tiny-int64's latents have a standard deviation of about 5, the nearest of the random fixtures to a
// trained model's ~1; the fp32 fixture's run into the hundreds, which no 1000-step schedule turns into static.
const int64 = (): DiffusionPipeline => pipelines.get('tiny-int64')!;
const fp32 = (): DiffusionPipeline => pipelines.get('tiny-fp32')!;

function req(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    prompt: 'a red apple',
    seed: 7,
    steps: 10,
    guidance: 1,
    width: 64,
    height: 64,
    sampler: 'ddim',
    count: 1,
    ...overrides,
  };
}

function tileAt(strip: DiffusionStrip, row: number, col: number): Uint8Array {
  const { x, y } = strip.tileRects[row][col];
  const { width: tw, height: th } = strip.tile;
  const out = new Uint8Array(tw * th * 3);
  for (let r = 0; r < th; r++)
    out.set(
      strip.image.data.subarray(((y + r) * strip.image.width + x) * 3, ((y + r) * strip.image.width + x + tw) * 3),
      r * tw * 3,
    );
  return out;
}

function corr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ma = 0,
    mb = 0;
  for (let i = 0; i < a.length; i++) {
    ma += a[i];
    mb += b[i];
  }
  ma /= a.length;
  mb /= b.length;
  let ab = 0,
    aa = 0,
    bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) ** 2;
    bb += (b[i] - mb) ** 2;
  }
  return ab / Math.sqrt(aa * bb);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

before(async () => {
  for (const v of ['tiny-int64', 'tiny-fp32'])
    pipelines.set(v, await DiffusionPipeline.load(join(FIXTURES, v), { intraOpNumThreads: 1 }));
});
after(async () => {
  for (const p of pipelines.values()) await p.close();
});

test('the strip has two rows of tiles, the layout it reports, and a PNG of the same picture', async () => {
  const strip = await makeDiffusionStrip(int64(), req());
  assert.equal(strip.columns.length, 6);
  assert.deepEqual(strip.tile, { width: 128, height: 128 });
  const gap = 8;
  assert.equal(strip.image.width, gap + 6 * (128 + gap));
  assert.equal(strip.tileRects.length, 2);
  for (const row of strip.tileRects) assert.equal(row.length, 6);
  for (let c = 0; c < 6; c++) {
    assert.equal(strip.tileRects[0][c].x, gap + c * (128 + gap));
    assert.equal(strip.tileRects[1][c].x, strip.tileRects[0][c].x);
    assert.ok(
      strip.tileRects[1][c].y >= strip.tileRects[0][c].y + 128 + gap,
      'reverse row below the forward row with room for labels',
    );
  }
  assert.ok(strip.image.height >= strip.tileRects[1][0].y + 128);
  const meta = await sharp(strip.png).metadata();
  assert.deepEqual([meta.format, meta.width, meta.height], ['png', strip.image.width, strip.image.height]);
  const decoded = await sharp(strip.png).raw().toBuffer();
  assert.ok(same(new Uint8Array(decoded), strip.image.data));
});

test('timesteps start at 0 and grow to the sampler first (noisiest) timestep', async () => {
  const r = req();
  const strip = await makeDiffusionStrip(int64(), r);
  const ts = strip.columns.map((c) => c.timestep);
  assert.equal(ts[0], 0);
  for (let k = 1; k < ts.length; k++) assert.ok(ts[k] > ts[k - 1], `timesteps ${ts.join(',')}`);
  const scheduler = createScheduler(r.sampler, int64().model.schedulerConfig);
  scheduler.setTimesteps(r.steps);
  assert.equal(ts.at(-1), Math.round(scheduler.timesteps[0]));
  assert.equal(strip.columns.at(-1)!.stepIndex, 0);
  assert.deepEqual(columnStepIndices(10, 5), [8, 6, 4, 2, 0]);
  assert.deepEqual(columnStepIndices(3, 5), [2, 1, 0]);
});

test('the forward row starts with the finished image and ends in static', async () => {
  for (const sampler of ['ddim', 'euler', 'dpmpp_2m_karras'] as const) {
    const r = req({ sampler });
    const plain = await int64().generate(r);
    const strip = await makeDiffusionStrip(int64(), r);
    const posted = await resizeTo(plain.images[0], 128, 128);
    assert.ok(same(tileAt(strip, 0, 0), posted.data), `${sampler}: forward t=0 is the image`);
    assert.ok(same(tileAt(strip, 1, 0), posted.data), `${sampler}: reverse t=0 is the image`);
    // the clean image fades as t grows, in the latent and in the pixels
    const clean = strip.columns[0].forwardLatent;
    const latentCorr = strip.columns.map((c) => corr(c.forwardLatent, clean));
    for (let k = 1; k < latentCorr.length; k++)
      assert.ok(latentCorr[k] < latentCorr[k - 1], `${sampler}: ${latentCorr.map((v) => v.toFixed(2)).join(' ')}`);
    assert.ok(
      latentCorr.at(-1)! < 0.5,
      `${sampler}: last forward latent still ${latentCorr.at(-1)!.toFixed(2)} correlated with the image`,
    );
    const pixelCorr = corr(tileAt(strip, 0, 5), posted.data);
    assert.ok(pixelCorr < 0.5, `${sampler}: last forward tile ${pixelCorr.toFixed(2)} correlated with the image`);
  }
});

test('the reverse row shows the sampler x0 prediction decoded by the VAE at the matching step', async () => {
  const r = req({ count: 2, seed: 3 });
  const trace = await traceGeneration(int64(), r);
  const strip = await stripFromTrace(int64(), trace, { index: 1, columns: 4 });
  const { channels, height, width } = trace.latent;
  const per = channels * height * width;
  for (let c = 1; c < strip.columns.length; c++) {
    const col = strip.columns[c];
    const step = trace.steps.find((s) => s.step === col.stepIndex + 1)!;
    assert.equal(Math.round(step.timestep), col.timestep);
    const [expected] = await int64().decodeLatents(step.x0.slice(per, 2 * per), 1, height, width);
    assert.ok(same(col.reverse.data, expected.data), `column ${c}`);
  }
  // image 1 of the batch, not image 0
  assert.ok(same(strip.columns[0].forward.data, trace.result.images[1].data));
  assert.ok(!same(strip.columns[0].forward.data, trace.result.images[0].data));
  // the model's first guess (from static) is not yet the result
  assert.ok(!same(strip.columns.at(-1)!.reverse.data, strip.columns[0].reverse.data));
});

test('labels are drawn with the built-in font and the caption is two plain sentences', async () => {
  const strip = await makeDiffusionStrip(fp32(), req({ sampler: 'euler_a', steps: 8 }));
  // the top label band holds exactly the forward label's pixels, drawn at scale 2
  const probe: RawImage = {
    width: strip.image.width,
    height: strip.tileRects[0][0].y,
    data: new Uint8Array(strip.image.width * strip.tileRects[0][0].y * 3),
  };
  probe.data.set(strip.image.data.subarray(0, probe.data.length));
  const lit = (img: RawImage): number => {
    let n = 0;
    for (let i = 0; i < img.data.length; i += 3)
      if (img.data[i] === 232 && img.data[i + 1] === 232 && img.data[i + 2] === 232) n++;
    return n;
  };
  const reference: RawImage = { width: probe.width, height: probe.height, data: new Uint8Array(probe.data.length) };
  drawText(reference, FORWARD_LABEL, 8, 8, 2, [232, 232, 232]);
  assert.ok(lit(reference) > 100);
  assert.equal(lit(probe), lit(reference));
  assert.deepEqual(measureText(REVERSE_LABEL, 1), { width: REVERSE_LABEL.length * 6 - 1, height: 7 });

  const sentences = strip.caption.split(/(?<=\.)\s+/);
  assert.equal(sentences.length, 2, strip.caption);
  assert.match(strip.caption, /euler_a sampler took 8 steps/);
  assert.match(strip.caption, new RegExp(`t=${strip.columns.at(-1)!.timestep} only static`));
});

test('bad options are refused with what was expected', async () => {
  await assert.rejects(
    makeDiffusionStrip(int64(), req(), { index: 1 }),
    (e: unknown) => e instanceof DiffusionStripError && /between 0 and 0, got 1/.test(e.message),
  );
  await assert.rejects(makeDiffusionStrip(int64(), req(), { columns: 1 }), DiffusionStripError);
});
