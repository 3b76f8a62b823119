import { test } from 'node:test';
import assert from 'node:assert/strict';
import { float16ToFloat32, float32ToFloat16, fromHalfBits, toHalfBits } from '../../src/engine/float16.ts';

test('known half-precision bit patterns', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff],
    [2 ** -14, 0x0400],
    [2 ** -24, 0x0001],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [1e6, 0x7c00],
    [0.333251953125, 0x3555],
    [2 ** -25, 0x0000],
    [3 * 2 ** -26, 0x0001],
  ];
  for (const [value, bits] of cases) {
    assert.equal(toHalfBits(value), bits, `toHalfBits(${value})`);
    if ((Number.isFinite(value) && Math.abs(value) < 65520 && bits !== 0) || value === 0)
      assert.equal(fromHalfBits(bits), fromHalfBits(toHalfBits(value)));
  }
  assert.ok(Number.isNaN(fromHalfBits(toHalfBits(NaN))));
});

test('rounds to nearest, ties to even', () => {
  // 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties go to the even mantissa (1)
  assert.equal(toHalfBits(1 + 2 ** -11), 0x3c00);
  // 1 + 3 * 2^-11 is halfway between 1+2^-10 (odd) and 1+2^-9 (even)
  assert.equal(toHalfBits(1 + 3 * 2 ** -11), 0x3c02);
  assert.equal(toHalfBits(1 + 2 ** -11 + 2 ** -20), 0x3c01);
  // 65520 rounds up to infinity
  assert.equal(toHalfBits(65520), 0x7c00);
});

test('every finite half survives a round trip through float32', () => {
  const all = new Uint16Array(65536).map((_, i) => i);
  const back = float32ToFloat16(float16ToFloat32(all));
  for (let i = 0; i < 65536; i++) {
    const e = (i >> 10) & 0x1f;
    if (e === 31 && i & 0x3ff) continue; // NaN payloads collapse to one NaN
    assert.equal(back[i], i, `bits ${i.toString(16)}`);
  }
});

test('relative error of a conversion stays within half an ulp', () => {
  for (let v = 1e-3; v < 6e4; v *= 1.37) {
    const h = fromHalfBits(toHalfBits(v));
    assert.ok(Math.abs(h - v) / v <= 2 ** -11, `${v} -> ${h}`);
  }
});
