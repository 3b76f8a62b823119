// What every sampler shares: the noise schedule (betas -> alphas_cumprod -> sigmas), timestep spacing,
// scheduler_config.json parsing and the checks behind the samplers' error messages.
// Formulas follow diffusers (schedulers/scheduling_*.py); scalars are float64, tensors Float32Array.
import type { SchedulerConfig } from './types.ts';

export class SchedulerError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** scheduler_config.json holds a value the samplers cannot use. */
export class SchedulerConfigError extends SchedulerError {}

/** A step count or step index out of range, or arrays of the wrong length. */
export class SchedulerRangeError extends SchedulerError {}

/** A call in the wrong order, e.g. step before setTimesteps. */
export class SchedulerStateError extends SchedulerError {}

/** diffusers' defaults where scheduler_config.json says nothing, except as noted in parseSchedulerConfig. */
export const DEFAULT_SCHEDULER_CONFIG: Readonly<Required<SchedulerConfig>> = Object.freeze({
  numTrainTimesteps: 1000,
  betaStart: 0.0001,
  betaEnd: 0.02,
  betaSchedule: 'linear',
  predictionType: 'epsilon',
  timestepSpacing: 'leading',
  stepsOffset: 0,
  clipSample: false,
  clipSampleRange: 1,
  setAlphaToOne: true,
  originalInferenceSteps: 50,
  timestepScaling: 10,
});

const BETA_SCHEDULES = ['linear', 'scaled_linear', 'squaredcos_cap_v2'] as const;
const PREDICTION_TYPES = ['epsilon', 'v_prediction', 'sample'] as const;
const SPACINGS = ['leading', 'linspace', 'trailing'] as const;

/**
 * Reads diffusers' scheduler_config.json (a JSON string or the parsed object) into a SchedulerConfig.
 * Unknown keys (_class_name, skip_prk_steps, ...) are ignored. One deliberate departure from diffusers'
 * DDIM: clip_sample defaults to false, since latents are not bounded to [-1, 1].
 */
export function parseSchedulerConfig(json: unknown): Required<SchedulerConfig> {
  let raw = json;
  if (typeof raw === 'string') {
    try {
      raw = JSON.parse(raw);
    } catch (error) {
      throw new SchedulerConfigError(`expected scheduler_config.json to be JSON: ${(error as Error).message}`);
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SchedulerConfigError(
      `expected scheduler_config.json to hold an object, got ${raw === null ? 'null' : typeof raw}`,
    );
  }
  const obj = raw as Record<string, unknown>;
  const d = DEFAULT_SCHEDULER_CONFIG;
  const config: Required<SchedulerConfig> = {
    numTrainTimesteps: int(obj, 'num_train_timesteps', d.numTrainTimesteps, 2),
    betaStart: num(obj, 'beta_start', d.betaStart),
    betaEnd: num(obj, 'beta_end', d.betaEnd),
    betaSchedule: oneOf(obj, 'beta_schedule', BETA_SCHEDULES, d.betaSchedule),
    predictionType: oneOf(obj, 'prediction_type', PREDICTION_TYPES, d.predictionType),
    timestepSpacing: oneOf(obj, 'timestep_spacing', SPACINGS, d.timestepSpacing),
    stepsOffset: int(obj, 'steps_offset', d.stepsOffset, 0),
    clipSample: bool(obj, 'clip_sample', d.clipSample),
    clipSampleRange: num(obj, 'clip_sample_range', d.clipSampleRange),
    setAlphaToOne: bool(obj, 'set_alpha_to_one', d.setAlphaToOne),
    originalInferenceSteps: int(obj, 'original_inference_steps', d.originalInferenceSteps, 1),
    timestepScaling: num(obj, 'timestep_scaling', d.timestepScaling),
  };
  if (!(config.betaStart > 0 && config.betaEnd >= config.betaStart && config.betaEnd < 1)) {
    throw new SchedulerConfigError(
      `expected 0 < beta_start <= beta_end < 1, got beta_start ${config.betaStart} and beta_end ${config.betaEnd}`,
    );
  }
  return config;
}

/** Fills the optional keys of a hand-written config with the defaults. */
export function withDefaults(config: SchedulerConfig): Required<SchedulerConfig> {
  const out = { ...DEFAULT_SCHEDULER_CONFIG } as Required<SchedulerConfig>;
  for (const [key, value] of Object.entries(config))
    if (value !== undefined) (out as unknown as Record<string, unknown>)[key] = value;
  return out;
}

function num(obj: Record<string, unknown>, key: string, fallback: number): number {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new SchedulerConfigError(`expected ${key} to be a number, got ${JSON.stringify(value)}`);
  return value;
}

function int(obj: Record<string, unknown>, key: string, fallback: number, min: number): number {
  const value = num(obj, key, fallback);
  if (!Number.isInteger(value) || value < min)
    throw new SchedulerConfigError(`expected ${key} to be an integer >= ${min}, got ${value}`);
  return value;
}

function bool(obj: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'boolean')
    throw new SchedulerConfigError(`expected ${key} to be true or false, got ${JSON.stringify(value)}`);
  return value;
}

