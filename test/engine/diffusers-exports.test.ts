// Exports built from diffusers' own model classes (UNet2DConditionModel and AutoencoderKL of diffusers
// v0.10.2, random weights) in optimum's layout, for SD 1.5 (its block structure at small widths, and its
// --fp16 form: float16 weights and inputs/outputs) and SD 2.x (v_prediction, linear projections, upcast
// attention, a 1024-wide text encoder): the engine loads each, generates through it with every sampler,
// and, from the same starting latents, makes the same images as a PyTorch reference loop over those
// modules (test/fixtures/golden/<name>.json, written by test/fixtures/make-diffusers-exports.py, so CI
// needs no PyTorch).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { SAMPLERS } from '../../src/engine/types.ts';
import { assertMatchesGolden } from '../support/golden.ts';

const MODELS = join(import.meta.dirname, '..', 'fixtures', 'models');
interface Golden {
  prompt: string;
  negative: string;
  size: number;
  cases: { steps: number; guidance: number; count: number; start: number[]; images: string[] }[];
}
const goldenFile = (name: string) =>
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'golden', `${name}.json`), 'utf8')) as Golden;

const pipelines = new Map<string, DiffusionPipeline>();
const VARIANTS = [
  { name: 'sd15-tiny', golden: 'sd15-tiny', float: 'float32', prediction: 'epsilon', hidden: 16 },
  { name: 'sd15-tiny-fp16', golden: 'sd15-tiny', float: 'float16', prediction: 'epsilon', hidden: 16 },
  // SD 2.x: v_prediction, linear projections, upcast attention, a 1024-wide text encoder, 128 px native
  { name: 'sd2-tiny', golden: 'sd2-tiny', float: 'float32', prediction: 'v_prediction', hidden: 1024 },
] as const;
before(async () => {
  for (const v of VARIANTS) pipelines.set(v.name, await DiffusionPipeline.load(join(MODELS, v.name)));
});
after(async () => {
  for (const p of pipelines.values()) await p.close();
});

for (const variant of VARIANTS) {
  const pipeline = () => pipelines.get(variant.name)!;
  const golden = goldenFile(variant.golden);

  test(`${variant.name}: optimum's names and types (int32 input_ids, int64 timestep, ${variant.float} sample, out_sample, latent_sample, latent_parameters)`, () => {
    const m = pipeline().model;
    assert.equal(m.textEncoder.inputs.get('input_ids')!.type, 'int32');
    assert.equal(m.unet.inputs.get('timestep')!.type, 'int64');
    assert.equal(m.unet.inputs.get('sample')!.type, variant.float);
    assert.ok(m.unet.outputs.has('out_sample'));
    assert.ok(m.vaeDecoder.inputs.has('latent_sample'));
    assert.ok(m.vaeEncoder!.outputs.has('latent_parameters'));
    assert.equal(pipeline().defaultSize, golden.size, 'the native size from unet sample_size x the VAE factor');
    assert.equal(m.schedulerConfig.predictionType, variant.prediction);
    assert.equal(m.unet.inputs.get('encoder_hidden_states')!.shape[2] ?? variant.hidden, variant.hidden);
  });

  for (const [k, c] of golden.cases.entries()) {
    test(`${variant.name} case ${k + 1} (${c.steps} euler steps, guidance ${c.guidance}, batch ${c.count}): the PyTorch reference's images within 2/255`, async () => {
      const request = {
        prompt: golden.prompt,
        negativePrompt: golden.negative,
        seed: 0,
        steps: c.steps,
        guidance: c.guidance,
        width: golden.size,
        height: golden.size,
        sampler: 'euler' as const,
        count: c.count,
      };
      const result = await pipeline().generate(request, { startLatents: Float32Array.from(c.start) });
      assertMatchesGolden(result.images, c.images);
    });
  }

  test(`${variant.name}: every sampler generates through the export, with a batch and guidance`, async () => {
    for (const sampler of SAMPLERS) {
      const r = await pipeline().generate({
        prompt: 'a red fox',
        seed: 3,
        steps: 3,
        guidance: 5,
        width: 64,
        height: 64,
        sampler,
        count: 2,
      });
      assert.equal(r.images.length, 2, sampler);
      assert.ok(
        !Buffer.from(r.images[0].data).equals(Buffer.from(r.images[1].data)),
        `${sampler}: two seeds, two images`,
      );
    }
  });
}
