// The one request policy: ranges, the merge of engine limits with a server's settings, fitting defaults.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aspectToSize } from '../../src/commands/aspect.ts';
import { DEFAULT_LIMITS } from '../../src/engine/validate.ts';
import { MAX_SEED } from '../../src/engine/noise.ts';
import type { GenerateRequest } from '../../src/engine/types.ts';
import {
  DEFAULT_SETTINGS,
  fitDefaults,
  outOfRange,
  paramProblem,
  policyFor,
  REQUEST_RANGES,
} from '../../src/queue/index.ts';

const request = (aspect: string, side: number): GenerateRequest => ({
  prompt: 'x',
  seed: 1,
  steps: 20,
  guidance: 7,
  sampler: 'euler_a',
  count: 1,
  ...aspectToSize(aspect, { side, multiple: 8, buckets: false }),
});
const typedNothing = { steps: false, sampler: false };

test('a 512-px model at the default 512 px max_side: 16:9 is 512x288, 9:16 288x512, 1:1 untouched', () => {
  const fit = (aspect: string) => {
    const r = fitDefaults(request(aspect, 512), typedNothing, policyFor(DEFAULT_SETTINGS));
    return `${r.width}x${r.height}`;
  };
  assert.equal(fit('16:9'), '512x288');
  assert.equal(fit('9:16'), '288x512');
  assert.equal(fit('3:2'), '512x336');
  assert.equal(fit('1:1'), '512x512');
  assert.equal(fit('4:1'), '512x128');
});

test("an SDXL bucket under max_side keeps the model's multiple of 32", () => {
  const xl = { side: 1024, multiple: 32, buckets: true };
  const base = { prompt: 'x', seed: 1, steps: 20, guidance: 7, sampler: 'euler_a' as const, count: 1 };
  const fit = (aspect: string, maxSide: number) => {
    const r = fitDefaults(
      { ...base, ...aspectToSize(aspect, xl) },
      { ...typedNothing, sizeMultiple: 32 },
      policyFor({ ...DEFAULT_SETTINGS, maxSide }),
    );
    return `${r.width}x${r.height}`;
  };
  assert.equal(fit('16:9', 2048), '1344x768', 'the bucket itself');
  assert.equal(fit('16:9', 1024), '1024x576');
  assert.equal(fit('4:1', 1024), '1024x416', '1536x640 scaled, floored to 32');
  assert.equal(fit('1:1', 512), '512x512');
});

test('defaults the user left out fit the server; what they typed is left for the limits to judge', () => {
  const policy = policyFor({ ...DEFAULT_SETTINGS, maxSteps: 8, allowedSamplers: ['ddim'] });
  const left = fitDefaults(request('1:1', 64), typedNothing, policy);
  assert.deepEqual([left.steps, left.sampler], [8, 'ddim']);
  const typed = fitDefaults(request('1:1', 64), { steps: true, sampler: true }, policy);
  assert.deepEqual([typed.steps, typed.sampler], [20, 'euler_a']);
  assert.equal(paramProblem(policy, typed)?.field, 'steps');
});

test("the ranges are the engine's, and a server's settings only lower them", () => {
  assert.deepEqual(REQUEST_RANGES.steps, [1, DEFAULT_LIMITS.maxSteps]);
  assert.deepEqual(REQUEST_RANGES.seed, [0, MAX_SEED]);
  assert.equal(outOfRange({ steps: DEFAULT_LIMITS.maxSteps, seed: MAX_SEED, count: 1, guidance: 0 }), undefined);
  assert.equal(outOfRange({ seed: MAX_SEED + 1 }), 'seed');
  assert.equal(outOfRange({ guidance: -0.5 }), 'guidance');
  const generous = policyFor({ ...DEFAULT_SETTINGS, maxSteps: 10_000, maxCount: 99 });
  assert.deepEqual([generous.maxSteps, generous.maxCount], [DEFAULT_LIMITS.maxSteps, DEFAULT_LIMITS.maxCount]);
  const r = request('1:1', 64);
  assert.equal(
    paramProblem(generous, { ...r, count: 5 })?.message,
    `expected count between 1 and ${DEFAULT_LIMITS.maxCount}, got 5`,
  );
  assert.equal(paramProblem(generous, r), undefined);
});
