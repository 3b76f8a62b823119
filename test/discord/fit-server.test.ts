import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fitToServer, type BuiltRequest } from '../../src/commands/imagine.ts';
import { aspectToSize } from '../../src/commands/aspect.ts';
import { DEFAULT_SETTINGS } from '../../src/queue/index.ts';

const built = (
  aspect: string,
  side: number,
  given: Partial<Pick<BuiltRequest, 'stepsGiven' | 'samplerGiven'>> = {},
): BuiltRequest => ({
  request: {
    prompt: 'x',
    seed: 1,
    steps: 20,
    guidance: 7,
    sampler: 'euler_a',
    count: 1,
    ...aspectToSize(aspect, side),
  },
  stepsGiven: false,
  samplerGiven: false,
  video: false,
  ...given,
});

test('a 512-px model at the default 512 px max_side: 16:9 is 512x288, 9:16 288x512, 1:1 untouched', () => {
  const fit = (aspect: string) => {
    const r = fitToServer(built(aspect, 512), DEFAULT_SETTINGS);
    return `${r.width}x${r.height}`;
  };
  assert.equal(fit('16:9'), '512x288');
  assert.equal(fit('9:16'), '288x512');
  assert.equal(fit('3:2'), '512x336');
  assert.equal(fit('1:1'), '512x512');
  assert.equal(fit('4:1'), '512x128');
});

test('defaults the user left out fit the server; what they typed is left for the limits to judge', () => {
  const settings = { ...DEFAULT_SETTINGS, maxSteps: 8, allowedSamplers: ['ddim' as const] };
  const left = fitToServer(built('1:1', 64), settings);
  assert.equal(left.steps, 8);
  assert.equal(left.sampler, 'ddim');
  const typed = fitToServer(built('1:1', 64, { stepsGiven: true, samplerGiven: true }), settings);
  assert.equal(typed.steps, 20);
  assert.equal(typed.sampler, 'euler_a');
});
