// Records what happens inside one generate() call: the latent the U-Net starts from, the sampler's
// predicted clean latent (x0) after each step, and the final latent the VAE decodes. Re-running a stored
// request records the same numbers as the original job (generation is deterministic in seed and parameters),
// so the last picture of a timelapse is the very image that was posted.
//
// How: a pipeline over the same model whose sessions are thin observers. The preview decoder slot (the
// TAESD slot, whose contract is "latents as the U-Net sees them in, pixels out") receives every x0; the
// U-Net and VAE observers read their inputs and pass the call on unchanged, so the sampling is untouched.
import ort from 'onnxruntime-node';
import type { DiffusionModel } from './model.ts';
import { DiffusionPipeline } from './pipeline.ts';
import { createScheduler, startIndexForStrength } from './schedulers/index.ts';
import { floatTensor, toFloat32, type ModelSession, type RunClock } from './session.ts';
import { imageToPlanar, latentToRgb, planarToImages } from './preview.ts';
import type { GenerateRequest, GenerateResult, RawImage, StepProgress } from './types.ts';

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

/** The pipeline's model timesteps for the steps that run (img2img skips the first ones). */
export function samplerTimesteps(model: DiffusionModel, request: GenerateRequest): number[] {
  const scheduler = createScheduler(request.sampler, model.schedulerConfig);
  scheduler.setTimesteps(request.steps);
  const first = request.init ? startIndexForStrength(request.steps, request.init.strength) : 0;
  return scheduler.timesteps.slice(first);
}

/** Runs `request` on `pipeline`'s model and records its latents. Throws what generate() throws. */
export async function traceGeneration(
  pipeline: DiffusionPipeline,
  request: GenerateRequest,
  options: TraceOptions = {},
): Promise<DenoiseTrace> {
  const m = pipeline.model;
  const timesteps = samplerTimesteps(m, request);
  const steps: TraceStep[] = [];
  let pending: Float32Array | undefined;
  let start: Float32Array | undefined;
  let final: Float32Array | undefined;
  const count = request.count;

  const wantPreviews = !!options.onStep && (options.previews ?? true);
  const x0Sink = observerDecoder(m, wantPreviews, (x0) => {
    pending = x0;
  });
  const unet = observe(m.unet, (feeds) => {
    if (start) return;
    // With classifier-free guidance the batch is [uncond x count, cond x count] of the same latents.
    start = toFloat32(feeds.sample).slice(0, count * perImage(m, request));
  });
  const vaeDecoder = observe(m.vaeDecoder, (feeds) => {
    const latents = toFloat32(feeds.latent_sample);
    final = Float32Array.from(latents, (v) => v * m.scalingFactor);
  });
  const traced = new DiffusionPipeline({ ...m, unet, vaeDecoder, taesd: x0Sink }, { limits: pipeline.limits });
  const result = await traced.generate(request, {
    signal: options.signal,
    previews: true,
    onStep: (progress) => {
      const { step } = progress;
      if (pending && (!options.keepSteps || options.keepSteps.has(step)))
        steps.push({ step, timestep: timesteps[step - 1], x0: pending });
      pending = undefined;
      options.onStep?.(wantPreviews ? progress : { step, total: progress.total });
    },
  });
  if (!start || !final)
    throw new Error('expected the pipeline to run the U-Net and the VAE decoder, but one was never called');
  const lh = request.height / m.vaeScaleFactor;
  const lw = request.width / m.vaeScaleFactor;
  return {
    request,
    result,
    latent: { channels: m.latentChannels, height: lh, width: lw },
    start,
    startTimestep: timesteps[0],
    steps,
    total: timesteps.length,
    final,
  };
}

function perImage(m: DiffusionModel, request: GenerateRequest): number {
  return m.latentChannels * (request.height / m.vaeScaleFactor) * (request.width / m.vaeScaleFactor);
}

/** The real VAE decoder on latents as the U-Net sees them: [count, channels, h, w] -> count RGB images. */
export async function decodeLatents(
  model: DiffusionModel,
  latents: Float32Array,
  count: number,
  lh: number,
  lw: number,
): Promise<RawImage[]> {
  const dec = model.vaeDecoder;
  const inv = 1 / model.scalingFactor;
  const scaled = Float32Array.from(latents, (v) => v * inv);
  const clock: RunClock = { sessionRunMs: 0 };
  const out = (
    await dec.run(
      {
        latent_sample: floatTensor(
          scaled,
          [count, model.latentChannels, lh, lw],
          dec.requireInput('latent_sample').type,
        ),
      },
      clock,
    )
  )[dec.pickOutput('sample').name];
  const [, , h, w] = out.dims as number[];
  return planarToImages(toFloat32(out), count, h, w);
}

type Feeds = Record<string, ort.Tensor>;

/** The same session, with `see` called on each run's inputs before the run. */
function observe(session: ModelSession, see: (feeds: Feeds) => void): ModelSession {
  const observer = Object.create(session) as ModelSession;
  observer.run = (feeds: Feeds, clock: RunClock) => {
    see(feeds);
    return session.run(feeds, clock);
  };
  return observer;
}

/**
 * Stands in the preview-decoder slot: keeps a copy of x0 and answers with the preview the pipeline would
 * have made (the model's TAESD, else its linear latent-to-RGB map), or, when nobody watches, a 1x1 black
 * image per latent so recording costs no decoder run (frames are decoded later, only those shown).
 */
function observerDecoder(model: DiffusionModel, previews: boolean, keep: (x0: Float32Array) => void): ModelSession {
  const input = { name: 'latent_sample', type: 'float32', shape: ['batch', model.latentChannels, 'height', 'width'] };
  const output = { name: 'sample', type: 'float32', shape: ['batch', 3, 'height', 'width'] };
  const observer = Object.create(model.vaeDecoder) as ModelSession;
  Object.defineProperties(observer, {
    inputs: { value: new Map([[input.name, input]]) },
    outputs: { value: new Map([[output.name, output]]) },
  });
  observer.run = async (feeds: Feeds, clock: RunClock) => {
    const tensor = feeds.latent_sample;
    const x0 = Float32Array.from(toFloat32(tensor));
    keep(x0);
    const [n, c, h, w] = tensor.dims as number[];
    if (!previews) return { sample: new ort.Tensor('float32', new Float32Array(n * 3).fill(-1), [n, 3, 1, 1]) };
    if (model.taesd) {
      const t = model.taesd;
      const inName = t.inputs.keys().next().value!;
      const out = (await t.run({ [inName]: floatTensor(x0, [n, c, h, w], t.inputs.get(inName)!.type) }, clock))[
        t.pickOutput('sample').name
      ];
      return { sample: new ort.Tensor('float32', toFloat32(out), out.dims) };
    }
    // The linear map, handed back as decoder output in [-1, 1] (exact: bytes survive the round trip).
    const planar = new Float32Array(n * 3 * h * w);
    for (let i = 0; i < n; i++)
      planar.set(
        imageToPlanar(latentToRgb(x0, i * c * h * w, c, h, w, model.latentRgbFactors, model.latentRgbBias)),
        i * 3 * h * w,
      );
    return { sample: new ort.Tensor('float32', planar, [n, 3, h, w]) };
  };
  return observer;
}
