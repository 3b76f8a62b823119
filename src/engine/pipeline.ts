// Text-to-image (and image-to-image) on an ONNX Stable Diffusion-layout model:
// tokenize -> text encoder(s) once -> seeded noise -> U-Net with classifier-free guidance per step -> VAE decode.
import type ort from 'onnxruntime-node';
import { GenerationCancelledError } from './errors.ts';
import { makeGrid } from './images.ts';
import { silentLogger, type EngineLogger } from './logger.ts';
import { loadModel, type DiffusionModel, type ModelLoadOptions } from './model.ts';
import { batchNoiseSource, startingNoise } from './noise.ts';
import { latentToRgb, planarToImages } from './preview.ts';
import { encodeInitImage } from './init-image.ts';
import { createScheduler, startIndexForStrength } from './schedulers/index.ts';
import { floatTensor, timestepTensor, toFloat32, type RunClock } from './session.ts';
import { encodeConditioning } from './conditioning.ts';
import { DEFAULT_LIMITS, validateRequest, type RequestLimits } from './validate.ts';
import { guidanceEmbedding } from './guidance-embedding.ts';
import { tiledPrediction } from './tiles.ts';
import { SAFETY_PREVIEW_MS, previewGate } from './safety-checker.ts';
import type { GenerateOptions, GenerateRequest, GenerateResult, LatentEngine, RawImage } from './types.ts';

export interface PipelineOptions {
  logger?: EngineLogger;
  limits?: Partial<RequestLimits>;
}

export class DiffusionPipeline implements LatentEngine {
  readonly modelName: string;
  readonly limits: RequestLimits;
  private readonly logger: EngineLogger;

  constructor(
    readonly model: DiffusionModel,
    options: PipelineOptions = {},
  ) {
    this.modelName = model.name;
    this.logger = options.logger ?? silentLogger;
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
  }

  /** Loads MODEL_DIR (see loadModel) and wraps it. */
  static async load(dir: string, options: ModelLoadOptions & PipelineOptions = {}): Promise<DiffusionPipeline> {
    return new DiffusionPipeline(await loadModel(dir, options), options);
  }

  /** The size the model was trained at (model-size.ts): unet sample_size x VAE factor, SDXL-Turbo's 512, else 512. */
  get defaultSize(): number {
    return this.model.size.side;
  }

  /** Whether the model can start from an image (it ships a VAE encoder). */
  get imageToImage(): boolean {
    return !!this.model.vaeEncoder;
  }

  close(): Promise<void> {
    return this.model.release();
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const started = performance.now();
    const m = this.model;
    const traits = { vaeScaleFactor: m.vaeScaleFactor, hasVaeEncoder: !!m.vaeEncoder, sizeMultiple: m.size.multiple };
    validateRequest(request, traits, this.limits);
    const { signal, onStep } = options;
    const previews = (options.previews ?? true) && !!onStep;
    const report = options.reportLatents === true;
    const clock: RunClock = { sessionRunMs: 0 };
    const count = request.count;
    const seeds = Array.from({ length: count }, (_, i) => (request.seed + i) >>> 0);

    // LCM exports embed the guidance scale (timestep_cond) instead of running an unconditional pass.
    const lcmCond = m.timestepCondDim > 0;
    const cfg = !lcmCond && request.guidance > 1;

    const scheduler = createScheduler(request.sampler, m.schedulerConfig);
    scheduler.setTimesteps(request.steps);
    const firstStep = request.init ? startIndexForStrength(request.steps, request.init.strength) : 0;
    const total = request.steps - firstStep;

    // 1. text: negative and positive prompt in one text-encoder batch, spread over the U-Net's batch
    const conditioning = await encodeConditioning(m, request, cfg, clock, this.logger);
    this.checkCancelled(signal, 0, total);

    // 2. starting latents, each image from its own seeded stream
    const lc = m.latentChannels;
    const lh = request.height / m.vaeScaleFactor;
    const lw = request.width / m.vaeScaleFactor;
    const perImage = lc * lh * lw;
    const { streams, noise } = startingNoise(request, seeds, [lc, lh, lw], options.startLatents);
    let latents: Float32Array;
    if (request.init) {
      const source = await encodeInitImage(m, request.init.imagePath, request.width, request.height, clock);
      const tiled = new Float32Array(count * perImage);
      for (let i = 0; i < count; i++) tiled.set(source, i * perImage);
      latents = scheduler.addNoise(tiled, noise, firstStep);
    } else {
      const sigma = scheduler.initNoiseSigma;
      latents = noise;
      for (let i = 0; i < latents.length; i++) latents[i] *= sigma;
    }

    // 3. inputs that stay the same every step, converted to the U-Net's types once
    const unet = m.unet;
    const sampleInfo = unet.requireInput('sample');
    const timestepInfo = unet.requireInput('timestep');
    const batch = cfg ? 2 * count : count;
    const condTensor = lcmCond
      ? floatTensor(
          guidanceEmbedding(request.guidance, m.timestepCondDim, batch),
          [batch, m.timestepCondDim],
          unet.inputs.get('timestep_cond')!.type,
        )
      : undefined;
    const outName = unet.pickOutput('out_sample').name;
    const noiseSource = batchNoiseSource(streams, perImage);
    const sampleDims = [batch, lc, lh, lw];
    // Larger than the model's own size and asked to: the U-Net sees windows of that size.
    const own = m.sampleSize;
    const tile: [number, number] | undefined =
      request.tiled && own && (lh > own || lw > own) ? [Math.min(own, lh), Math.min(own, lw)] : undefined;
    const n = count * perImage;

    // 4. denoising loop; with a safety checker, previews come at most once a second, each one checked
    const previewDue = previewGate(m.safetyChecker ? SAFETY_PREVIEW_MS : 0);
    let start: Float32Array | undefined;
    for (let k = firstStep; k < request.steps; k++) {
      this.checkCancelled(signal, k - firstStep, total);
      const scaled = scheduler.scaleModelInput(latents, k);
      if (report && k === firstStep) start = Float32Array.from(scaled);
      let input = scaled;
      if (cfg) {
        input = new Float32Array(2 * n);
        input.set(scaled, 0);
        input.set(scaled, n);
      }
      const timestep = timestepTensor(scheduler.timesteps[k], timestepInfo, batch, sampleInfo.shape[0]);
      const predict = async (sample: Float32Array, dims: number[]) => {
        const feeds: Record<string, ort.Tensor> = {
          sample: floatTensor(sample, dims, sampleInfo.type),
          timestep,
          ...conditioning,
        };
        if (condTensor) feeds.timestep_cond = condTensor;
        return toFloat32((await unet.run(feeds, clock))[outName]);
      };
      const out = tile ? await tiledPrediction(input, sampleDims, tile, predict) : await predict(input, sampleDims);
      let eps = out;
      if (cfg) {
        eps = new Float32Array(n);
        const g = request.guidance;
        for (let i = 0; i < n; i++) eps[i] = out[i] + g * (out[n + i] - out[i]);
      }
      const stepped = scheduler.step(eps, k, latents, noiseSource);
      latents = stepped.prevSample;
      if (onStep) {
        const step = k - firstStep + 1;
        const shown = previews && previewDue(step === total);
        const preview = shown ? await this.preview(stepped.predOriginalSample, count, lh, lw, clock) : undefined;
        const checked =
          preview && m.safetyChecker ? { flagged: (await m.safetyChecker.check([preview], clock))[0] } : {};
        if (!report) onStep({ step, total, preview, ...checked });
        else {
          const x0 = Float32Array.from(stepped.predOriginalSample);
          onStep({
            step,
            total,
            preview,
            ...checked,
            timestep: scheduler.timesteps[k],
            latents: Float32Array.from(latents),
            x0,
          });
        }
      }
    }
    this.checkCancelled(signal, total, total);

    // 5. decode: the VAE expects latents divided by the scaling factor
    const images = await this.decode(latents, count, lh, lw, clock);
    const flagged = m.safetyChecker ? await m.safetyChecker.check(images, clock) : undefined;
    const timesteps = scheduler.timesteps.slice(firstStep);
    return {
      images,
      seeds,
      model: m.name,
      ...(flagged ? { flagged } : {}),
      timings: { totalMs: performance.now() - started, sessionRunMs: clock.sessionRunMs },
      ...(report && start
        ? { latents: { channels: lc, height: lh, width: lw, start, timesteps, final: latents } }
        : {}),
    };
  }

