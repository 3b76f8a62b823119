import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NoiseStream, randn } from '../../src/engine/noise.ts';
import { SAMPLERS, type SamplerName } from '../../src/engine/types.ts';
import {
  createScheduler,
  DdimScheduler,
  DpmPp2mKarrasScheduler,
  EulerAncestralScheduler,
  EulerScheduler,
  LcmScheduler,
  parseSchedulerConfig,
  SchedulerConfigError,
  SchedulerRangeError,
  SchedulerStateError,
  startIndexForStrength,
  UnknownSamplerError,
  type Scheduler,
  type SchedulerConfig,
} from '../../src/engine/schedulers/index.ts';
import { alphasCumprod, betas, trainingSigmas } from '../../src/engine/schedulers/common.ts';
import { SigmaScheduler } from '../../src/engine/schedulers/sigma-base.ts';
import { AlphaScheduler } from '../../src/engine/schedulers/alpha-base.ts';

// Stable Diffusion 1.5's scheduler/scheduler_config.json, as shipped (a PNDM config).
const SD15_JSON = `{
  "_class_name": "PNDMScheduler",
  "_diffusers_version": "0.6.0",
  "beta_end": 0.012,
  "beta_schedule": "scaled_linear",
  "beta_start": 0.00085,
  "num_train_timesteps": 1000,
  "set_alpha_to_one": false,
  "skip_prk_steps": true,
  "steps_offset": 1,
  "trained_betas": null,
  "clip_sample": false
}`;
const SD = parseSchedulerConfig(SD15_JSON);
const with_ = (patch: Partial<SchedulerConfig>): SchedulerConfig => ({ ...SD, ...patch });
const noNoise = (): Float32Array => {
  throw new Error('a deterministic sampler drew noise');
};
const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);

/** Noise level of step i in sigma terms, whichever space the scheduler works in. */
function sigmaOf(s: Scheduler, i: number): number {
  if (s instanceof SigmaScheduler) return s.sigmas[i];
  if (s instanceof AlphaScheduler) {
    const a = s.alphasCumprod[s.timesteps[i]];
    return Math.sqrt((1 - a) / a);
  }
  throw new Error(`unknown scheduler ${s.name}`);
}

/** The unscaled (sigma-space) sample behind a model input: x = x0 + sigma * eps. */
function unscale(s: Scheduler, input: Float32Array, i: number): Float32Array {
  const sigma = sigmaOf(s, i);
  // Both spaces feed the model sqrt(a) x = x / sqrt(sigma^2 + 1).
  return input.map((x) => x * Math.sqrt(sigma * sigma + 1));
}

/** Runs a whole sampling loop with `denoiser(x, sigma) -> x0 estimate`, the model answering with epsilon. */
function sample(
  s: Scheduler,
  start: Float32Array,
  denoiser: (x: Float32Array, sigma: number) => Float32Array,
  noise = noNoise,
): Float32Array {
  let x = start;
  for (let i = 0; i < s.timesteps.length; i++) {
    const input = s.scaleModelInput(x, i);
    const sigma = sigmaOf(s, i);
    const xs = unscale(s, input, i);
    const d = denoiser(xs, sigma);
    const eps = xs.map((v, k) => (v - d[k]) / sigma);
    x = s.step(eps, i, x, noise).prevSample;
  }
  return x;
}

/** The starting sample for sigma-space x = x0 + sigma_0 * z, in the scheduler's own space. */
function startFrom(s: Scheduler, sigmaSpace: Float32Array): Float32Array {
  if (s instanceof SigmaScheduler) return sigmaSpace;
  const sigma = sigmaOf(s, 0);
  return sigmaSpace.map((x) => x / Math.sqrt(sigma * sigma + 1));
}

