// The steps, guidance and sampler a model folder asks for: a hint in model_index.json, else its family's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readModelDefaults } from '../../src/engine/model-defaults.ts';
import { ModelLoadError } from '../../src/engine/errors.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'models');

function withIndex(change: (index: Record<string, unknown>) => void): string {
  const dir = mkdtempSync(join(tmpdir(), 'defaults-'));
  cpSync(join(FIXTURES, 'tiny-fp32'), dir, { recursive: true });
  const file = join(dir, 'model_index.json');
  const index = JSON.parse(readFileSync(file, 'utf8'));
  change(index);
  writeFileSync(file, JSON.stringify(index));
  return dir;
}

test('families: SD (the embedded model), LCM from time_cond_proj_dim, turbo from the name', () => {
  assert.deepEqual(readModelDefaults(join(ROOT, 'models', 'emoji-tiny')), {
    family: 'sd',
    steps: 20,
    guidance: 7.5,
    sampler: 'euler_a',
  });
  assert.deepEqual(readModelDefaults(join(FIXTURES, 'tiny-int64')), {
    family: 'lcm',
    steps: 4,
    guidance: 1.5,
    sampler: 'lcm',
  });
  const turbo = withIndex((index) => {
    index._name_or_path = 'stabilityai/sd-turbo';
  });
  try {
    assert.deepEqual(readModelDefaults(turbo), { family: 'turbo', steps: 1, guidance: 0, sampler: 'euler_a' });
  } finally {
    rmSync(turbo, { recursive: true, force: true });
  }
});

test('a hint in model_index.json wins; a bad one is refused naming the file', () => {
  const hinted = withIndex((index) => {
    index.emojiforge = { steps: 6, sampler: 'ddim' };
  });
  const bad = withIndex((index) => {
    index.emojiforge = { steps: 500 };
  });
  try {
    assert.deepEqual(readModelDefaults(hinted), { family: 'sd', steps: 6, guidance: 7.5, sampler: 'ddim' });
    assert.throws(
      () => readModelDefaults(bad),
      (e: unknown) =>
        e instanceof ModelLoadError &&
        /model_index\.json/.test(e.file) &&
        /emojiforge\.steps" between 1 and 150, got 500/.test(e.message),
    );
  } finally {
    rmSync(hinted, { recursive: true, force: true });
    rmSync(bad, { recursive: true, force: true });
  }
});

test('npm run imagine takes the model folder defaults for what is left out', async () => {
  const { spawnSync } = await import('node:child_process');
  const { readPngText } = await import('../../src/engine/images.ts');
  const dir = withIndex((index) => {
    index.emojiforge = { steps: 2, guidance: 3, sampler: 'euler' };
  });
  try {
    const out = join(dir, 'out.png');
    const run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'src', 'cli', 'imagine.ts'), 'a cat', '--seed', '1', '--out', out],
      {
        cwd: ROOT,
        env: { ...process.env, MODEL_DIR: dir },
        encoding: 'utf8',
      },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(readPngText(readFileSync(out)).parameters, /Steps: 2, Sampler: euler, CFG scale: 3/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Lightning-style exports: Euler without guidance, the steps their name says (else 4)', () => {
  for (const [name, steps] of [
    ['ByteDance/SDXL-Lightning-8step', 8],
    ['sdxl-lightning-2-step', 2],
    ['sdxl_lightning_1step', 1],
    ['my-lightning-xl', 4],
  ] as const) {
    const dir = withIndex((index) => {
      index._name_or_path = name;
    });
    try {
      assert.deepEqual(readModelDefaults(dir), { family: 'lightning', steps, guidance: 0, sampler: 'euler' }, name);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

test("a folder whose index names nothing is known by the folder's own name", () => {
  const parent = mkdtempSync(join(tmpdir(), 'defaults-'));
  const dir = join(parent, 'sdxl-lightning-2step');
  cpSync(join(FIXTURES, 'tiny-fp32'), dir, { recursive: true });
  try {
    writeFileSync(join(dir, 'model_index.json'), '{"_class_name": "StableDiffusionXLPipeline"}');
    assert.deepEqual(readModelDefaults(dir), { family: 'lightning', steps: 2, guidance: 0, sampler: 'euler' });
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
