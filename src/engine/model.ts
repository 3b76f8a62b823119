// Loads a model folder in the diffusers/optimum ONNX layout (see README "Model folder"), opening each session once.
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { refuseMissingExternalData, refuseUnsupportedFamily } from './model-refusals.ts';
import { ModelLoadError } from './errors.ts';
import { silentLogger, type EngineLogger } from './logger.ts';
import {
  parseVaeConfig,
  readJsonFile,
  readOptionalJson,
  SDXL_LATENT_RGB_FACTORS,
  type VaeConfig,
} from './model-config.ts';
import { isSdxlFolder, readSizeRule, type SizeRule } from './model-size.ts';
import { ModelSession, type SessionSettings } from './session.ts';
import { ClipTokenizer, TokenizerError } from './tokenizer.ts';
import { SafetyChecker, readClipPreprocess } from './safety-checker.ts';
import { parseSchedulerConfig, SchedulerError } from './schedulers/common.ts';
import type { SchedulerConfig } from './schedulers/types.ts';

export interface ModelLoadOptions extends SessionSettings {
  logger?: EngineLogger;
}

/** Where optional preview decoders may sit; the first that exists is used (TAESD, latents as the U-Net sees them, RGB in [-1, 1]). */
export const TAESD_FOLDERS = ['taesd_decoder', 'vae_decoder_tiny'] as const;

/** SDXL's second text encoder and what conditioning on both needs. */
export interface XlConditioning {
  tokenizer2: ClipTokenizer;
  textEncoder2: ModelSession;
  /** Each encoder's penultimate hidden states output (hidden_states.{layers - 1}), which SDXL conditions on. */
  hiddenStates: readonly [string, string];
  /** model_index.json force_zeros_for_empty_prompt: an empty negative prompt is zeros, not the encoded "". */
  forceZerosForEmptyPrompt: boolean;
}

export interface DiffusionModel extends VaeConfig {
  dir: string;
  name: string;
  schedulerConfig: SchedulerConfig;
  tokenizer: ClipTokenizer;
  textEncoder: ModelSession;
  unet: ModelSession;
  vaeDecoder: ModelSession;
  vaeEncoder?: ModelSession;
  taesd?: ModelSession;
  /** safety_checker/ (optimum's export of diffusers' StableDiffusionSafetyChecker), with its preprocessing. */
  safetyChecker?: SafetyChecker;
  /** Latent side from unet/config.json sample_size, if given; the default image side is this times vaeScaleFactor. */
  sampleSize?: number;
  /** Native side and the multiple sides must be (model-size.ts). */
  size: SizeRule;
  /** SDXL folders (text_encoder_2/): the U-Net also takes text_embeds and time_ids. */
  xl?: XlConditioning;
  /** LCM exports: size of the guidance embedding fed as timestep_cond (0 when absent). */
  timestepCondDim: number;
  provider: 'cpu' | 'cuda';
  release(): Promise<void>;
}