test("SD's largest sigma is about 14.6146", () => {
  const sigmas = trainingSigmas(alphasCumprod(SD));
  assert.ok(Math.abs(sigmas[999] - 14.6146) < 1e-3, `${sigmas[999]}`);
  assert.ok(Math.abs(sigmas[0] - 0.0292) < 1e-3, `${sigmas[0]}`);
  const euler = new EulerScheduler(with_({ timestepSpacing: 'linspace' }));
  euler.setTimesteps(30);
  assert.ok(Math.abs(euler.sigmas[0] - 14.6146) < 1e-3);
  assert.equal(euler.sigmas[30], 0);
  // As diffusers: linspace and trailing start at sigma_max itself, leading at sqrt(sigma_max^2 + 1).
  assert.ok(Math.abs(euler.initNoiseSigma - euler.sigmas[0]) < 1e-9);
  const leading = new EulerScheduler(with_({ timestepSpacing: 'leading' }));
  leading.setTimesteps(30);
  assert.ok(Math.abs(leading.initNoiseSigma - Math.sqrt(leading.sigmas[0] ** 2 + 1)) < 1e-9);
});

test('parses scheduler_config.json with defaults and refuses bad values', () => {
  assert.equal(SD.betaSchedule, 'scaled_linear');
  assert.equal(SD.stepsOffset, 1);
  assert.equal(SD.setAlphaToOne, false);
  assert.equal(SD.predictionType, 'epsilon');
  assert.equal(SD.timestepSpacing, 'leading');
  const defaults = parseSchedulerConfig({});
  assert.equal(defaults.numTrainTimesteps, 1000);
  assert.equal(defaults.betaSchedule, 'linear');
  assert.equal(defaults.originalInferenceSteps, 50);
  assert.equal(
    parseSchedulerConfig({ prediction_type: 'v_prediction', timestep_spacing: 'trailing' }).predictionType,
    'v_prediction',
  );
  const bad = [
    { beta_schedule: 'cosine' },
    { prediction_type: 'noise' },
    { steps_offset: -1 },
    { beta_start: 'x' },
    { beta_start: 0.5, beta_end: 0.1 },
    '{oops',
    [],
    null,
  ];
  for (const json of bad) assert.throws(() => parseSchedulerConfig(json), SchedulerConfigError, JSON.stringify(json));
  assert.throws(
    () => parseSchedulerConfig({ beta_schedule: 'cosine' }),
    /expected beta_schedule to be one of linear, scaled_linear, squaredcos_cap_v2, got "cosine"/,
  );
});

test('beta schedules: linear endpoints, scaled_linear, cosine capped; alphas_cumprod decreasing', () => {
  const linear = betas(with_({ betaSchedule: 'linear', betaStart: 0.0001, betaEnd: 0.02 }));
  assert.ok(Math.abs(linear[0] - 0.0001) < 1e-12 && Math.abs(linear[999] - 0.02) < 1e-12);
  const scaled = betas(SD);
  assert.ok(Math.abs(scaled[0] - 0.00085) < 1e-12 && Math.abs(scaled[999] - 0.012) < 1e-12);
  assert.ok(Math.abs(scaled[500] - ((Math.sqrt(0.00085) + Math.sqrt(0.012)) / 2) ** 2) < 1e-5);
  const cosine = betas(with_({ betaSchedule: 'squaredcos_cap_v2' }));
  assert.ok(cosine.every((b) => b > 0 && b <= 0.999));
  assert.equal(cosine[999], 0.999);
  for (const schedule of ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const) {
    const ac = alphasCumprod(with_({ betaSchedule: schedule }));
    for (let i = 1; i < ac.length; i++) assert.ok(ac[i] < ac[i - 1] && ac[i] > 0);
  }
});