  get latentChannels(): number {
    return this.model.latentChannels;
  }

  get schedulerConfig() {
    return this.model.schedulerConfig;
  }

  /** The model's VAE decoder on latents as the U-Net sees them: [count, channels, h, w] -> count images. */
  decodeLatents(latents: Float32Array, count: number, height: number, width: number): Promise<RawImage[]> {
    return this.decode(latents, count, height, width, { sessionRunMs: 0 });
  }

  private checkCancelled(signal: AbortSignal | undefined, step: number, total: number): void {
    if (signal?.aborted) throw new GenerationCancelledError(step, total);
  }

  private async decode(
    latents: Float32Array,
    count: number,
    lh: number,
    lw: number,
    clock: RunClock,
  ): Promise<RawImage[]> {
    const m = this.model;
    const dec = m.vaeDecoder;
    const scaled = new Float32Array(latents.length);
    const inv = 1 / m.scalingFactor;
    for (let i = 0; i < scaled.length; i++) scaled[i] = latents[i] * inv;
    const out = (
      await dec.run(
        {
          latent_sample: floatTensor(scaled, [count, m.latentChannels, lh, lw], dec.requireInput('latent_sample').type),
        },
        clock,
      )
    )[dec.pickOutput('sample').name];
    const [, , h, w] = out.dims as number[];
    const values = toFloat32(out);
    const per = 3 * h * w;
    const images: RawImage[] = [];
    for (let i = 0; i < count; i++) {
      // one image at a time, yielding between them: four 1024x1024 conversions at once would hold the loop too long
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      images.push(planarToImages(values.subarray(i * per, (i + 1) * per), 1, h, w)[0]);
    }
    return images;
  }

  /** Preview of the predicted clean latents: TAESD when shipped, else the linear map; a grid when count > 1. */
  private async preview(x0: Float32Array, count: number, lh: number, lw: number, clock: RunClock): Promise<RawImage> {
    const m = this.model;
    let images: RawImage[];
    if (m.taesd) {
      const t = m.taesd;
      const inName = t.inputs.keys().next().value!;
      const out = (
        await t.run({ [inName]: floatTensor(x0, [count, m.latentChannels, lh, lw], t.inputs.get(inName)!.type) }, clock)
      )[t.pickOutput('sample').name];
      const [, , h, w] = out.dims as number[];
      images = planarToImages(toFloat32(out), count, h, w);
    } else {
      const per = m.latentChannels * lh * lw;
      images = Array.from({ length: count }, (_, i) =>
        latentToRgb(x0, i * per, m.latentChannels, lh, lw, m.latentRgbFactors, m.latentRgbBias),
      );
    }
    return makeGrid(images);
  }
}
