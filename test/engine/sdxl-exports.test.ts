// An SDXL export built from diffusers v0.19.3's own UNet2DConditionModel and AutoencoderKL (SDXL's block
// structure and text_time embedding at small widths, random weights) with two CLIP text encoders, in the
// layout optimum writes for stable-diffusion-xl: the engine loads it, generates through it with every
// sampler, and from the same starting latents makes the images of a PyTorch loop over those modules as
// StableDiffusionXLPipeline runs it (test/fixtures/golden/sdxl-tiny.json, written by
// test/fixtures/make-sdxl-exports.py, so CI needs no PyTorch): SDXL base's leading spacing with guidance and
// zeros for the empty negative prompt, a negative prompt at a non-square size, and a Lightning-style
// trailing two-step run without guidance.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { SDXL_LATENT_RGB_FACTORS } from '../../src/engine/model-config.ts';
import { SAMPLERS } from '../../src/engine/types.ts';
import { assertMatchesGolden } from '../support/golden.ts';

const MODEL = join(import.meta.dirname, '..', 'fixtures', 'models', 'sdxl-tiny');
interface Case {
  steps: number;
  guidance: number;
  count: number;
  width: number;
  height: number;
  negative: string | null;
  timestepSpacing: string;
  timesteps: number[];
  start: number[];
  images: string[];
}
const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'golden', 'sdxl-tiny.json'), 'utf8'),
) as { prompt: string; cases: Case[] };

let pipeline: DiffusionPipeline;
let trailing: DiffusionPipeline;
let trailingDir: string;
before(async () => {
  pipeline = await DiffusionPipeline.load(MODEL);
  // the same weights with a Lightning-style scheduler (Euler, trailing spacing)
  trailingDir = mkdtempSync(join(tmpdir(), 'sdxl-trailing-'));
  cpSync(MODEL, trailingDir, { recursive: true });
  const file = join(trailingDir, 'scheduler', 'scheduler_config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), timestep_spacing: 'trailing' }));
  trailing = await DiffusionPipeline.load(trailingDir);
});
after(async () => {
  await Promise.all([pipeline?.close(), trailing?.close()]);
  rmSync(trailingDir, { recursive: true, force: true });
});

test('sdxl-tiny: two tokenizers and text encoders, the U-Net inputs optimum writes for SDXL, the SDXL VAE scaling', () => {
  const m = pipeline.model;
  assert.ok(m.xl, 'loaded as SDXL');
  assert.equal(m.xl.tokenizer2.padId, 0, 'tokenizer_2 pads with "!"');
  assert.notEqual(m.tokenizer.padId, 0, 'tokenizer pads with the end token');
  assert.deepEqual(m.xl.hiddenStates, ['hidden_states.1', 'hidden_states.1'], 'the penultimate of hidden_states.0..2');
  assert.equal(m.xl.forceZerosForEmptyPrompt, true);
  for (const name of ['sample', 'encoder_hidden_states', 'text_embeds', 'time_ids'])
    assert.equal(m.unet.inputs.get(name)!.type, 'float32', name);
  assert.deepEqual(m.unet.inputs.get('timestep')!.shape, [], 'a float scalar timestep, as current optimum writes');
  assert.equal(m.unet.inputs.get('encoder_hidden_states')!.shape[2], 48, '16 + 32 features side by side');
  assert.equal(m.scalingFactor, 0.13025);
  assert.deepEqual(m.latentRgbFactors, SDXL_LATENT_RGB_FACTORS, 'previews map SDXL latents, not SD 1.x ones');
  assert.equal(pipeline.defaultSize, 128);
});

for (const [k, c] of golden.cases.entries()) {
  const what = `${c.steps} euler steps ${c.timestepSpacing}, guidance ${c.guidance}, ${c.width}x${c.height}, ${c.negative ? 'a negative prompt' : 'no negative prompt'}`;
  test(`sdxl-tiny case ${k + 1} (${what}): the PyTorch reference's images within 2/255`, async () => {
    const p = c.timestepSpacing === 'trailing' ? trailing : pipeline;
    const request = {
      prompt: golden.prompt,
      ...(c.negative ? { negativePrompt: c.negative } : {}),
      seed: 0,
      steps: c.steps,
      guidance: c.guidance,
      width: c.width,
      height: c.height,
      sampler: 'euler' as const,
      count: c.count,
    };
    const result = await p.generate(request, { startLatents: Float32Array.from(c.start), reportLatents: true });
    assert.deepEqual(result.latents?.timesteps, c.timesteps, 'the same timesteps');
    assertMatchesGolden(result.images, c.images);
  });
}

test('sdxl-tiny: an empty negative prompt is zeros (force_zeros_for_empty_prompt), a given one is encoded', async () => {
  const base = {
    prompt: golden.prompt,
    seed: 4,
    steps: 2,
    guidance: 6,
    width: 128,
    height: 128,
    sampler: 'euler' as const,
    count: 1,
  };
  const [none, empty, blank, given] = [
    await pipeline.generate(base),
    await pipeline.generate({ ...base, negativePrompt: '' }),
    await pipeline.generate({ ...base, negativePrompt: '   ' }),
    await pipeline.generate({ ...base, negativePrompt: 'blurry' }),
  ];
  const same = (a: typeof none, b: typeof none) => Buffer.from(a.images[0].data).equals(Buffer.from(b.images[0].data));
  assert.ok(same(none, empty) && same(none, blank), 'absent, empty and blank negatives are the same zeros');
  assert.ok(!same(none, given), 'a negative prompt changes the picture');
});

test('sdxl-tiny: every sampler generates through the export, with a batch and guidance, at a non-square size', async () => {
  for (const sampler of SAMPLERS) {
    const r = await pipeline.generate({
      prompt: 'a red fox',
      seed: 3,
      steps: 3,
      guidance: 5,
      width: 160,
      height: 96,
      sampler,
      count: 2,
    });
    assert.equal(r.images.length, 2, sampler);
    assert.equal(r.images[0].width, 160, sampler);
    assert.ok(
      !Buffer.from(r.images[0].data).equals(Buffer.from(r.images[1].data)),
      `${sampler}: two seeds, two images`,
    );
  }
});

test('sdxl-tiny: an SDXL U-Net without the second encoder beside it, or encoders without hidden states, is refused in one line', async () => {
  const { loadModel } = await import('../../src/engine/model.ts');
  const copy = (change: (dir: string) => void) => {
    const dir = mkdtempSync(join(tmpdir(), 'sdxl-broken-'));
    cpSync(MODEL, dir, { recursive: true });
    change(dir);
    return dir;
  };
  const cases: [(dir: string) => void, RegExp][] = [
    [(d) => ['text_encoder_2', 'tokenizer_2'].forEach((f) => rmSync(join(d, f), { recursive: true })), /tokenizer_2/],
    [
      (d) => {
        for (const f of ['text_encoder_2', 'tokenizer_2']) rmSync(join(d, f), { recursive: true });
        writeFileSync(join(d, 'model_index.json'), '{"_class_name": "OnnxStableDiffusionPipeline"}');
      },
      /got an SDXL one/,
    ],
    [
      (d) =>
        cpSync(
          join(import.meta.dirname, '..', 'fixtures', 'models', 'sd2-tiny', 'text_encoder'),
          join(d, 'text_encoder'),
          { recursive: true },
        ),
      /hidden_states/,
    ],
  ];
  for (const [change, why] of cases) {
    const dir = copy(change);
    try {
      await assert.rejects(loadModel(dir), (e: Error) => why.test(e.message) && !e.message.includes('\n'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});