test('timesteps match diffusers for known configs', () => {
  const ddim = new DdimScheduler(SD);
  ddim.setTimesteps(50);
  assert.deepEqual(
    ddim.timesteps,
    Array.from({ length: 50 }, (_, k) => 981 - 20 * k),
  );
  const euler = new EulerScheduler(with_({ timestepSpacing: 'linspace' }));
  euler.setTimesteps(25);
  assert.deepEqual(euler.timesteps.slice(0, 3), [999, 957.375, 915.75]);
  assert.equal(euler.timesteps[24], 0);
  // Expected values from numpy: round(arange(1000, 0, -1000/16)) - 1 (half to even) and linspace(...).round().
  const trailing = new DdimScheduler(with_({ timestepSpacing: 'trailing' }));
  trailing.setTimesteps(16);
  assert.deepEqual(trailing.timesteps, [999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61]);
  trailing.setTimesteps(3);
  assert.deepEqual(trailing.timesteps, [999, 666, 332]);
  const linspace = new DdimScheduler(with_({ timestepSpacing: 'linspace' }));
  linspace.setTimesteps(3);
  assert.deepEqual(linspace.timesteps, [999, 500, 0]);
  linspace.setTimesteps(7);
  assert.deepEqual(linspace.timesteps, [999, 832, 666, 500, 333, 166, 0]);
  const lcm = new LcmScheduler(SD);
  lcm.setTimesteps(4);
  assert.deepEqual(lcm.timesteps, [999, 759, 499, 259]);
  lcm.setTimesteps(1);
  assert.deepEqual(lcm.timesteps, [999]);
});

test('Karras sigmas: first sigma_max, strictly decreasing, sigma_min, then 0', () => {
  const s = new DpmPp2mKarrasScheduler(SD);
  s.setTimesteps(20);
  const sig = s.sigmas;
  assert.equal(sig.length, 21);
  assert.ok(Math.abs(sig[0] - 14.6146) < 1e-3);
  assert.ok(Math.abs(sig[19] - 0.0292) < 1e-3);
  assert.equal(sig[20], 0);
  for (let i = 1; i < sig.length; i++) assert.ok(sig[i] < sig[i - 1]);
  assert.ok(Math.abs(s.timesteps[0] - 999) < 1e-6 && Math.abs(s.timesteps[19]) < 1e-6);
  for (let i = 1; i < 20; i++) assert.ok(s.timesteps[i] < s.timesteps[i - 1]);
  // Karras spacing puts more steps at low noise than Euler's linear spacing does.
  assert.ok(sig[10] < 2);
});

test('sigma samplers scale the model input by 1/sqrt(sigma^2+1) and add noise as x0 + sigma*noise', () => {
  const s = new EulerScheduler(SD);
  s.setTimesteps(10);
  const x = randn(1, 16);
  const sigma = s.sigmas[3];
  const scaled = s.scaleModelInput(x, 3);
  assert.ok(
    maxDiff(
      scaled,
      x.map((v) => v / Math.sqrt(sigma * sigma + 1)),
    ) < 1e-6,
  );
  const n = randn(2, 16);
  assert.ok(
    maxDiff(
      s.addNoise(x, n, 3),
      x.map((v, i) => v + sigma * n[i]),
    ) < 1e-6,
  );
  assert.ok(Math.abs(s.initNoiseSigma - Math.sqrt(s.sigmas[0] ** 2 + 1)) < 1e-9);
  const ddim = new DdimScheduler(SD);
  ddim.setTimesteps(10);
  assert.equal(ddim.initNoiseSigma, 1);
  assert.equal(ddim.scaleModelInput(x, 0), x);
});

test('DDIM returns x0 exactly from the exact noise, at every step, for epsilon and v_prediction', () => {
  const x0 = randn(11, 256).map((v) => v * 0.8);
  const eps = randn(12, 256);
  for (const predictionType of ['epsilon', 'v_prediction', 'sample'] as const) {
    for (const timestepSpacing of ['leading', 'trailing'] as const) {
      const s = new DdimScheduler(with_({ predictionType, timestepSpacing }));
      s.setTimesteps(20);
      for (let i = 0; i < 20; i++) {
        const xt = s.addNoise(x0, eps, i);
        const a = s.alphasCumprod[s.timesteps[i]];
        const output =
          predictionType === 'epsilon'
            ? eps
            : predictionType === 'sample'
              ? x0
              : eps.map((e, k) => Math.sqrt(a) * e - Math.sqrt(1 - a) * x0[k]);
        const { predOriginalSample } = s.step(output, i, xt, noNoise);
        assert.ok(
          maxDiff(predOriginalSample, x0) < 1e-5,
          `${predictionType} ${timestepSpacing} step ${i}: ${maxDiff(predOriginalSample, x0)}`,
        );
      }
    }
  }
});

