// One ONNX session with the names and element types its metadata declares, and tensor conversions.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import ort from 'onnxruntime-node';
import { ModelLoadError } from './errors.ts';
import { float16ToFloat32, float32ToFloat16 } from './float16.ts';
import { fuseAttention } from './graph/attention-fusion.ts';
import type { EngineLogger } from './logger.ts';

export type Dim = number | string;
export interface ValueInfo {
  name: string;
  type: string; // 'float32', 'float16', 'int32', 'int64', ...
  shape: readonly Dim[];
}

export interface SessionSettings {
  /** 'cuda' when asked for and available, else 'cpu' (the default). */
  executionProvider?: 'cpu' | 'cuda';
  intraOpNumThreads?: number;
  interOpNumThreads?: number;
  /**
   * Let onnxruntime's pool threads spin between operators (its default). Off by default here: on a small shared
   * CPU the spinning threads take the core the event loop needs (measured: p99 loop delay 16 ms with, 7 without).
   */
  allowSpinning?: boolean;
  /** Replace exported attention blocks with onnxruntime's fused kernel (the default; off to compare). */
  fuseAttention?: boolean;
  /**
   * Keep freed activations in onnxruntime's arena for the next call (the default). Off returns them after each
   * call: for a VAE at 512x512 that is 1-2 GB not held between images, at the same speed after the first call.
   */
  memoryArena?: boolean;
  /**
   * Let onnxruntime keep matrix-product weights also in its packed layout (the default). Off for a part called
   * once a job: SD 1.5's text encoder holds 0.19 GB less for 30 ms more a job.
   */
  prepackWeights?: boolean;
  /**
   * Close the session after each run and open it again for the next: for a part called once a job whose weights
   * are worth more than the second it takes to load them (a large text encoder on the CPU).
   */
  releaseBetweenRuns?: boolean;
}

/** Accumulates time spent inside session.run, the figure the pipeline's overhead is measured against. */
export interface RunClock {
  sessionRunMs: number;
}

// Once CUDA failed to start in this process, later sessions go straight to the CPU.
let cudaUnavailable = false;

/** The CPU-only package (the default install here) lacks the CUDA provider library; trying it only prints noise. */
function cudaLibraryPresent(): boolean {
  try {
    const dist = dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
    return existsSync(
      join(dist, '..', 'bin', 'napi-v6', process.platform, process.arch, 'libonnxruntime_providers_cuda.so'),
    );
  } catch {
    return false;
  }
}

export class ModelSession {
  private constructor(
    readonly file: string,
    private session: ort.InferenceSession | undefined,
    readonly inputs: ReadonlyMap<string, ValueInfo>,
    readonly outputs: ReadonlyMap<string, ValueInfo>,
    readonly provider: 'cpu' | 'cuda',
    /** With releaseBetweenRuns: how the session is opened again. */
    private readonly reopen?: () => Promise<ort.InferenceSession>,
  ) {}

  static async open(file: string, settings: SessionSettings, logger: EngineLogger): Promise<ModelSession> {
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      enableCpuMemArena: settings.memoryArena !== false,
      extra: {
        session: {
          intra_op: { allow_spinning: settings.allowSpinning ? '1' : '0' },
          inter_op: { allow_spinning: settings.allowSpinning ? '1' : '0' },
          ...(settings.prepackWeights === false ? { disable_prepacking: '1' } : {}),
        },
      },
      ...(settings.intraOpNumThreads ? { intraOpNumThreads: settings.intraOpNumThreads } : {}),
      ...(settings.interOpNumThreads ? { interOpNumThreads: settings.interOpNumThreads } : {}),
    };
    let session: ort.InferenceSession | undefined;
    let provider: 'cpu' | 'cuda' = 'cpu';
    if (settings.executionProvider === 'cuda' && !cudaUnavailable && !cudaLibraryPresent()) {
      cudaUnavailable = true;
      logger.warn(
        { hint: 'reinstall with npm_config_onnxruntime_node_install=cuda12' },
        'CUDA execution provider not available (onnxruntime-node has no CUDA library); using CPU',
      );
    }
    if (settings.executionProvider === 'cuda' && !cudaUnavailable) {
      try {
        // Severity 4 (fatal only): a missing CUDA library is expected here and reported once below.
        session = await createSession(file, settings, 'cuda', { ...base, logSeverityLevel: 4 }, logger);
        provider = 'cuda';
      } catch (error) {
        cudaUnavailable = true;
        logger.warn(
          { file, reason: (error as Error).message.split('\n')[0] },
          'CUDA execution provider not available; using CPU',
        );
      }
    }
    if (!session) {
      try {
        session = await createSession(file, settings, 'cpu', base, logger);
      } catch (error) {
        throw new ModelLoadError(
          file,
          `expected a loadable ONNX model, got: ${(error as Error).message.split('\n')[0]}`,
          { cause: error },
        );
      }
    }
    const inputs = describe(session.inputNames, session.inputMetadata);
    const outputs = describe(session.outputNames, session.outputMetadata);
    // Opened once to check the file and read its metadata; the first run opens it again.
    if (settings.releaseBetweenRuns) await session.release();
    return new ModelSession(
      file,
      settings.releaseBetweenRuns ? undefined : session,
      inputs,
      outputs,
      provider,
      settings.releaseBetweenRuns ? () => createSession(file, settings, provider, base, logger) : undefined,
    );
  }

  /** The declared input, or a ModelLoadError naming this file when the export lacks it. */
  requireInput(name: string): ValueInfo {
    const info = this.inputs.get(name);
    if (!info)
      throw new ModelLoadError(
        this.file,
        `expected an input named "${name}", got ${[...this.inputs.keys()].join(', ')}`,
      );
    return info;
  }

  /** The first output whose name is one of `names`, else the first output. */
  pickOutput(...names: string[]): ValueInfo {
    for (const n of names) {
      const info = this.outputs.get(n);
      if (info) return info;
    }
    const first = this.outputs.values().next().value;
    if (!first) throw new ModelLoadError(this.file, 'expected at least one output, got none');
    return first;
  }

  async run(feeds: Record<string, ort.Tensor>, clock: RunClock): Promise<Record<string, ort.Tensor>> {
    // a session of its own for each run when released between runs, so two runs at once never share one
    const session = this.session ?? (await this.reopen!());
    const start = performance.now();
    try {
      return await session.run(feeds);
    } finally {
      clock.sessionRunMs += performance.now() - start;
      if (this.reopen) await session.release();
    }
  }

  async release(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await session?.release();
  }
}

