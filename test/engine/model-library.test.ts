// Several models: MODELS_DIR's folders (and MODEL_DIR's, first) are found by name, non-models reported;
// each request runs on its own model, loaded on first use; over the memory budget the least recently used
// idle model is closed; a model that fails to load is reported by name and the others go on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiffusionPipeline, silentLogger } from '../../src/engine/index.ts';
import { ModelLibrary, ModelUnavailableError, UnknownModelError, scanModels } from '../../src/engine/model-library.ts';

const MODELS = join(import.meta.dirname, '../fixtures/models');

function library(t: { after(f: () => void): void }) {
  const dir = mkdtempSync(join(tmpdir(), 'models-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  cpSync(join(MODELS, 'sd2-tiny'), join(dir, 'sd2-tiny'), { recursive: true });
  cpSync(join(MODELS, 'tiny-fp32'), join(dir, 'broken'), { recursive: true });
  rmSync(join(dir, 'broken', 'unet', 'model.onnx')); // a model folder whose U-Net is missing
  mkdirSync(join(dir, 'notes'));
  return dir;
}

const request = (model?: string) => ({
  prompt: 'a cat',
  seed: 3,
  steps: 2,
  guidance: 5,
  width: 64,
  height: 64,
  sampler: 'euler' as const,
  count: 1,
  ...(model ? { model } : {}),
});

test('scanModels: the default first, then model folders by name; a folder that is not a model is named', (t) => {
  const { models, problems } = scanModels(join(MODELS, 'tiny-fp32'), library(t));
  assert.deepEqual(
    models.map((m) => m.name),
    ['tiny-fp32', 'broken', 'sd2-tiny'],
  );
  assert.ok(models.every((m) => m.bytes > 0));
  assert.deepEqual(problems, [{ name: 'notes', message: 'not a model folder (no model_index.json)' }]);
});

test('requests run on their own model; the least recently used idle model is closed past the budget', async (t) => {
  const { models } = scanModels(join(MODELS, 'tiny-fp32'), library(t));
  const closed: string[] = [];
  const lib = new ModelLibrary(models, {
    budgetBytes: Math.max(...models.map((m) => m.bytes)) + 1, // room for one model at a time
    logger: silentLogger,
    load: async (dir) => {
      const p = await DiffusionPipeline.load(dir, { logger: silentLogger, intraOpNumThreads: 1 });
      return Object.assign(p, { close: async () => void closed.push(p.modelName) });
    },
  });
  t.after(() => lib.close());
  assert.equal((await lib.generate(request())).model, 'tiny-fp32');
  assert.equal((await lib.generate(request('sd2-tiny'))).model, 'sd2-tiny');
  assert.deepEqual(lib.loadedNames, ['sd2-tiny']);
  assert.deepEqual(closed, ['tiny-fp32']);
  await assert.rejects(lib.generate(request('nope')), UnknownModelError);
  // The broken model is named in its error; the others still run.
  await assert.rejects(
    lib.generate(request('broken')),
    (e: unknown) => e instanceof ModelUnavailableError && e.model === 'broken',
  );
  assert.equal((await lib.generate(request('tiny-fp32'))).model, 'tiny-fp32');
});