test('sigma samplers recover x0 from the exact epsilon or v', () => {
  const x0 = randn(21, 128);
  const eps = randn(22, 128);
  for (const predictionType of ['epsilon', 'v_prediction'] as const) {
    const s = new EulerScheduler(with_({ predictionType }));
    s.setTimesteps(10);
    for (const i of [0, 4, 9]) {
      const sigma = s.sigmas[i];
      const x = s.addNoise(x0, eps, i);
      const alpha = 1 / Math.sqrt(sigma * sigma + 1);
      const output = predictionType === 'epsilon' ? eps : eps.map((e, k) => alpha * e - sigma * alpha * x0[k]);
      assert.ok(maxDiff(s.step(output, i, x, noNoise).predOriginalSample, x0) < 1e-5);
    }
  }
});

test('every sampler denoises a point-mass toy problem to x0', () => {
  const x0 = randn(31, 512).map((v) => 0.7 * v + 0.2);
  for (const name of SAMPLERS) {
    const s = createScheduler(name, with_({ setAlphaToOne: true }));
    s.setTimesteps(name === 'lcm' ? 4 : 12);
    const z = randn(32, 512);
    const start = startFrom(
      s,
      x0.map((v, i) => v + sigmaOf(s, 0) * z[i]),
    );
    const stream = new NoiseStream(33);
    const result = sample(
      s,
      start,
      () => x0,
      () => stream.next(512),
    );
    assert.ok(maxDiff(result, x0) < 1e-3, `${name}: ${maxDiff(result, x0)}`);
  }
});

test('deterministic samplers solve the ODE of Gaussian data at their order; DDIM is Euler in sigma space', () => {
  // Data x0 ~ N(mu, s^2) per element: the ideal denoiser is linear and the probability-flow ODE maps
  // x = mu + sqrt(s^2 + sigma_0^2) z at sigma_0 to exactly mu + s z at sigma 0.
  const mu = 0.3;
  const s2 = 0.25;
  const denoiser = (x: Float32Array, sigma: number): Float32Array =>
    x.map((v) => mu + (s2 / (s2 + sigma * sigma)) * (v - mu));
  const z = randn(41, 1024);
  const exact = z.map((v) => mu + Math.sqrt(s2) * v);
  const solve = (name: SamplerName, steps: number): Float32Array => {
    const s = createScheduler(name, with_({ setAlphaToOne: true }));
    s.setTimesteps(steps);
    const sigma0 = sigmaOf(s, 0);
    const start = startFrom(
      s,
      z.map((v) => mu + Math.sqrt(s2 + sigma0 * sigma0) * v),
    );
    const first = sample(s, start, denoiser);
    assert.ok(bytes(first).equals(bytes(sample(s, start, denoiser))), `${name} is not deterministic`);
    return first;
  };
  const error = (name: SamplerName, steps: number): number => maxDiff(solve(name, steps), exact);
  // Doubling the steps halves a first-order method's error and quarters a second-order one's.
  const euler = [error('euler', 10), error('euler', 20)];
  const dpm = [error('dpmpp_2m_karras', 10), error('dpmpp_2m_karras', 20)];
  assert.ok(euler[1] / euler[0] > 0.4 && euler[1] / euler[0] < 0.65, `euler errors ${euler}`);
  assert.ok(dpm[1] / dpm[0] > 0.15 && dpm[1] / dpm[0] < 0.35, `dpm++ errors ${dpm}`);
  assert.ok(dpm[1] < 0.05 && dpm[1] < euler[1] / 4, `dpm++ ${dpm[1]} vs euler ${euler[1]}`);
  // On the same timesteps (leading spacing) a DDIM step and an Euler step are the same update.
  const ddim = solve('ddim', 20);
  const eulerSame = solve('euler', 20);
  assert.ok(maxDiff(ddim, eulerSame) < 1e-4, `ddim vs euler ${maxDiff(ddim, eulerSame)}`);
});