// Larger graph files hold their weights inline (SD 1.5's VAE: 0.2 GB): read here as well, they cost more memory
// at load than fusing their one attention block saves. onnxruntime reads them itself.
const MAX_FUSED_GRAPH_BYTES = 64 * 1024 ** 2;

/**
 * A session on the model with its attention fused where the graph allows, else on the file as it is. The fused
 * model is given as bytes, with the model's folder named for its external weights (model.onnx_data).
 */
async function createSession(
  file: string,
  settings: SessionSettings,
  provider: 'cpu' | 'cuda',
  options: ort.InferenceSession.SessionOptions,
  logger: EngineLogger,
): Promise<ort.InferenceSession> {
  const executionProviders = provider === 'cuda' ? ['cuda', 'cpu'] : ['cpu'];
  const fused =
    settings.fuseAttention !== false && statSync(file).size <= MAX_FUSED_GRAPH_BYTES
      ? tryFuse(file, provider)
      : undefined;
  if (fused) {
    const extra = options.extra as { session: Record<string, unknown> };
    try {
      const session = await ort.InferenceSession.create(fused.bytes, {
        ...options,
        executionProviders,
        extra: { ...extra, session: { ...extra.session, model_external_initializers_file_folder_path: dirname(file) } },
      });
      logger.info({ part: basename(dirname(file)), blocks: fused.fused, nodes: fused.nodesAfter }, 'attention fused');
      return session;
    } catch (error) {
      logger.warn(
        { part: basename(dirname(file)), reason: (error as Error).message.split('\n')[0] },
        'fused attention did not load; loading the model as exported',
      );
    }
  }
  return ort.InferenceSession.create(file, { ...options, executionProviders });
}

function tryFuse(file: string, provider: 'cpu' | 'cuda') {
  try {
    return fuseAttention(readFileSync(file), { float16: provider === 'cuda' });
  } catch {
    return undefined; // not a graph this can read: onnxruntime reports what is wrong with it
  }
}

function describe(
  names: readonly string[],
  metadata: readonly ort.InferenceSession.ValueMetadata[] | undefined,
): Map<string, ValueInfo> {
  const map = new Map<string, ValueInfo>();
  names.forEach((name, i) => {
    const meta = metadata?.[i];
    // Older runtimes lack metadata: assume an SD export's float32 tensors with unknown shape.
    if (meta?.isTensor) map.set(name, { name, type: meta.type, shape: meta.shape });
    else map.set(name, { name, type: 'float32', shape: [] });
  });
  return map;
}

/** A float tensor in the element type the model declares. */
export function floatTensor(data: Float32Array, dims: readonly number[], type: string): ort.Tensor {
  if (type === 'float16') return new ort.Tensor('float16', float32ToFloat16(data), dims);
  return new ort.Tensor('float32', data, dims);
}

/** Any float tensor back to float32 values. */
export function toFloat32(tensor: ort.Tensor): Float32Array {
  if (tensor.type === 'float32') return tensor.data as Float32Array;
  if (tensor.type === 'float16') return float16ToFloat32(tensor.data as Uint16Array);
  throw new TypeError(`expected a float32 or float16 tensor, got ${tensor.type}`);
}

/** Token ids as int32 or int64, shape [rows, length]. */
export function idsTensor(rows: readonly (readonly number[])[], type: string): ort.Tensor {
  const length = rows[0].length;
  const flat = rows.flat();
  if (type === 'int64')
    return new ort.Tensor(
      'int64',
      BigInt64Array.from(flat, (v) => BigInt(v)),
      [rows.length, length],
    );
  if (type === 'int32') return new ort.Tensor('int32', Int32Array.from(flat), [rows.length, length]);
  throw new TypeError(`expected input_ids of type int32 or int64, got ${type}`);
}

/**
 * The timestep in the declared type and shape: a scalar when declared [], one per batch row when the first dim
 * is the sample's batch dim (same symbolic name) or a fixed size above 1, else [1] as diffusers' ONNX pipeline
 * passes it. Integer exports get the timestep rounded (sigma-based samplers may produce fractional ones).
 */
export function timestepTensor(t: number, info: ValueInfo, batch: number, batchDim?: Dim): ort.Tensor {
  const first = info.shape[0];
  const perRow = (typeof first === 'string' && first === batchDim) || (typeof first === 'number' && first > 1);
  const dims = info.shape.length === 0 ? [] : perRow ? [batch] : [1];
  const n = dims.length === 0 ? 1 : dims[0];
  switch (info.type) {
    case 'int64':
      return new ort.Tensor('int64', new BigInt64Array(n).fill(BigInt(Math.round(t))), dims);
    case 'int32':
      return new ort.Tensor('int32', new Int32Array(n).fill(Math.round(t)), dims);
    case 'float16':
    case 'float32':
      return floatTensor(new Float32Array(n).fill(t), dims, info.type);
    default:
      throw new TypeError(`expected a timestep of type float32, float16, int32 or int64, got ${info.type}`);
  }
}
