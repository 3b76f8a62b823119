// The contract every sampler implements (one algorithm a file, as diffusers does).

/** The samplers a request can name, in the order the commands list them. */
export const SAMPLERS = ['euler_a', 'euler', 'ddim', 'dpmpp_2m_karras', 'lcm'] as const;
export type SamplerName = (typeof SAMPLERS)[number];

/** scheduler/scheduler_config.json, diffusers keys parsed into camelCase. */
export interface SchedulerConfig {
  numTrainTimesteps: number; // num_train_timesteps, 1000
  betaStart: number; // beta_start, 0.00085 for SD 1.x
  betaEnd: number; // beta_end, 0.012 for SD 1.x
  betaSchedule: 'linear' | 'scaled_linear' | 'squaredcos_cap_v2';
  predictionType: 'epsilon' | 'v_prediction' | 'sample';
  timestepSpacing: 'leading' | 'linspace' | 'trailing';
  stepsOffset: number;
  // Optional keys (added compatibly; parseSchedulerConfig always fills them):
  clipSample?: boolean; // clip_sample (DDIM), default false here
  clipSampleRange?: number; // clip_sample_range, default 1
  setAlphaToOne?: boolean; // set_alpha_to_one (DDIM, LCM last step), default true
  originalInferenceSteps?: number; // original_inference_steps (LCM), default 50
  timestepScaling?: number; // timestep_scaling (LCM boundary condition), default 10
}

export interface StepOutput {
  prevSample: Float32Array;
  /** The scheduler's estimate of the clean latent (x0), used for previews. */
  predOriginalSample: Float32Array;
}

/** Standard-normal noise of the whole batch's latent size, drawn from each image's own seeded stream. */
export type NoiseSource = () => Float32Array;

export interface Scheduler {
  readonly name: SamplerName;
  /** Model timesteps, one per inference step (may be fractional for sigma-based samplers). Empty before setTimesteps. */
  readonly timesteps: readonly number[];
  /** Multiply unit noise by this to get the starting latent. */
  readonly initNoiseSigma: number;
  setTimesteps(steps: number): void;
  scaleModelInput(sample: Float32Array, stepIndex: number): Float32Array;
  step(modelOutput: Float32Array, stepIndex: number, sample: Float32Array, noise: NoiseSource): StepOutput;
  /** Noise a clean latent to the level the sampler expects at stepIndex (image-to-image, forward-process strips). */
  addNoise(original: Float32Array, noise: Float32Array, stepIndex: number): Float32Array;
}