function oneOf<T extends string>(obj: Record<string, unknown>, key: string, allowed: readonly T[], fallback: T): T {
  const value = obj[key];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new SchedulerConfigError(`expected ${key} to be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return value as T;
}

/** The training noise schedule beta_1..beta_T (DDPM, Ho et al. 2020; cosine: Nichol & Dhariwal 2021). */
export function betas(config: SchedulerConfig): Float64Array {
  const n = config.numTrainTimesteps;
  const out = new Float64Array(n);
  switch (config.betaSchedule) {
    case 'linear':
      for (let i = 0; i < n; i++) out[i] = config.betaStart + ((config.betaEnd - config.betaStart) * i) / (n - 1);
      break;
    case 'scaled_linear': {
      // Stable Diffusion's: linear in sqrt(beta).
      const a = Math.sqrt(config.betaStart);
      const b = Math.sqrt(config.betaEnd);
      for (let i = 0; i < n; i++) out[i] = (a + ((b - a) * i) / (n - 1)) ** 2;
      break;
    }
    case 'squaredcos_cap_v2': {
      const alphaBar = (t: number): number => Math.cos(((t + 0.008) / 1.008) * (Math.PI / 2)) ** 2;
      for (let i = 0; i < n; i++) out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), 0.999);
      break;
    }
    default:
      throw new SchedulerConfigError(
        `expected beta_schedule linear, scaled_linear or squaredcos_cap_v2, got ${String(config.betaSchedule)}`,
      );
  }
  return out;
}

/** alpha-bar_t = prod_{s<=t} (1 - beta_s): the signal fraction left at training timestep t. */
export function alphasCumprod(config: SchedulerConfig): Float64Array {
  const b = betas(config);
  const out = new Float64Array(b.length);
  let prod = 1;
  for (let i = 0; i < b.length; i++) out[i] = prod *= 1 - b[i];
  return out;
}

/** Karras-style noise levels sigma_t = sqrt((1 - alpha-bar_t) / alpha-bar_t), increasing with t. */
export function trainingSigmas(alphasCumprod: Float64Array): Float64Array {
  return alphasCumprod.map((a) => Math.sqrt((1 - a) / a));
}

/** numpy's round (half to even), so spacing matches diffusers exactly on .5 values. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Inference timesteps, largest first, as diffusers spaces them ("Common Diffusion Noise Schedules and Sample
 * Steps are Flawed", Lin et al. 2023, table 2). Fractional for linspace unless `integer` is set.
 */
export function spacedTimesteps(config: SchedulerConfig, steps: number, integer: boolean): number[] {
  const n = config.numTrainTimesteps;
  checkStepCount(steps, n);
  const out: number[] = [];
  switch (config.timestepSpacing) {
    case 'linspace': {
      // np.linspace(0, T - 1, steps)[::-1]
      const delta = steps > 1 ? (n - 1) / (steps - 1) : 0;
      for (let k = steps - 1; k >= 0; k--) {
        const t = k === steps - 1 && steps > 1 ? n - 1 : k * delta;
        out.push(integer ? roundHalfEven(t) : t);
      }
      break;
    }
    case 'leading': {
      // (arange(steps) * (T // steps))[::-1] + steps_offset
      const ratio = Math.floor(n / steps);
      for (let k = steps - 1; k >= 0; k--) out.push(k * ratio + config.stepsOffset);
      break;
    }
    case 'trailing': {
      // round(arange(T, 0, -T / steps)) - 1
      const ratio = n / steps;
      for (let k = 0; k < steps; k++) out.push(roundHalfEven(n - k * ratio) - 1);
      break;
    }
    default:
      throw new SchedulerConfigError(
        `expected timestep_spacing leading, linspace or trailing, got ${String(config.timestepSpacing)}`,
      );
  }
  for (const t of out) {
    if (t < 0 || t > n - 1)
      throw new SchedulerRangeError(
        `expected timesteps within 0..${n - 1}, got ${t} (steps_offset ${config.stepsOffset} with ${steps} steps)`,
      );
  }
  return out;
}

/** numpy.interp over xp = 0, 1, ..., fp.length - 1. */
export function interpIndex(x: number, fp: Float64Array): number {
  if (x <= 0) return fp[0];
  if (x >= fp.length - 1) return fp[fp.length - 1];
  const lo = Math.floor(x);
  const w = x - lo;
  return fp[lo] * (1 - w) + fp[lo + 1] * w;
}

/** The (fractional) training timestep whose sigma is `sigma`, interpolating in log sigma as diffusers' _sigma_to_t. */
export function sigmaToTimestep(sigma: number, logSigmas: Float64Array): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10));
  let low = 0;
  for (let i = 0; i < logSigmas.length; i++) if (logSigmas[i] <= logSigma) low = i;
  low = Math.min(low, logSigmas.length - 2);
  const lo = logSigmas[low];
  const hi = logSigmas[low + 1];
  const w = Math.min(1, Math.max(0, (lo - logSigma) / (lo - hi)));
  return (1 - w) * low + w * (low + 1);
}

/** Karras et al. 2022 ("Elucidating the Design Space of Diffusion-Based Generative Models", eq. 5), rho = 7. */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, steps: number, rho = 7): Float64Array {
  const minInv = sigmaMin ** (1 / rho);
  const maxInv = sigmaMax ** (1 / rho);
  const out = new Float64Array(steps);
  for (let i = 0; i < steps; i++) {
    const ramp = steps > 1 ? i / (steps - 1) : 0;
    out[i] = (maxInv + ramp * (minInv - maxInv)) ** rho;
  }
  return out;
}

export function checkStepCount(steps: number, max: number): void {
  if (!Number.isInteger(steps) || steps < 1 || steps > max)
    throw new SchedulerRangeError(`expected steps between 1 and ${max}, got ${steps}`);
}

/** The checks at the top of every step(): order of calls, index range, matching lengths. */
export function checkStepArgs(timesteps: readonly number[], stepIndex: number, a: Float32Array, b: Float32Array): void {
  if (timesteps.length === 0)
    throw new SchedulerStateError('no timesteps yet: call setTimesteps before step, scaleModelInput or addNoise');
  if (!Number.isInteger(stepIndex) || stepIndex < 0 || stepIndex >= timesteps.length) {
    throw new SchedulerRangeError(`expected stepIndex between 0 and ${timesteps.length - 1}, got ${stepIndex}`);
  }
  if (a.length !== b.length)
    throw new SchedulerRangeError(
      `expected the model output and the sample to have the same length, got ${a.length} and ${b.length}`,
    );
}

/**
 * diffusers' img2img rule: with strength s, run only the last floor(steps * s) steps; this returns the index
 * of the first step to run (at least one step always runs). addNoise(source, noise, thatIndex) starts it.
 */
export function startIndexForStrength(steps: number, strength: number): number {
  if (!(strength > 0 && strength <= 1))
    throw new SchedulerRangeError(`expected a strength above 0 and at most 1, got ${strength}`);
  return steps - Math.max(1, Math.min(Math.floor(steps * strength), steps));
}