test('Euler ancestral samples the data distribution; its noise source decides the result', () => {
  const mu = -0.4;
  const s2 = 0.36;
  const denoiser = (x: Float32Array, sigma: number): Float32Array =>
    x.map((v) => mu + (s2 / (s2 + sigma * sigma)) * (v - mu));
  const n = 4096;
  const run = (seed: number, steps: number): Float32Array => {
    const s = new EulerAncestralScheduler(SD);
    s.setTimesteps(steps);
    const stream = new NoiseStream(seed);
    const start = stream.next(n).map((v) => mu + Math.sqrt(s2 + s.sigmas[0] ** 2) * v);
    return sample(s, start, denoiser, () => stream.next(n));
  };
  const a = run(1, 30);
  assert.ok(bytes(a).equals(bytes(run(1, 30))), 'same noise source, same result');
  assert.ok(!bytes(a).equals(bytes(run(2, 30))), 'different noise source, different result');
  const stats = (x: Float32Array): { mean: number; std: number } => {
    const mean = x.reduce((t, v) => t + v, 0) / n;
    return { mean, std: Math.sqrt(x.reduce((t, v) => t + (v - mean) ** 2, 0) / n) };
  };
  assert.ok(Math.abs(stats(a).mean - mu) < 0.03, `mean ${stats(a).mean}`);
  // Euler's first-order bias shrinks the spread; it closes on s as steps grow.
  const stds = [15, 30, 60].map((steps) => stats(run(3, steps)).std);
  assert.ok(stds[0] < stds[1] && stds[1] < stds[2] && stds[2] < Math.sqrt(s2) + 0.02, `stds ${stds}`);
  assert.ok(Math.abs(stds[2] - Math.sqrt(s2)) < 0.07, `std at 60 steps ${stds[2]}`);
});

test('LCM: same noise, same result; other noise, another result; boundary condition holds at t=0', () => {
  const x0 = randn(51, 64);
  const run = (seed: number): Float32Array => {
    const s = new LcmScheduler(SD);
    s.setTimesteps(4);
    const stream = new NoiseStream(seed);
    // A model that is only roughly right, so the re-noising shows in the result.
    return sample(
      s,
      stream.next(64),
      (x, sigma) => x0.map((v, i) => v + (0.1 * sigma * x[i]) / (1 + sigma)),
      () => stream.next(64),
    );
  };
  assert.ok(bytes(run(1)).equals(bytes(run(1))));
  assert.ok(!bytes(run(1)).equals(bytes(run(2))));
  const { cSkip, cOut } = new LcmScheduler(SD).boundaryScalings(0);
  assert.equal(cSkip, 1);
  assert.equal(cOut, 0);
});

