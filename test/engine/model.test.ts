import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadModel } from '../../src/engine/model.ts';
import { ModelLoadError } from '../../src/engine/errors.ts';
import { SD15_LATENT_RGB_FACTORS } from '../../src/engine/model-config.ts';
import type { EngineLogger } from '../../src/engine/logger.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'models');

function brokenCopy(variant: string, breakIt: (dir: string) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'model-'));
  cpSync(join(FIXTURES, variant), dir, { recursive: true });
  breakIt(dir);
  return dir;
}

async function expectLoadError(dir: string, file: RegExp, inFileField = true): Promise<void> {
  try {
    await assert.rejects(loadModel(dir), (error: unknown) => {
      assert.ok(error instanceof ModelLoadError, `expected a ModelLoadError, got ${String(error)}`);
      if (inFileField) assert.match(error.file, file);
      assert.match(error.message, file);
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('fp32 fixture: names, types and configs come from the folder', async () => {
  const model = await loadModel(join(FIXTURES, 'tiny-fp32'));
  try {
    assert.equal(model.name, 'tiny-fp32');
    assert.equal(model.textEncoder.inputs.get('input_ids')!.type, 'int32');
    assert.equal(model.unet.inputs.get('timestep')!.type, 'float32');
    assert.deepEqual(model.unet.inputs.get('timestep')!.shape, []);
    assert.equal(model.scalingFactor, 0.5);
    assert.equal(model.vaeScaleFactor, 8);
    assert.equal(model.sampleSize, 8);
    assert.deepEqual(model.latentRgbBias, [0, 0.05, -0.05]);
    assert.ok(model.vaeEncoder);
    assert.ok(model.taesd);
    assert.equal(model.timestepCondDim, 0);
    assert.equal(model.schedulerConfig.betaSchedule, 'scaled_linear');
    assert.equal(model.provider, 'cpu');
  } finally {
    await model.release();
  }
});

test('int64 fixture: int64 ids and timestep, LCM cond size, VAE factor from block_out_channels', async () => {
  const model = await loadModel(join(FIXTURES, 'tiny-int64'));
  try {
    assert.equal(model.textEncoder.inputs.get('input_ids')!.type, 'int64');
    assert.equal(model.unet.inputs.get('timestep')!.type, 'int64');
    assert.equal(model.timestepCondDim, 8);
    assert.equal(model.vaeScaleFactor, 4);
    assert.equal(model.scalingFactor, 0.18215);
    assert.equal(model.schedulerConfig.predictionType, 'v_prediction');
    assert.equal(model.tokenizer.padId, model.tokenizer.encode('a')?.ids.at(-1));
  } finally {
    await model.release();
  }
});

test('fp16 fixture: float16 I/O, defaults where configs are absent', async () => {
  const model = await loadModel(join(FIXTURES, 'tiny-fp16'));
  try {
    assert.equal(model.unet.inputs.get('sample')!.type, 'float16');
    assert.equal(model.textEncoder.outputs.get('last_hidden_state')!.type, 'float16');
    assert.equal(model.vaeEncoder, undefined);
    assert.equal(model.sampleSize, undefined);
    assert.equal(model.vaeScaleFactor, 8);
    assert.deepEqual(model.latentRgbFactors, SD15_LATENT_RGB_FACTORS);
  } finally {
    await model.release();
  }
});

test('cuda asked for but unavailable falls back to cpu with a log line', async () => {
  const warnings: string[] = [];
  const logger: EngineLogger = { info() {}, warn: (_obj, msg) => warnings.push(msg ?? ''), error() {} };
  const model = await loadModel(join(FIXTURES, 'tiny-fp32'), {
    executionProvider: 'cuda',
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    logger,
  });
  try {
    if (model.provider === 'cpu')
      assert.ok(
        warnings.some((w) => /CUDA/.test(w)),
        'expected a warning naming CUDA',
      );
  } finally {
    await model.release();
  }
});

test('missing folder is refused', async () => {
  await expectLoadError(join(tmpdir(), 'no-such-model-folder-xyz'), /no-such-model-folder-xyz/);
});

test('missing model_index.json is refused, naming it', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => rmSync(join(d, 'model_index.json'))),
    /model_index\.json/,
  );
});

test('missing unet/model.onnx is refused, naming it', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => rmSync(join(d, 'unet', 'model.onnx'))),
    /unet\/model\.onnx/,
  );
});

