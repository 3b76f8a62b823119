// The sizes a folder draws: native side, the multiple its exported U-Net runs at, SDXL's aspect buckets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readSizeRule, sizeForRatio, SDXL_BUCKETS, PLAIN_SIZE_RULE } from '../../src/engine/model-size.ts';
import { DiffusionPipeline } from '../../src/engine/pipeline.ts';
import { InvalidRequestError } from '../../src/engine/errors.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');

test('size rules from the folders: SD 1.5 layout 64 px multiples, SDXL 32 and buckets, the embedded model 8', () => {
  assert.deepEqual(readSizeRule(join(FIXTURES, 'sd15-tiny')), { side: 64, multiple: 64, buckets: false });
  assert.deepEqual(readSizeRule(join(FIXTURES, 'sdxl-tiny')), { side: 128, multiple: 32, buckets: true });
  assert.deepEqual(readSizeRule(join(ROOT, 'models', 'emoji-tiny')), { side: 64, multiple: 8, buckets: false });
  assert.deepEqual(readSizeRule(join(tmpdir(), 'no-such-model-folder')), PLAIN_SIZE_RULE);
});

test("SDXL-Turbo keeps SDXL's sample_size but is sized at 512", () => {
  const dir = mkdtempSync(join(tmpdir(), 'xl-size-'));
  cpSync(join(FIXTURES, 'sdxl-tiny'), dir, { recursive: true });
  try {
    const unet = join(dir, 'unet', 'config.json');
    writeFileSync(unet, JSON.stringify({ ...JSON.parse(readFileSync(unet, 'utf8')), sample_size: 128 }));
    assert.equal(readSizeRule(dir).side, 1024, 'SDXL base: 128 x 8');
    const index = join(dir, 'model_index.json');
    writeFileSync(index, JSON.stringify({ ...JSON.parse(readFileSync(index, 'utf8')), name: 'sdxl-turbo' }));
    assert.equal(readSizeRule(dir).side, 512);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('SDXL aspect ratios go to the nearest training bucket, scaled to the native side', () => {
  const xl = { side: 1024, multiple: 32, buckets: true };
  const at = (ratio: number, rule = xl) => {
    const { width, height } = sizeForRatio(ratio, rule);
    return `${width}x${height}`;
  };
  assert.equal(at(1), '1024x1024');
  assert.equal(at(16 / 9), '1344x768');
  assert.equal(at(9 / 16), '768x1344');
  assert.equal(at(3 / 2), '1216x832');
  assert.equal(at(4 / 3), '1152x896');
  assert.equal(at(4), '1536x640', 'the widest bucket');
  assert.equal(at(1 / 4), '640x1536');
  for (const b of SDXL_BUCKETS) {
    assert.equal(b.width % 64, 0);
    assert.ok(Math.abs((b.width * b.height) / 1024 ** 2 - 1) < 0.07, 'about a megapixel');
  }
  assert.equal(at(16 / 9, { side: 512, multiple: 32, buckets: true }), '672x384', 'SDXL-Turbo: half of each');
  assert.equal(at(3 / 2, { side: 512, multiple: 64, buckets: false }), '640x448', 'SD 1.5: multiples of 64');
});

test('a size the exported U-Net cannot run is refused with the nearest that works, not an onnxruntime error', async () => {
  const pipeline = await DiffusionPipeline.load(join(FIXTURES, 'sd15-tiny'));
  try {
    const request = {
      prompt: 'x',
      seed: 1,
      steps: 1,
      guidance: 1,
      width: 96,
      height: 64,
      sampler: 'euler' as const,
      count: 1,
    };
    await assert.rejects(
      pipeline.generate(request),
      (e: unknown) =>
        e instanceof InvalidRequestError && /width to be a multiple of 64, got 96 \(try 128\)/.test(e.message),
    );
    assert.equal((await pipeline.generate({ ...request, width: 128 })).images[0].width, 128);
  } finally {
    await pipeline.close();
  }
});