export async function loadModel(dir: string, options: ModelLoadOptions = {}): Promise<DiffusionModel> {
  const logger = options.logger ?? silentLogger;
  const root = resolve(dir);
  if (!existsSync(root))
    throw new ModelLoadError(root, 'expected a model folder (set MODEL_DIR), but it does not exist');
  const index = readJsonFile(join(root, 'model_index.json'));
  const schedulerFile = join(root, 'scheduler', 'scheduler_config.json');
  let schedulerConfig: SchedulerConfig;
  try {
    schedulerConfig = parseSchedulerConfig(readJsonFile(schedulerFile));
  } catch (error) {
    if (error instanceof SchedulerError) throw new ModelLoadError(schedulerFile, error.message, { cause: error });
    throw error;
  }
  const xl = isSdxlFolder(root, index);
  const vaeFile = join(root, 'vae_decoder', 'config.json');
  const vae = parseVaeConfig(readOptionalJson(vaeFile), vaeFile, xl ? SDXL_LATENT_RGB_FACTORS : undefined);
  const unetFile = join(root, 'unet', 'config.json');
  const unetConfig = readOptionalJson(unetFile);
  const sampleSize = unetConfig.sample_size;
  if (sampleSize !== undefined && !(typeof sampleSize === 'number' && Number.isInteger(sampleSize) && sampleSize > 0)) {
    throw new ModelLoadError(
      unetFile,
      `expected "sample_size" to be a positive integer, got ${JSON.stringify(sampleSize)}`,
    );
  }

  refuseUnsupportedFamily(root, index, unetConfig);

  const tokenizer = openTokenizer(join(root, 'tokenizer'));
  const tokenizer2 = xl ? openTokenizer(join(root, 'tokenizer_2')) : undefined;

  const required = (sub: string): string => {
    const file = join(root, sub, 'model.onnx');
    if (!existsSync(file)) throw new ModelLoadError(file, 'expected this ONNX file, but it is missing');
    refuseMissingExternalData(file);
    return file;
  };
  const files = { textEncoder: required('text_encoder'), unet: required('unet'), vaeDecoder: required('vae_decoder') };
  const textEncoder2File = xl ? required('text_encoder_2') : undefined;
  const encoderFile = join(root, 'vae_encoder', 'model.onnx');
  const safetyFile = join(root, 'safety_checker', 'model.onnx');
  const taesdFile = TAESD_FOLDERS.map((f) => join(root, f, 'model.onnx')).find((f) => existsSync(f));

  const opened: ModelSession[] = [];
  const open = async (file: string, settings: SessionSettings = options): Promise<ModelSession> => {
    const s = await ModelSession.open(file, settings, logger);
    opened.push(s);
    return s;
  };
  try {
    // Sequential: the first open settles whether CUDA works, and loading stays light on a small machine. The
    // U-Net first: converting float16 weights holds both copies for a moment, better before the rest is loaded.
    const unet = await open(files.unet);
    // Called once a job: nothing kept between calls; on the CPU a large one (SD 1.5's 0.5 GB, SDXL's 3.3 GB) is
    // closed after encoding and opened again for the next job, so it is not held through the steps and decode.
    const textSettings = (file: string) => ({
      ...options,
      prepackWeights: false,
      memoryArena: false,
      releaseBetweenRuns: unet.provider === 'cpu' && partBytes(file) >= RELEASED_TEXT_ENCODER_BYTES,
    });
    const textEncoder = await open(files.textEncoder, textSettings(files.textEncoder));
    const textEncoder2 = textEncoder2File ? await open(textEncoder2File, textSettings(textEncoder2File)) : undefined;
    // The VAE (and TAESD) decode at full resolution, where activations are largest: not kept between calls.
    const vaeSettings = { ...options, memoryArena: false };
    const vaeDecoder = await open(files.vaeDecoder, vaeSettings);
    const vaeEncoder = existsSync(encoderFile) ? await open(encoderFile, vaeSettings) : undefined;
    const taesd = taesdFile ? await open(taesdFile, vaeSettings) : undefined;
    const safetyChecker = existsSync(safetyFile)
      ? new SafetyChecker(await open(safetyFile), readClipPreprocess(root))
      : undefined;

    textEncoder.requireInput('input_ids');
    for (const n of ['sample', 'timestep', 'encoder_hidden_states']) unet.requireInput(n);
    const sdxlInputs = unet.inputs.has('text_embeds') || unet.inputs.has('time_ids');
    if (sdxlInputs !== !!textEncoder2) {
      const why = textEncoder2
        ? 'expected an SDXL U-Net (inputs text_embeds and time_ids) beside text_encoder_2, got one without them'
        : 'expected an SD 1.x/2.x U-Net, got an SDXL one (text_embeds, time_ids) in a folder without text_encoder_2';
      throw new ModelLoadError(files.unet, why);
    }
    if (textEncoder2) for (const n of ['text_embeds', 'time_ids']) unet.requireInput(n);
    const xlConditioning =
      textEncoder2 && tokenizer2
        ? {
            tokenizer2,
            textEncoder2,
            hiddenStates: [
              penultimateHiddenStates(textEncoder, files.textEncoder),
              penultimateHiddenStates(textEncoder2, textEncoder2File!),
            ] as const,
            forceZerosForEmptyPrompt: index.force_zeros_for_empty_prompt !== false,
          }
        : undefined;
    const inChannels = unet.requireInput('sample').shape[1];
    if (inChannels === 9) {
      const why =
        'expected a text-to-image U-Net (4 input channels), got an inpainting one (9); inpainting is not supported';
      throw new ModelLoadError(files.unet, why);
    }
    vaeDecoder.requireInput('latent_sample');
    vaeEncoder?.requireInput('sample');
    const cond = unet.inputs.get('timestep_cond');
    const condDim = cond ? cond.shape[1] : 0;
    const timestepCondDim = typeof condDim === 'number' ? condDim : Number(unetConfig.time_cond_proj_dim ?? 256);

    const name =
      typeof index.name === 'string'
        ? index.name
        : typeof index._name_or_path === 'string'
          ? basename(index._name_or_path)
          : basename(root);
    const provider = unet.provider;
    logger.info(
      {
        model: name,
        folder: basename(root), // the folder's name only: host paths stay out of logs
        provider,
        vaeEncoder: !!vaeEncoder,
        taesd: !!taesd,
        safetyChecker: !!safetyChecker,
        sdxl: !!xlConditioning,
        inputIds: textEncoder.inputs.get('input_ids')!.type,
        timestep: unet.inputs.get('timestep')!.type,
        sample: unet.inputs.get('sample')!.type,
      },
      'model loaded',
    );
    return {
      ...vae,
      dir: root,
      name,
      schedulerConfig,
      tokenizer,
      textEncoder,
      unet,
      vaeDecoder,
      vaeEncoder,
      taesd,
      safetyChecker,
      sampleSize: sampleSize as number | undefined,
      size: readSizeRule(root),
      xl: xlConditioning,
      timestepCondDim,
      provider,
      release: async () => {
        await Promise.all(opened.map((s) => s.release()));
      },
    };
  } catch (error) {
    await Promise.all(opened.map((s) => s.release().catch(() => {})));
    throw error;
  }
}

