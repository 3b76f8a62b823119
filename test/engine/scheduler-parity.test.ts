// Our samplers against diffusers' own scheduler classes, on the same fake-model problem with the same
// starting noise and the same per-step noise: SD 1.5's scheduler_config.json x leading/trailing/linspace x
// epsilon/v_prediction x 4, 20, 25 steps, and LCM's defaults at 2, 4 and 8 steps. The reference numbers are
// test/fixtures/golden/schedulers.json, made by test/fixtures/make-scheduler-golden.py (CI needs no PyTorch).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createScheduler, parseSchedulerConfig } from '../../src/engine/schedulers/index.ts';

interface GoldenCase {
  sampler: string;
  config: Record<string, unknown>;
  steps: number;
  timesteps: number[];
  initNoiseSigma: number;
  start: number[];
  noise: number[][];
  samples: number[][];
}

const golden = JSON.parse(readFileSync(new URL('../fixtures/golden/schedulers.json', import.meta.url), 'utf8')) as {
  shape: number[];
  cases: GoldenCase[];
};

/** The fake model of the golden script: eps = 0.8 x + 0.1 sin(0.37 i + t / 137). */
function fakeModel(x: Float32Array, t: number): Float32Array {
  return Float32Array.from(x, (v, i) => 0.8 * v + 0.1 * Math.sin(0.37 * i + t / 137));
}

/**
 * Deliberate departure: diffusers' DDIM steps back by num_train_timesteps // steps whatever the spacing
 * (its issue #12633); with linspace spacing that is not the previous timestep, and we use the real one.
 */
const departs = (c: GoldenCase) => c.sampler === 'ddim' && c.config.timestep_spacing === 'linspace';

function label(c: GoldenCase): string {
  return `${c.sampler} ${c.config.timestep_spacing ?? ''} ${c.config.prediction_type ?? 'epsilon'} ${c.steps} steps`;
}

/** Largest difference relative to the reference's scale (float32 arithmetic on both sides). */
function worst(ours: ArrayLike<number>, theirs: readonly number[]): number {
  let scale = 1;
  for (const v of theirs) scale = Math.max(scale, Math.abs(v));
  let max = 0;
  for (let i = 0; i < theirs.length; i++) max = Math.max(max, Math.abs(ours[i] - theirs[i]));
  return max / scale;
}

function runOurs(c: GoldenCase) {
  const scheduler = createScheduler(c.sampler, parseSchedulerConfig(c.config));
  scheduler.setTimesteps(c.steps);
  let drawn = 0;
  const noise = () => Float32Array.from(c.noise[drawn++]);
  let latents: Float32Array = Float32Array.from(c.start, (v) => v * scheduler.initNoiseSigma);
  const samples: Float32Array[] = [];
  for (let k = 0; k < scheduler.timesteps.length; k++) {
    const eps = fakeModel(scheduler.scaleModelInput(latents, k), scheduler.timesteps[k]);
    latents = scheduler.step(eps, k, latents, noise).prevSample;
    samples.push(latents);
  }
  // diffusers' DPM-Solver++ works on VP latents (x / sqrt(sigma^2 + 1), starting at std 1); ours on the
  // equivalent sigma-space ones: compare in its terms. The two agree wherever sigma is 0 (the end).
  const sigmas = (scheduler as unknown as { sigmas?: Float64Array }).sigmas;
  if (c.initNoiseSigma === 1 && sigmas) {
    const vp = (k: number) => 1 / Math.sqrt(sigmas[k] * sigmas[k] + 1);
    return {
      timesteps: scheduler.timesteps,
      initNoiseSigma: scheduler.initNoiseSigma * vp(0),
      samples: samples.map((s, k) => s.map((v) => v * vp(k + 1))),
      drawn,
    };
  }
  return { timesteps: scheduler.timesteps, initNoiseSigma: scheduler.initNoiseSigma, samples, drawn };
}

test('the golden file covers every sampler, spacing, prediction type and step count asked for', () => {
  const labels = new Set(golden.cases.map(label));
  assert.equal(labels.size, golden.cases.length);
  assert.equal(golden.cases.length, 4 * 3 * 2 * 3 + 3);
});

for (const c of golden.cases) {
  test(`${label(c)}: the same timesteps, starting sigma and samples as diffusers`, {
    skip: departs(c) && 'a deliberate departure (see above)',
  }, () => {
    const ours = runOurs(c);
    assert.equal(ours.timesteps.length, c.timesteps.length);
    assert.ok(worst(ours.timesteps, c.timesteps) < 1e-4, `timesteps ${ours.timesteps} vs ${c.timesteps}`);
    assert.ok(
      Math.abs(ours.initNoiseSigma - c.initNoiseSigma) <= 1e-5 * c.initNoiseSigma,
      `init sigma ${ours.initNoiseSigma} vs ${c.initNoiseSigma}`,
    );
    // Draw k is step k's noise on both sides; diffusers also draws on the last step, where it is scaled by 0.
    assert.ok(
      ours.drawn <= c.noise.length && ours.drawn >= c.noise.length - 1,
      `${ours.drawn} noise draws, diffusers ${c.noise.length}`,
    );
    for (let k = 0; k < c.samples.length; k++) {
      const err = worst(ours.samples[k], c.samples[k]);
      assert.ok(err < 2e-4, `step ${k + 1}: relative difference ${err.toExponential(2)}`);
    }
  });
}
