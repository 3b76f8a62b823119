// Euler's method on the probability-flow ODE, Karras et al. 2022, "Elucidating the Design Space of
// Diffusion-Based Generative Models" (arXiv:2206.00364), Algorithm 2 without churn; diffusers'
// EulerDiscreteScheduler. Deterministic: the noise source is never called.
import { checkStepArgs } from './common.ts';
import { SigmaScheduler } from './sigma-base.ts';
import type { NoiseSource, StepOutput } from './types.ts';

export class EulerScheduler extends SigmaScheduler {
  readonly name = 'euler' as const;

  setTimesteps(steps: number): void {
    this.setSpacedSchedule(steps);
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, _noise: NoiseSource): StepOutput {
    checkStepArgs(this.timesteps, stepIndex, modelOutput, sample);
    const sigma = this.sigmas[stepIndex];
    const dt = this.sigmas[stepIndex + 1] - sigma;
    // 1. estimate x0 from the model output
    const x0 = this.denoised(modelOutput, sigma, sample);
    // 2. ODE derivative d = (x - x0) / sigma, 3. Euler step x + d * dt
    const prev = new Float32Array(sample.length);
    for (let i = 0; i < prev.length; i++) prev[i] = sample[i] + ((sample[i] - x0[i]) / sigma) * dt;
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
