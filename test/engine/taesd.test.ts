// Step previews for real models: a TAESD decoder built from diffusers' own AutoencoderTiny classes
// (test/fixtures/make-taesd.py, random weights) decodes as PyTorch does (test/fixtures/golden/sd15-tiny-taesd.json),
// and the pipeline uses it for previews at the image's full size; a model without one previews through the
// linear latent -> RGB map at the latent's size.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { planarToImages } from '../../src/engine/preview.ts';
import { floatTensor, toFloat32 } from '../../src/engine/session.ts';
import type { RawImage } from '../../src/engine/types.ts';

const MODELS = join(import.meta.dirname, '..', 'fixtures', 'models');
const golden = JSON.parse(
  readFileSync(join(import.meta.dirname, '..', 'fixtures', 'golden', 'sd15-tiny-taesd.json'), 'utf8'),
) as { latent: number[]; shape: number[]; images: string[]; size: number };

let sd15: DiffusionPipeline;
let sd2: DiffusionPipeline;
before(async () => {
  sd15 = await DiffusionPipeline.load(join(MODELS, 'sd15-tiny'));
  sd2 = await DiffusionPipeline.load(join(MODELS, 'sd2-tiny'));
});
after(async () => {
  await sd15.close();
  await sd2.close();
});

async function decode(latent: Float32Array, shape: number[]): Promise<RawImage[]> {
  const taesd = sd15.model.taesd!;
  const out = (
    await taesd.run(
      { latent_sample: floatTensor(latent, shape, taesd.requireInput('latent_sample').type) },
      { sessionRunMs: 0 },
    )
  )[taesd.pickOutput('sample').name];
  const [n, , h, w] = out.dims as number[];
  return planarToImages(toFloat32(out), n, h, w);
}

test('the TAESD decoder built from diffusers decodes a latent to the images PyTorch made, within 1/255', async () => {
  assert.ok(sd15.model.taesd, 'sd15-tiny has taesd_decoder/');
  const images = await decode(Float32Array.from(golden.latent), golden.shape);
  assert.equal(images.length, golden.images.length);
  for (const [i, image] of images.entries()) {
    assert.equal(image.width, golden.size);
    const want = Buffer.from(golden.images[i], 'base64');
    let worst = 0;
    for (let p = 0; p < want.length; p++) worst = Math.max(worst, Math.abs(want[p] - image.data[p]));
    assert.ok(worst <= 1, `image ${i}: max difference ${worst}/255`);
  }
});

async function previews(pipeline: DiffusionPipeline) {
  const steps: { preview: RawImage; x0: Float32Array }[] = [];
  await pipeline.generate(
    {
      prompt: 'a lighthouse',
      seed: 3,
      steps: 3,
      guidance: 5,
      width: pipeline.defaultSize,
      height: pipeline.defaultSize,
      sampler: 'euler',
      count: 1,
    },
    {
      reportLatents: true,
      onStep: (p) => {
        if (p.preview && p.x0) steps.push({ preview: p.preview, x0: p.x0 });
      },
    },
  );
  return steps;
}

test('previews of a model with taesd_decoder/ are TAESD decodes of each step x0, at the full image size', async () => {
  const size = sd15.defaultSize;
  const steps = await previews(sd15);
  assert.equal(steps.length, 3);
  for (const { preview, x0 } of steps) {
    assert.deepEqual([preview.width, preview.height], [size, size]);
    const [direct] = await decode(x0, [1, 4, size / 8, size / 8]);
    assert.ok(Buffer.from(direct.data).equals(Buffer.from(preview.data)), 'the preview is the decoder output');
  }
});

test('a model without taesd_decoder/ previews through the linear map, at the latent size', async () => {
  assert.equal(sd2.model.taesd, undefined);
  const steps = await previews(sd2);
  assert.equal(steps.length, 3);
  for (const { preview } of steps)
    assert.deepEqual([preview.width, preview.height], [sd2.defaultSize / 8, sd2.defaultSize / 8]);
});
