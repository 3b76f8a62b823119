// Records what happens inside one generate() call, from what the engine reports (its step hook with
// `reportLatents: true`): the latent the U-Net starts from, the sampler's predicted clean latent (x0) after each
// step, and the final latent the VAE decodes. Re-running a stored request records the same numbers as the
// original job (generation is deterministic in seed and parameters), so the last picture of a timelapse
// is the very image that was posted.
import { createScheduler, startIndexForStrength } from '../engine/schedulers/index.ts';
import type { SchedulerConfig } from '../engine/schedulers/types.ts';
import type { GenerateRequest, GenerateResult, LatentEngine, StepProgress } from '../engine/types.ts';

export interface TraceStep {
  /** 1-based sampler step, as StepProgress counts it. */
  step: number;
  /** The model timestep the U-Net was run at for this step (fractional for sigma-based samplers). */
  timestep: number;
  /** Predicted clean latents of every image, [count, channels, h, w], as the U-Net sees them (scaled). */
  x0: Float32Array;
}

export interface DenoiseTrace {
  request: GenerateRequest;
  result: GenerateResult;
  /** Latent dims of one image: channels x height x width. */
  latent: { channels: number; height: number; width: number };
  /** The U-Net's input at the first step (scaled noise; the noised init image for img2img). */
  start: Float32Array;
  /** The model timestep of the first step (the noise level `start` is at). */
  startTimestep: number;
  /** Recorded steps in order (only those `keepSteps` asked for). */
  steps: TraceStep[];
  /** Number of sampler steps that ran. */
  total: number;
  /** The latents decoded into result.images, as the U-Net sees them (scaled). */
  final: Float32Array;
}

export interface TraceOptions {
  signal?: AbortSignal;
  /** Progress as generate() reports it, previews included (so a recorded job still shows live previews). */
  onStep?: (progress: StepProgress) => void;
  /** Compute previews for onStep (default true, as generate()). */
  previews?: boolean;
  /** Which 1-based steps to keep x0 for (all when absent); bounds memory for long, large runs. */
  keepSteps?: ReadonlySet<number>;
}

/** The model timesteps of the steps that run (img2img skips the first ones), known before the run. */
export function samplerTimesteps(config: SchedulerConfig, request: GenerateRequest): number[] {
  const scheduler = createScheduler(request.sampler, config);
  scheduler.setTimesteps(request.steps);
  const first = request.init ? startIndexForStrength(request.steps, request.init.strength) : 0;
  return scheduler.timesteps.slice(first);
}

/** Runs `request` on `engine` and records its latents. Throws what generate() throws. */
export async function traceGeneration(
  engine: LatentEngine,
  request: GenerateRequest,
  options: TraceOptions = {},
): Promise<DenoiseTrace> {
  const steps: TraceStep[] = [];
  const result = await engine.generate(request, {
    signal: options.signal,
    previews: !!options.onStep && (options.previews ?? true),
    reportLatents: true,
    onStep: (progress) => {
      const { step, total, preview, timestep, x0 } = progress;
      if (x0 && timestep !== undefined && (!options.keepSteps || options.keepSteps.has(step)))
        steps.push({ step, timestep, x0 });
      options.onStep?.({ step, total, ...(preview ? { preview } : {}) });
    },
  });
  const run = result.latents;
  if (!run) throw new Error('expected the engine to report its latents (reportLatents: true), but the result has none');
  const { latents: _latents, ...plain } = result;
  return {
    request,
    result: plain,
    latent: { channels: run.channels, height: run.height, width: run.width },
    start: run.start,
    startTimestep: run.timesteps[0],
    steps,
    total: run.timesteps.length,
    final: run.final,
  };
}
