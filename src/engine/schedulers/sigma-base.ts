// The part that Euler, Euler ancestral and DPM++ 2M share: they integrate the probability-flow ODE in
// sigma space (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models"),
// where x = x0 + sigma * eps and the model sees x / sqrt(sigma^2 + 1).
import { alphasCumprod, checkStepArgs, interpIndex, spacedTimesteps, trainingSigmas, withDefaults } from './common.ts';
import type { NoiseSource, Scheduler, SchedulerConfig, StepOutput } from './types.ts';
import type { SamplerName } from './types.ts';

export abstract class SigmaScheduler implements Scheduler {
  abstract readonly name: SamplerName;
  readonly config: Required<SchedulerConfig>;
  /** Training sigmas for t = 0..T-1, increasing. */
  protected readonly trainSigmas: Float64Array;
  protected readonly logSigmas: Float64Array;
  private currentTimesteps: number[] = [];
  /** One per step plus a final 0, decreasing. Empty before setTimesteps. */
  protected currentSigmas: Float64Array = new Float64Array(0);
  /** Start at sigma_max itself rather than sqrt(sigma_max^2 + 1) (set by setSpacedSchedule, see there). */
  private startAtSigmaMax = false;

  constructor(config: SchedulerConfig) {
    this.config = withDefaults(config);
    this.trainSigmas = trainingSigmas(alphasCumprod(this.config));
    this.logSigmas = this.trainSigmas.map(Math.log);
  }

  get timesteps(): readonly number[] {
    return this.currentTimesteps;
  }

  /** Noise level per step and a final 0 (length steps + 1); empty before setTimesteps. */
  get sigmas(): Float64Array {
    return this.currentSigmas;
  }

  /** The starting latent's std: sqrt(sigma_max^2 + 1) when x0 has unit variance, or sigma_max (see setSpacedSchedule). */
  get initNoiseSigma(): number {
    const max = this.currentSigmas.length > 0 ? this.currentSigmas[0] : this.trainSigmas[this.trainSigmas.length - 1];
    return this.startAtSigmaMax ? max : Math.sqrt(max * max + 1);
  }

  abstract setTimesteps(steps: number): void;
  abstract step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise: NoiseSource): StepOutput;

  /** Sets the schedule; `sigmas` must hold steps + 1 values ending in 0. */
  protected setSchedule(timesteps: number[], sigmas: Float64Array): void {
    this.currentTimesteps = timesteps;
    this.currentSigmas = sigmas;
  }

  /**
   * Euler-style schedule: timesteps by the config's spacing (fractional for linspace), the training sigma
   * interpolated at each (linear in sigma, as diffusers' np.interp), then a final 0.
   */
  protected setSpacedSchedule(steps: number): void {
    const timesteps = spacedTimesteps(this.config, steps, false);
    const sigmas = new Float64Array(steps + 1);
    timesteps.forEach((t, i) => (sigmas[i] = interpIndex(t, this.trainSigmas)));
    this.setSchedule(timesteps, sigmas);
    // As diffusers' Euler schedulers do (and models tuned on them expect): with trailing and linspace
    // spacing the first step starts at sigma_max, not sqrt(sigma_max^2 + 1).
    this.startAtSigmaMax = this.config.timestepSpacing !== 'leading';
  }

  /** x / sqrt(sigma^2 + 1): the VP-scaled input the U-Net was trained on. */
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    this.checkIndex(stepIndex, sample);
    const sigma = this.currentSigmas[stepIndex];
    const scale = 1 / Math.sqrt(sigma * sigma + 1);
    const out = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) out[i] = sample[i] * scale;
    return out;
  }

  /** x0 + sigma_i * noise. */
  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    checkStepArgs(this.currentTimesteps, stepIndex, noise, original);
    const sigma = this.currentSigmas[stepIndex];
    const out = new Float32Array(original.length);
    for (let i = 0; i < original.length; i++) out[i] = original[i] + sigma * noise[i];
    return out;
  }

  /** The model's estimate of x0 at noise level sigma, for each prediction type. */
  protected denoised(modelOutput: Float32Array, sigma: number, sample: Float32Array): Float32Array {
    const out = new Float32Array(sample.length);
    switch (this.config.predictionType) {
      case 'epsilon':
        for (let i = 0; i < out.length; i++) out[i] = sample[i] - sigma * modelOutput[i];
        break;
      case 'v_prediction': {
        // v = alpha * eps - s * x0 on the scaled input, alpha = 1/sqrt(sigma^2+1), s = sigma*alpha.
        const c = -sigma / Math.sqrt(sigma * sigma + 1);
        const d = 1 / (sigma * sigma + 1);
        for (let i = 0; i < out.length; i++) out[i] = modelOutput[i] * c + sample[i] * d;
        break;
      }
      case 'sample':
        out.set(modelOutput);
        break;
    }
    return out;
  }

  protected checkIndex(stepIndex: number, sample: Float32Array): void {
    checkStepArgs(this.currentTimesteps, stepIndex, sample, sample);
  }
}
