// The safety checker from diffusers' own StableDiffusionSafetyChecker (random weights, thresholds set so
// that one probe is flagged): our session gives the class's own verdicts; the CLIP preprocessing follows
// feature_extractor/; a model folder with safety_checker/ loads it, one without does not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelSession } from '../../src/engine/session.ts';
import { SafetyChecker, readClipPreprocess } from '../../src/engine/safety-checker.ts';
import { loadModel } from '../../src/engine/model.ts';
import { silentLogger } from '../../src/engine/logger.ts';

const MODELS = join(import.meta.dirname, '../fixtures/models');
const golden = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/golden/safety-checker.json'), 'utf8'));

async function calibrated(): Promise<SafetyChecker> {
  const root = join(MODELS, 'safety-calibrated');
  return new SafetyChecker(
    await ModelSession.open(join(root, 'safety_checker', 'model.onnx'), {}, silentLogger),
    readClipPreprocess(root),
  );
}

test("the exported checker flags exactly what diffusers' StableDiffusionSafetyChecker.forward() flags", async () => {
  const { shape, repeat, data } = golden.clip_input_cells;
  const [n, c, ch, cw] = shape as number[];
  const [h, w] = [ch * repeat, cw * repeat];
  const clip = new Float32Array(n * c * h * w);
  for (let i = 0; i < n * c; i++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++)
        clip[(i * h + y) * w + x] = data[(i * ch + Math.floor(y / repeat)) * cw + Math.floor(x / repeat)];
  const checker = await calibrated();
  assert.deepEqual(await checker.checkPrepared(clip, n), golden.has_nsfw_concepts);
  assert.deepEqual(golden.has_nsfw_concepts, [true, false, false], 'the golden file holds one flagged probe');
});

test('CLIP preprocessing: shortest edge to 224, centre crop, normalised with the config mean and std', async () => {
  const checker = await calibrated();
  assert.deepEqual(checker.preprocess, {
    shortestEdge: 224,
    cropHeight: 224,
    cropWidth: 224,
    mean: [0.48145466, 0.4578275, 0.40821073],
    std: [0.26862954, 0.26130258, 0.27577711],
  });
  // A white 64x32 image: every value is (1 - mean) / std of its channel, 3 x 224 x 224 of them.
  const white = { width: 64, height: 32, data: new Uint8Array(64 * 32 * 3).fill(255) };
  const input = await checker.clipInput(white);
  assert.equal(input.length, 3 * 224 * 224);
  for (const channel of [0, 1, 2]) {
    const want = (1 - checker.preprocess.mean[channel]) / checker.preprocess.std[channel];
    assert.ok(Math.abs(input[channel * 224 * 224 + 1000] - want) < 1e-4);
  }
});

test('a model folder with safety_checker/ loads it; one without has none', async () => {
  const flagged = await loadModel(join(MODELS, 'tiny-safety'));
  const plain = await loadModel(join(MODELS, 'tiny-fp32'));
  try {
    assert.ok(flagged.safetyChecker);
    assert.equal(plain.safetyChecker, undefined);
    const image = { width: 64, height: 64, data: new Uint8Array(64 * 64 * 3).fill(128) };
    assert.deepEqual(await flagged.safetyChecker.check([image, image]), [true, true], 'its thresholds flag everything');
  } finally {
    await flagged.release();
    await plain.release();
  }
});
