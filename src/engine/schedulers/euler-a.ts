// Euler ancestral: an Euler step down to sigma_down, then fresh noise up to sigma_next. Ancestral sampling
// from Ho et al. 2020, "Denoising Diffusion Probabilistic Models" (arXiv:2006.11239), in the sigma form of
// Karras et al. 2022 (arXiv:2206.00364) as k-diffusion's sample_euler_ancestral (eta 1) and diffusers'
// EulerAncestralDiscreteScheduler. The default sampler: stochastic, so the noise source matters.
import { checkStepArgs, SchedulerRangeError } from './common.ts';
import { SigmaScheduler } from './sigma-base.ts';
import type { NoiseSource, StepOutput } from './types.ts';

export class EulerAncestralScheduler extends SigmaScheduler {
  readonly name = 'euler_a' as const;

  setTimesteps(steps: number): void {
    this.setSpacedSchedule(steps);
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise: NoiseSource): StepOutput {
    checkStepArgs(this.timesteps, stepIndex, modelOutput, sample);
    const sigmaFrom = this.sigmas[stepIndex];
    const sigmaTo = this.sigmas[stepIndex + 1];
    // 1. estimate x0
    const x0 = this.denoised(modelOutput, sigmaFrom, sample);
    // 2. split the move to sigma_to into a deterministic part (down) and fresh noise (up)
    const sigmaUp = Math.sqrt(
      (sigmaTo * sigmaTo * (sigmaFrom * sigmaFrom - sigmaTo * sigmaTo)) / (sigmaFrom * sigmaFrom),
    );
    const sigmaDown = Math.sqrt(sigmaTo * sigmaTo - sigmaUp * sigmaUp);
    const dt = sigmaDown - sigmaFrom;
    // 3. Euler step to sigma_down
    const prev = new Float32Array(sample.length);
    for (let i = 0; i < prev.length; i++) prev[i] = sample[i] + ((sample[i] - x0[i]) / sigmaFrom) * dt;
    // 4. add noise of std sigma_up (none on the last step, where sigma_to = 0)
    if (sigmaUp > 0) {
      const z = noise();
      if (z.length !== prev.length)
        throw new SchedulerRangeError(`expected the noise source to give ${prev.length} values, got ${z.length}`);
      for (let i = 0; i < prev.length; i++) prev[i] += z[i] * sigmaUp;
    }
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
