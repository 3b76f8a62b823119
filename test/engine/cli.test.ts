import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import sharp from 'sharp';
import { readPngText } from '../../src/engine/images.ts';
import { parseCliArgs, UsageError } from '../../src/cli/args.ts';
import { SAMPLERS } from '../../src/engine/types.ts';

const ROOT = resolve(import.meta.dirname, '..', '..');
const FIXTURE = join(ROOT, 'test', 'fixtures', 'models', 'tiny-fp32');

function imagine(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'cli', 'imagine.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, MODEL_DIR: FIXTURE, ...env },
    encoding: 'utf8',
  });
}

test('imagine writes a PNG with its parameters and prints the seed and path', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-'));
  try {
    const out = join(dir, 'apple.png');
    const run = imagine([
      'a red apple',
      '--seed',
      '11',
      '--steps',
      '3',
      '--negative',
      'blurry',
      '--sampler',
      'ddim',
      '--guidance',
      '5',
      '--out',
      out,
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.match(run.stdout, /seed 11/);
    assert.ok(run.stdout.includes(out));
    assert.match(run.stderr, /step 3\/3/); // not a terminal: plain lines
    const png = readFileSync(out);
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ['png', 64, 64]); // default size = sample_size 8 x VAE factor 8
    assert.equal(
      readPngText(png).parameters,
      'a red apple\nNegative prompt: blurry\nSteps: 3, Sampler: ddim, CFG scale: 5, Seed: 11, Size: 64x64, Model: tiny-fp32',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imagine --count 4 writes the grid and each single image', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-'));
  try {
    const out = join(dir, 'grid.png');
    const run = imagine([
      'cat',
      '--seed',
      '1',
      '--steps',
      '2',
      '--count',
      '4',
      '--width',
      '32',
      '--height',
      '64',
      '--out',
      out,
    ]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      await sharp(out)
        .metadata()
        .then((m) => [m.width, m.height]),
      [64, 128],
    );
    for (let i = 1; i <= 4; i++) {
      const single = join(dir, `grid-${i}.png`);
      assert.ok(existsSync(single), single);
      assert.match(readPngText(readFileSync(single)).parameters, new RegExp(`Seed: ${i}, Size: 32x64`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments exit 2 with a message saying what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [[], /expected a prompt/],
    [['x', '--steps', 'abc'], /expected --steps to be a whole number, got "abc"/],
    [['x', '--steps', '500'], /expected steps between 1 and 150, got 500/],
    [['x', '--sampler', 'plms'], /expected --sampler to be one of/],
    [['x', '--width', '70'], /expected width to be a multiple of 8, got 70/],
    [['x', '--count', '9'], /expected count between 1 and 4, got 9/],
    [['x', '--guidance', 'lots'], /expected --guidance to be a number/],
    [['x', '--bogus'], /Unknown option '--bogus'/],
  ];
  for (const [args, message] of cases) {
    const run = imagine(args);
    assert.equal(run.status, 2, `${args.join(' ')}: ${run.stderr}`);
    assert.match(run.stderr, message);
  }
});

test('a missing model folder exits 1 and names it', () => {
  const run = imagine(['x'], { MODEL_DIR: '/no/such/model' });
  assert.equal(run.status, 1);
  assert.match(run.stderr, /\/no\/such\/model/);
});

test('parseCliArgs: what is left out stays out (the model folder gives steps, sampler, guidance); square sizes from one side', () => {
  const a = parseCliArgs(['hello', 'world', '--width', '128']);
  assert.equal(a.prompt, 'hello world');
  assert.deepEqual(
    [a.width, a.height, a.steps, a.count, a.sampler, a.guidance, a.seed],
    [128, 128, undefined, 1, undefined, undefined, undefined],
  );
  assert.throws(() => parseCliArgs(['x', '--seed', '-3']), UsageError);
});

const DEFAULT_MODEL = join(ROOT, 'models', 'emoji-tiny');
test('imagine uses models/emoji-tiny when MODEL_DIR is unset', {
  skip: !existsSync(join(DEFAULT_MODEL, 'model_index.json')) && 'models/emoji-tiny has not landed',
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-'));
  try {
    const out = join(dir, 'face.png');
    const env = { ...process.env };
    delete env.MODEL_DIR;
    const run = spawnSync(
      process.execPath,
      [
        '--import',
        'tsx',
        join(ROOT, 'src', 'cli', 'imagine.ts'),
        'grinning face',
        '--seed',
        '1',
        '--steps',
        '8',
        '--out',
        out,
      ],
      { cwd: ROOT, env, encoding: 'utf8' },
    );
    assert.equal(run.status, 0, run.stderr);
    assert.match(readPngText(readFileSync(out)).parameters, /Model: emoji-tiny/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** A .npy file as numpy.save writes one (format 1.0, little-endian float32, C order). */
function npy(shape: number[], values: Float32Array): Buffer {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += `${' '.repeat(64 - ((10 + header.length + 1) % 64))}\n`;
  const head = Buffer.alloc(10);
  Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]).copy(head);
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([
    head,
    Buffer.from(header, 'latin1'),
    Buffer.from(values.buffer, values.byteOffset, values.byteLength),
  ]);
}

test('imagine --latents FILE.npy starts from the given noise, whatever the seed; other noise gives another image', async () => {
  const { writeFileSync } = await import('node:fs');
  const { NoiseStream } = await import('../../src/engine/noise.ts');
  const { parseNpy } = await import('../../src/cli/npy.ts');
  const dir = mkdtempSync(join(tmpdir(), 'imagine-latents-'));
  try {
    // The tiny model: 4 latent channels, VAE factor 8, 64 px -> 4 x 8 x 8 per image.
    const seeded = new NoiseStream(21).next(4 * 8 * 8);
    const file = join(dir, 'start.npy');
    writeFileSync(file, npy([1, 4, 8, 8], seeded));
    assert.deepEqual(parseNpy(npy([1, 4, 8, 8], seeded)).shape, [1, 4, 8, 8]);
    const base = ['a red apple', '--steps', '3', '--sampler', 'euler', '--width', '64'];
    const a = imagine([...base, '--seed', '21', '--out', join(dir, 'a.png')]);
    const b = imagine([...base, '--seed', '99', '--latents', file, '--out', join(dir, 'b.png')]);
    const c = imagine([...base, '--seed', '21', '--latents', file, '--out', join(dir, 'c.png')]);
    for (const run of [a, b, c]) assert.equal(run.status, 0, run.stderr);
    const pixels = async (name: string) => sharp(join(dir, name)).raw().toBuffer();
    assert.ok(
      (await pixels('a.png')).equals(await pixels('c.png')),
      'the stream noise given as a file is the seeded image',
    );
    const ab = await pixels('b.png');
    assert.equal(ab.length, (await pixels('a.png')).length);
    assert.ok(ab.equals(await pixels('a.png')), 'euler has no per-step noise: the latents alone decide the image');
    writeFileSync(file, npy([1, 4, 8, 8], new NoiseStream(22).next(256)));
    assert.equal(imagine([...base, '--seed', '21', '--latents', file, '--out', join(dir, 'e.png')]).status, 0);
    assert.ok(!(await pixels('e.png')).equals(await pixels('a.png')), 'other starting noise, another image');
    writeFileSync(file, npy([2, 4, 8, 8], new Float32Array(2 * 256)));
    const wrong = imagine([...base, '--latents', file, '--out', join(dir, 'd.png')]);
    assert.notEqual(wrong.status, 0);
    assert.match(wrong.stderr, /expected starting latents of 1×4×8×8 = 256 values, got 512/);
    const missing = imagine([...base, '--latents', join(dir, 'none.npy')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /--latents: no file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('imagine on the SDXL export with every sampler: its native size by default, a PNG each', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'imagine-sdxl-'));
  const sdxl = join(ROOT, 'test', 'fixtures', 'models', 'sdxl-tiny');
  try {
    for (const sampler of SAMPLERS) {
      const out = join(dir, `${sampler}.png`);
      const run = imagine(['a red fox', '--steps', '2', '--sampler', sampler, '--seed', '3', '--out', out], {
        MODEL_DIR: sdxl,
      });
      assert.equal(run.status, 0, `${sampler}: ${run.stderr}`);
      const meta = await sharp(readFileSync(out)).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['png', 128, 128], sampler);
      assert.match(
        readPngText(readFileSync(out)).parameters ?? '',
        new RegExp(`Sampler: ${sampler}, .*Model: sdxl-tiny`),
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