test('malformed scheduler json is refused, naming it', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => writeFileSync(join(d, 'scheduler', 'scheduler_config.json'), '{"beta_schedule": ')),
    /scheduler_config\.json/,
  );
});

test('a scheduler config with a bad value is refused, naming the file', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) =>
      writeFileSync(join(d, 'scheduler', 'scheduler_config.json'), '{"beta_schedule": "cubic"}'),
    ),
    /scheduler_config\.json/,
  );
});

test('a corrupt ONNX file is refused, naming it', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => writeFileSync(join(d, 'vae_decoder', 'model.onnx'), 'not a model')),
    /vae_decoder\/model\.onnx/,
  );
});

test('missing tokenizer vocab is refused, naming the tokenizer file', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => rmSync(join(d, 'tokenizer', 'vocab.json'))),
    /tokenizer\/vocab\.json/,
    false,
  );
});

test('malformed latent_rgb_factors are refused, naming vae_decoder/config.json', async () => {
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) =>
      writeFileSync(join(d, 'vae_decoder', 'config.json'), '{"latent_rgb_factors": [[1,2]]}'),
    ),
    /vae_decoder\/config\.json/,
  );
});

test('an export with external weights (model.onnx_data, as optimum writes big models) loads and runs as the inline one', async () => {
  const { DiffusionPipeline } = await import('../../src/engine/pipeline.ts');
  const external = await DiffusionPipeline.load(join(FIXTURES, 'tiny-external'));
  const inline = await DiffusionPipeline.load(join(FIXTURES, 'tiny-fp32'));
  try {
    const r = {
      prompt: 'a cat',
      seed: 3,
      steps: 2,
      guidance: 5,
      width: 64,
      height: 64,
      sampler: 'euler' as const,
      count: 1,
    };
    const [a, b] = [await external.generate(r), await inline.generate(r)];
    assert.ok(Buffer.from(a.images[0].data).equals(Buffer.from(b.images[0].data)));
  } finally {
    await Promise.all([external.close(), inline.close()]);
  }
});

test('what we do not run is refused at start in one line naming the file: missing external weights, an SDXL folder without its second encoder, the SDXL refiner, ControlNet, inpainting, a truncated file', async () => {
  const { readFileSync, mkdirSync, cpSync } = await import('node:fs');
  await expectLoadError(
    brokenCopy('tiny-external', (d) => rmSync(join(d, 'unet', 'model.onnx_data'))),
    /unet\/model\.onnx_data/,
  );
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => mkdirSync(join(d, 'text_encoder_2'))),
    /tokenizer_2/,
  );
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => mkdirSync(join(d, 'controlnet'))),
    /controlnet/,
  );
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) =>
      writeFileSync(join(d, 'unet', 'config.json'), JSON.stringify({ sample_size: 8, in_channels: 9 })),
    ),
    /unet\/config\.json/,
  );
  await expectLoadError(
    brokenCopy('tiny-fp32', (d) => {
      const file = join(d, 'unet', 'model.onnx');
      writeFileSync(file, readFileSync(file).subarray(0, 700));
    }),
    /unet\/model\.onnx/,
  );
  const messages: string[] = [];
  for (const [make, why] of [
    [
      (d: string) => {
        mkdirSync(join(d, 'text_encoder_2'));
        cpSync(join(d, 'tokenizer'), join(d, 'tokenizer_2'), { recursive: true });
      },
      /text_encoder_2\/model\.onnx.*missing/,
    ],
    [
      (d: string) => writeFileSync(join(d, 'unet', 'config.json'), '{"requires_aesthetics_score": true}'),
      /SDXL refiner/,
    ],
    [(d: string) => mkdirSync(join(d, 'controlnet')), /ControlNet is not supported/],
    [(d: string) => writeFileSync(join(d, 'unet', 'config.json'), '{"in_channels": 9}'), /inpainting is not supported/],
  ] as const) {
    const dir = brokenCopy('tiny-fp32', make);
    try {
      await assert.rejects(loadModel(dir), (e: Error) => {
        messages.push(e.message);
        return why.test(e.message);
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  assert.ok(
    messages.every((m) => !m.includes('\n')),
    'one line each',
  );
});
