// DDIM: Song, Meng & Ermon 2020, "Denoising Diffusion Implicit Models" (arXiv:2010.02502), eq. 12 with
// eta = 0 (deterministic); diffusers' DDIMScheduler. Integer timesteps by the config's spacing.
import { checkStepArgs, spacedTimesteps } from './common.ts';
import { AlphaScheduler } from './alpha-base.ts';
import type { NoiseSource, StepOutput } from './types.ts';

export class DdimScheduler extends AlphaScheduler {
  readonly name = 'ddim' as const;

  setTimesteps(steps: number): void {
    this.setSchedule(spacedTimesteps(this.config, steps, true));
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, _noise: NoiseSource): StepOutput {
    checkStepArgs(this.timesteps, stepIndex, modelOutput, sample);
    // 1. alpha-bar now and at the next timestep (the next in the list, or the final value). A deliberate
    //    departure: diffusers steps back by num_train_timesteps // steps whatever the spacing (its issue
    //    #12633), which with linspace spacing is not the next timestep; we use the next one in the list.
    const { alpha, alphaPrev } = this.alphas(stepIndex);
    // 2. predicted x0 and eps ("predicted x_0" and the direction of eq. 12)
    const { x0, eps } = this.predict(modelOutput, alpha, sample);
    // 3. optional clipping of x0 (pixel-space models; off by default for latents)
    if (this.config.clipSample) {
      const r = this.config.clipSampleRange;
      for (let i = 0; i < x0.length; i++) x0[i] = Math.min(r, Math.max(-r, x0[i]));
      // eps must agree with the clipped x0, as diffusers re-derives it
      const sa = Math.sqrt(alpha);
      const sb = Math.sqrt(1 - alpha);
      for (let i = 0; i < eps.length; i++) eps[i] = (sample[i] - sa * x0[i]) / sb;
    }
    // 4. x_prev = sqrt(a_prev) x0 + sqrt(1 - a_prev) eps   (eta = 0: no random term)
    const a = Math.sqrt(alphaPrev);
    const b = Math.sqrt(1 - alphaPrev);
    const prev = new Float32Array(sample.length);
    for (let i = 0; i < prev.length; i++) prev[i] = a * x0[i] + b * eps[i];
    return { prevSample: prev, predOriginalSample: x0 };
  }
}
