// LCM multistep sampling: Luo et al. 2023, "Latent Consistency Models: Synthesizing High-Resolution Images
// with Few-Step Inference" (arXiv:2310.04378), Algorithm 3; diffusers' LCMScheduler. The consistency
// function f(x, t) = c_skip(t) x + c_out(t) x0_hat(x, t) (Song et al. 2023, "Consistency Models", eq. 7),
// then re-noised to the next timestep with fresh noise. A U-Net that wants `timestep_cond` (the guidance
// embedding) gets it from the pipeline, not from here.
import { checkStepArgs, checkStepCount, SchedulerRangeError } from './common.ts';
import { AlphaScheduler } from './alpha-base.ts';
import type { NoiseSource, StepOutput } from './types.ts';

const SIGMA_DATA = 0.5;

export class LcmScheduler extends AlphaScheduler {
  readonly name = 'lcm' as const;

  /**
   * The distillation's timesteps k-1, 2k-1, ..., T-1 (k = T / original_inference_steps), largest first,
   * then `steps` of them evenly skipped: 4 steps of SD's 1000 give 999, 759, 499, 259.
   */
  setTimesteps(steps: number): void {
    const original = this.config.originalInferenceSteps;
    checkStepCount(steps, original);
    const k = Math.floor(this.config.numTrainTimesteps / original);
    const origin: number[] = [];
    for (let i = original; i >= 1; i--) origin.push(i * k - 1);
    const timesteps: number[] = [];
    for (let i = 0; i < steps; i++) timesteps.push(origin[Math.floor((i * origin.length) / steps)]);
    this.setSchedule(timesteps);
  }

  /** c_skip and c_out of the boundary condition f(x, 0) = x, at timestep t scaled by timestep_scaling. */
  boundaryScalings(timestep: number): { cSkip: number; cOut: number } {
    const t = timestep * this.config.timestepScaling;
    return { cSkip: SIGMA_DATA ** 2 / (t * t + SIGMA_DATA ** 2), cOut: t / Math.sqrt(t * t + SIGMA_DATA ** 2) };
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise: NoiseSource): StepOutput {
    checkStepArgs(this.timesteps, stepIndex, modelOutput, sample);
    // 1. alpha-bar now and at the next timestep
    const { alpha, alphaPrev } = this.alphas(stepIndex);
    // 2. boundary-condition scalings
    const { cSkip, cOut } = this.boundaryScalings(this.timesteps[stepIndex]);
    // 3. x0 estimate from the model output
    const { x0 } = this.predict(modelOutput, alpha, sample);
    // 4. the consistency function's output: the denoised sample
    const denoised = new Float32Array(sample.length);
    for (let i = 0; i < denoised.length; i++) denoised[i] = cOut * x0[i] + cSkip * sample[i];
    // 5. re-noise to the next timestep, except after the last step
    if (stepIndex === this.timesteps.length - 1) return { prevSample: denoised.slice(), predOriginalSample: denoised };
    const z = noise();
    if (z.length !== sample.length)
      throw new SchedulerRangeError(`expected the noise source to give ${sample.length} values, got ${z.length}`);
    const a = Math.sqrt(alphaPrev);
    const b = Math.sqrt(1 - alphaPrev);
    const prev = new Float32Array(sample.length);
    for (let i = 0; i < prev.length; i++) prev[i] = a * denoised[i] + b * z[i];
    return { prevSample: prev, predOriginalSample: denoised };
  }
}
