// What DDIM and LCM share: they work in alpha space, x_t = sqrt(a_t) x0 + sqrt(1 - a_t) eps with
// a_t = alphas_cumprod[t] (Ho et al. 2020, "Denoising Diffusion Probabilistic Models", eq. 4), on integer
// timesteps; the model input is the sample itself and the starting noise has std 1.
import { alphasCumprod, checkStepArgs, withDefaults } from './common.ts';
import type { NoiseSource, Scheduler, SchedulerConfig, StepOutput } from './types.ts';
import type { SamplerName } from './types.ts';

export abstract class AlphaScheduler implements Scheduler {
  abstract readonly name: SamplerName;
  readonly config: Required<SchedulerConfig>;
  readonly alphasCumprod: Float64Array;
  /** alpha-bar after the last step: 1 (set_alpha_to_one) or alphas_cumprod[0]. */
  readonly finalAlphaCumprod: number;
  readonly initNoiseSigma = 1;
  private currentTimesteps: number[] = [];

  constructor(config: SchedulerConfig) {
    this.config = withDefaults(config);
    this.alphasCumprod = alphasCumprod(this.config);
    this.finalAlphaCumprod = this.config.setAlphaToOne ? 1 : this.alphasCumprod[0];
  }

  get timesteps(): readonly number[] {
    return this.currentTimesteps;
  }

  abstract setTimesteps(steps: number): void;
  abstract step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise: NoiseSource): StepOutput;

  protected setSchedule(timesteps: number[]): void {
    this.currentTimesteps = timesteps;
  }

  /** alpha-bar at step i, and at the step after it (the final value past the last step). */
  protected alphas(stepIndex: number): { alpha: number; alphaPrev: number } {
    const t = this.currentTimesteps[stepIndex];
    const next = this.currentTimesteps[stepIndex + 1];
    return {
      alpha: this.alphasCumprod[t],
      alphaPrev: next === undefined ? this.finalAlphaCumprod : this.alphasCumprod[next],
    };
  }

  /** The model sees the sample unscaled; this returns `sample` itself (do not mutate it). */
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array {
    checkStepArgs(this.currentTimesteps, stepIndex, sample, sample);
    return sample;
  }

  /** sqrt(a_t) x0 + sqrt(1 - a_t) noise at step i's timestep. */
  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array {
    checkStepArgs(this.currentTimesteps, stepIndex, noise, original);
    const alpha = this.alphasCumprod[this.currentTimesteps[stepIndex]];
    const a = Math.sqrt(alpha);
    const b = Math.sqrt(1 - alpha);
    const out = new Float32Array(original.length);
    for (let i = 0; i < out.length; i++) out[i] = a * original[i] + b * noise[i];
    return out;
  }

  /** x0 and eps estimates from the model output, for each prediction type (DDIM eq. 12; v: Salimans & Ho 2022). */
  protected predict(
    modelOutput: Float32Array,
    alpha: number,
    sample: Float32Array,
  ): { x0: Float32Array; eps: Float32Array } {
    const sa = Math.sqrt(alpha);
    const sb = Math.sqrt(1 - alpha);
    const x0 = new Float32Array(sample.length);
    const eps = new Float32Array(sample.length);
    const n = sample.length;
    switch (this.config.predictionType) {
      case 'epsilon':
        for (let i = 0; i < n; i++) x0[i] = (sample[i] - sb * modelOutput[i]) / sa;
        eps.set(modelOutput);
        break;
      case 'v_prediction':
        for (let i = 0; i < n; i++) {
          x0[i] = sa * sample[i] - sb * modelOutput[i];
          eps[i] = sa * modelOutput[i] + sb * sample[i];
        }
        break;
      case 'sample':
        x0.set(modelOutput);
        for (let i = 0; i < n; i++) eps[i] = (sample[i] - sa * modelOutput[i]) / sb;
        break;
    }
    return { x0, eps };
  }
}
