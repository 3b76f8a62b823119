// DPM-Solver++(2M): Lu et al. 2022, "DPM-Solver++: Fast Solver for Guided Sampling of Diffusion Probabilistic
// Models" (arXiv:2211.01095), Algorithm 2, on the noise levels of Karras et al. 2022 (arXiv:2206.00364,
// eq. 5, rho 7). Written in sigma space as k-diffusion's sample_dpmpp_2m; diffusers calls it
// DPMSolverMultistepScheduler(use_karras_sigmas=True, final_sigmas_type="zero"). Deterministic.
import { checkStepArgs, checkStepCount, karrasSigmas, sigmaToTimestep } from './common.ts';
import { SigmaScheduler } from './sigma-base.ts';
import type { NoiseSource, StepOutput } from './types.ts';

export class DpmPp2mKarrasScheduler extends SigmaScheduler {
  readonly name = 'dpmpp_2m_karras' as const;
  // The multistep history: the previous step's x0 estimate and its index.
  private previousDenoised: Float32Array | null = null;
  private previousIndex = -1;

  /**
   * Karras sigmas from the training sigma_max down to sigma_min, then 0; timesteps from log-sigma
   * interpolation, rounded to whole timesteps as diffusers does (the U-Net sees integer timesteps).
   */
  setTimesteps(steps: number): void {
    checkStepCount(steps, this.config.numTrainTimesteps);
    const karras = karrasSigmas(this.trainSigmas[0], this.trainSigmas[this.trainSigmas.length - 1], steps);
    const sigmas = new Float64Array(steps + 1);
    sigmas.set(karras);
    const timesteps = Array.from(karras, (s) => Math.round(sigmaToTimestep(s, this.logSigmas)));
    this.setSchedule(timesteps, sigmas);
    this.previousDenoised = null;
    this.previousIndex = -1;
  }

  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, _noise: NoiseSource): StepOutput {
    checkStepArgs(this.timesteps, stepIndex, modelOutput, sample);
    const sigmas = this.sigmas;
    const sigma = sigmas[stepIndex];
    const sigmaNext = sigmas[stepIndex + 1];
    // 1. estimate x0
    const denoised = this.denoised(modelOutput, sigma, sample);
    const prev = new Float32Array(sample.length);
    // A history from another run (or a skipped step) is not ours to extrapolate from.
    const history = this.previousIndex === stepIndex - 1 ? this.previousDenoised : null;
    if (sigmaNext === 0) {
      // 2a. last step: the ODE solution at sigma 0 is the x0 estimate itself
      prev.set(denoised);
    } else {
      // lambda = -log(sigma), h = lambda_next - lambda
      const h = Math.log(sigma) - Math.log(sigmaNext);
      const ratio = sigmaNext / sigma;
      const weight = -Math.expm1(-h);
      if (history === null) {
        // 2b. first step: DPM-Solver++(1), i.e. DDIM in sigma space
        for (let i = 0; i < prev.length; i++) prev[i] = ratio * sample[i] + weight * denoised[i];
      } else {
        // 2c. second order: extrapolate x0 linearly in lambda from this and the previous estimate
        const hLast = Math.log(sigmas[stepIndex - 1]) - Math.log(sigma);
        const r = hLast / h;
        const a = 1 + 1 / (2 * r);
        const b = 1 / (2 * r);
        for (let i = 0; i < prev.length; i++) prev[i] = ratio * sample[i] + weight * (a * denoised[i] - b * history[i]);
      }
    }
    // 3. remember this estimate for the next step
    this.previousDenoised = denoised.slice(); // a copy: callers may reuse the returned array
    this.previousIndex = stepIndex;
    return { prevSample: prev, predOriginalSample: denoised };
  }
}
