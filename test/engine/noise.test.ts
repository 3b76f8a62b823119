import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchNoiseSource,
  InvalidSeedError,
  NoiseArgumentError,
  NoiseStream,
  randn,
  slerp,
  variationNoise,
} from '../../src/engine/noise.ts';

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const norm = (a: Float32Array): number => Math.sqrt(a.reduce((s, x) => s + x * x, 0));
const dot = (a: Float32Array, b: Float32Array): number => a.reduce((s, x, i) => s + x * b[i], 0);
const unit = (a: Float32Array): Float32Array => a.map((x) => x / norm(a));

test('the same seed gives bit-identical noise, other seeds differ', () => {
  assert.ok(bytes(randn(42, 4096)).equals(bytes(randn(42, 4096))));
  assert.ok(!bytes(randn(42, 4096)).equals(bytes(randn(43, 4096))));
  assert.ok(!bytes(randn(0, 64)).equals(bytes(randn(1, 64))));
  // Extremes of the seed range are valid and distinct.
  assert.ok(!bytes(randn(0, 64)).equals(bytes(randn(0xffffffff, 64))));
});

test('a stream continues where it stopped, whatever the chunk sizes', () => {
  const whole = randn(7, 101);
  const stream = new NoiseStream(7);
  const parts = [stream.next(3), stream.next(0), stream.next(5), stream.next(93)];
  const joined = new Float32Array(101);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  assert.ok(bytes(joined).equals(bytes(whole)));
});

test('standard normal statistics over 1e5 samples', () => {
  const n = 100_000;
  const x = randn(12345, n);
  let sum = 0;
  let sq = 0;
  let within1 = 0;
  let lag = 0;
  let max = 0;
  for (let i = 0; i < n; i++) {
    sum += x[i];
    sq += x[i] * x[i];
    if (Math.abs(x[i]) < 1) within1++;
    if (i > 0) lag += x[i] * x[i - 1];
    max = Math.max(max, Math.abs(x[i]));
  }
  const mean = sum / n;
  const std = Math.sqrt(sq / n - mean * mean);
  assert.ok(Math.abs(mean) < 0.015, `mean ${mean}`);
  assert.ok(Math.abs(std - 1) < 0.015, `std ${std}`);
  assert.ok(Math.abs(within1 / n - 0.6827) < 0.01, `P(|z|<1) = ${within1 / n}`);
  assert.ok(Math.abs(lag / n) < 0.015, `lag-1 correlation ${lag / n}`);
  assert.ok(max > 3.5 && max < 7, `max |z| ${max}`);
  assert.ok(x.every(Number.isFinite));
});

test('neighbouring seeds are uncorrelated', () => {
  const a = randn(1000, 20_000);
  const b = randn(1001, 20_000);
  assert.ok(Math.abs(dot(a, b) / (norm(a) * norm(b))) < 0.03);
});

test('seeds outside uint32 are refused', () => {
  for (const seed of [-1, 1.5, 2 ** 32, Number.NaN]) assert.throws(() => randn(seed, 4), InvalidSeedError);
});

test('slerp hits its endpoints and keeps the norm of unit vectors', () => {
  const a = unit(randn(1, 4096));
  const b = unit(randn(2, 4096));
  const start = slerp(a, b, 0);
  const end = slerp(a, b, 1);
  for (let i = 0; i < a.length; i++) {
    assert.ok(Math.abs(start[i] - a[i]) < 1e-6);
    assert.ok(Math.abs(end[i] - b[i]) < 1e-6);
  }
  for (const t of [0.1, 0.25, 0.5, 0.9]) assert.ok(Math.abs(norm(slerp(a, b, t)) - 1) < 1e-5, `norm at t=${t}`);
  // A plain mix would shrink: at t=0.5 of near-orthogonal vectors, to about 0.71.
  const mixed = a.map((x, i) => 0.5 * x + 0.5 * b[i]);
  assert.ok(norm(mixed) < 0.75);
  // The angle to a grows linearly with t.
  const theta = Math.acos(dot(a, b));
  assert.ok(Math.abs(Math.acos(dot(a, slerp(a, b, 0.3))) - 0.3 * theta) < 1e-4);
});

test('slerp of near-parallel vectors falls back to a linear mix without NaN', () => {
  const a = randn(3, 256);
  const b = a.map((x, i) => x * (1 + 1e-7) + (i === 0 ? 1e-7 : 0));
  const mid = slerp(a, a, 0.5);
  assert.ok(bytes(mid).equals(bytes(a)));
  assert.ok(slerp(a, b, 0.5).every(Number.isFinite));
  assert.throws(() => slerp(a, randn(3, 255), 0.5), NoiseArgumentError);
});

test('variation noise mixes a second seed in by strength', () => {
  const base = randn(10, 4096);
  const other = randn(99, 4096);
  assert.ok(bytes(variationNoise(10, 99, 0, 4096)).equals(bytes(base)));
  const full = variationNoise(10, 99, 1, 4096);
  assert.ok(full.every((x, i) => Math.abs(x - other[i]) < 1e-5));
  const cos = (a: Float32Array, b: Float32Array): number => dot(a, b) / (norm(a) * norm(b));
  const subtle = variationNoise(10, 99, 0.2, 4096);
  const strong = variationNoise(10, 99, 0.55, 4096);
  assert.ok(cos(subtle, base) > 0.9 && cos(subtle, base) < 0.99, `subtle ${cos(subtle, base)}`);
  assert.ok(cos(strong, base) < cos(subtle, base));
  assert.ok(Math.abs(norm(strong) / norm(base) - 1) < 0.03);
  assert.ok(bytes(variationNoise(10, 99, 0.2, 4096)).equals(bytes(subtle)));
  assert.throws(() => variationNoise(10, 99, 1.5, 16), NoiseArgumentError);
});

test('a batch noise source gives each image its own stream, independent of the batch size', () => {
  const per = 32;
  const pair = batchNoiseSource([new NoiseStream(5), new NoiseStream(6)], per);
  const alone = batchNoiseSource([new NoiseStream(6)], per);
  for (let draw = 0; draw < 3; draw++) {
    const batch = pair();
    const single = alone();
    assert.equal(batch.length, 2 * per);
    assert.ok(bytes(batch.subarray(per)).equals(bytes(single)));
  }
});