test('DPM++ 2M starts afresh after setTimesteps and from a later step (image-to-image)', () => {
  const s = new DpmPp2mKarrasScheduler(SD);
  const x0 = randn(61, 64);
  const denoiser = (x: Float32Array, sigma: number): Float32Array =>
    x.map((v, i) => (v + sigma * sigma * x0[i]) / (1 + sigma * sigma));
  s.setTimesteps(10);
  const first = sample(
    s,
    randn(62, 64).map((v) => v * s.sigmas[0]),
    denoiser,
  );
  s.setTimesteps(10);
  const second = sample(
    s,
    randn(62, 64).map((v) => v * s.sigmas[0]),
    denoiser,
  );
  assert.ok(bytes(first).equals(bytes(second)));
  // Image-to-image from step 6: a first-order step, then second-order ones, solving the same ODE.
  const start = startIndexForStrength(10, 0.4);
  assert.equal(start, 6);
  const mu = 0.1;
  const s2 = 0.5;
  const gaussian = (x: Float32Array, sigma: number): Float32Array =>
    x.map((v) => mu + (s2 / (s2 + sigma * sigma)) * (v - mu));
  const z = randn(63, 64);
  const sigmaStart = s.sigmas[start];
  let x = s.addNoise(
    new Float32Array(64).fill(mu),
    z.map((v) => v * Math.sqrt((s2 + sigmaStart ** 2) / sigmaStart ** 2)),
    start,
  );
  for (let i = start; i < 10; i++) {
    const sigma = s.sigmas[i];
    const d = gaussian(x, sigma);
    x = s.step(
      x.map((v, k) => (v - d[k]) / sigma),
      i,
      x,
      noNoise,
    ).prevSample;
  }
  assert.ok(
    maxDiff(
      x,
      z.map((v) => mu + Math.sqrt(s2) * v),
    ) < 0.05,
    `img2img error ${maxDiff(
      x,
      z.map((v) => mu + Math.sqrt(s2) * v),
    )}`,
  );
});

test('startIndexForStrength follows diffusers and always leaves a step', () => {
  assert.equal(startIndexForStrength(50, 1), 0);
  assert.equal(startIndexForStrength(50, 0.75), 13);
  assert.equal(startIndexForStrength(50, 0.001), 49);
  assert.throws(() => startIndexForStrength(50, 0), SchedulerRangeError);
  assert.throws(() => startIndexForStrength(50, 1.2), SchedulerRangeError);
});

test('clear errors: step before setTimesteps, steps out of range, bad index, unknown sampler', () => {
  for (const name of SAMPLERS) {
    const s = createScheduler(name, SD);
    assert.deepEqual(s.timesteps, []);
    const x = new Float32Array(4);
    assert.throws(
      () => s.step(x, 0, x, noNoise),
      (e: unknown) => e instanceof SchedulerStateError && /call setTimesteps before step/.test(e.message),
      name,
    );
    assert.throws(() => s.scaleModelInput(x, 0), SchedulerStateError);
    assert.throws(() => s.addNoise(x, x, 0), SchedulerStateError);
    for (const steps of [0, -3, 2.5, 1001])
      assert.throws(() => s.setTimesteps(steps), SchedulerRangeError, `${name} ${steps}`);
    s.setTimesteps(4);
    assert.throws(() => s.step(x, 4, x, noNoise), /expected stepIndex between 0 and 3, got 4/);
    assert.throws(() => s.step(new Float32Array(3), 0, x, noNoise), /same length, got 3 and 4/);
  }
  assert.throws(() => new EulerScheduler(SD).setTimesteps(500_000), /expected steps between 1 and 1000, got 500000/);
  assert.throws(() => new LcmScheduler(SD).setTimesteps(51), /expected steps between 1 and 50, got 51/);
  assert.throws(
    () => createScheduler('plms', SD),
    (e: unknown) => e instanceof UnknownSamplerError && e.message.includes('euler_a'),
  );
  // steps_offset pushing a timestep past the end is refused, not wrapped.
  assert.throws(() => new DdimScheduler(with_({ stepsOffset: 5 })).setTimesteps(1000), SchedulerRangeError);
});

test('createScheduler builds each sampler by name, fresh each time', () => {
  const classes = {
    euler_a: EulerAncestralScheduler,
    euler: EulerScheduler,
    ddim: DdimScheduler,
    dpmpp_2m_karras: DpmPp2mKarrasScheduler,
    lcm: LcmScheduler,
  };
  for (const name of SAMPLERS) {
    const s = createScheduler(name, SD);
    assert.equal(s.name, name);
    assert.ok(s instanceof classes[name]);
    assert.notEqual(createScheduler(name, SD), s);
  }
});