/** A text encoder's weights from this size up are not held between jobs on the CPU. */
const RELEASED_TEXT_ENCODER_BYTES = 200 * 1024 ** 2;

/** An ONNX file's bytes with its external weights beside it. */
function partBytes(file: string): number {
  const data = join(dirname(file), 'model.onnx_data');
  return statSync(file).size + (existsSync(data) ? statSync(data).size : 0);
}

function openTokenizer(dir: string): ClipTokenizer {
  try {
    return ClipTokenizer.fromFolder(dir);
  } catch (error) {
    if (error instanceof TokenizerError) throw new ModelLoadError(dir, error.message, { cause: error });
    throw error;
  }
}

/** hidden_states.{L - 1} of the outputs hidden_states.0..L that optimum writes for SDXL's text encoders. */
function penultimateHiddenStates(encoder: ModelSession, file: string): string {
  const layers = [...encoder.outputs.keys()]
    .map((name) => /^hidden_states\.(\d+)$/.exec(name)?.[1])
    .filter((n): n is string => n !== undefined)
    .map(Number);
  const last = Math.max(-1, ...layers);
  if (last < 1 || !layers.includes(last - 1)) {
    throw new ModelLoadError(
      file,
      'expected outputs hidden_states.0 .. hidden_states.N (optimum writes them for SDXL exports), got none',
    );
  }
  return `hidden_states.${last - 1}`;
}
