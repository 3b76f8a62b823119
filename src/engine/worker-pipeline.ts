// The engine behind a worker thread: same ImageGenerator contract, but ONNX runs never block the caller's event loop.
import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { silentLogger, type EngineLogger } from './logger.ts';
import { EngineCrashedError } from './errors.ts';
import type { SessionSettings } from './session.ts';
import type { RequestLimits } from './validate.ts';
import {
  deserializeError,
  type FromWorker,
  type ModelInfo,
  type ToWorker,
  type WorkerInit,
} from './worker-protocol.ts';
import type { SchedulerConfig } from './schedulers/types.ts';
import type { GenerateOptions, GenerateRequest, GenerateResult, LatentEngine, RawImage } from './types.ts';

export interface WorkerPipelineOptions extends SessionSettings {
  logger?: EngineLogger;
  limits?: Partial<RequestLimits>;
}

interface Pending {
  resolve(value: never): void;
  reject(error: Error): void;
  options: GenerateOptions;
  cleanup(): void;
}

export class WorkerPipeline implements LatentEngine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closing?: Promise<void>;
  /** Set while a new thread loads after the old one died; calls wait for it. */
  private restarting?: Promise<void>;
  /** Why the engine cannot run at all (a restart failed to load the model). */
  private failure?: Error;
  /** Engine threads started after a crash, for logs and /healthz. */
  restarts = 0;

  private constructor(
    private worker: Worker,
    readonly info: ModelInfo,
    private readonly init: WorkerInit,
    private readonly logger: EngineLogger,
  ) {
    this.attach(worker);
  }

  /** Starts the worker and loads MODEL_DIR there; rejects with the worker's ModelLoadError if the folder is broken. */
  static async load(modelDir: string, options: WorkerPipelineOptions = {}): Promise<WorkerPipeline> {
    const logger = options.logger ?? silentLogger;
    const init: WorkerInit = {
      entry: new URL('./thread-main.ts', import.meta.url).href,
      modelDir: resolve(modelDir),
      executionProvider: options.executionProvider,
      intraOpNumThreads: options.intraOpNumThreads,
      interOpNumThreads: options.interOpNumThreads,
      allowSpinning: options.allowSpinning,
      limits: options.limits,
    };
    const { worker, info } = await spawn(init, logger);
    return new WorkerPipeline(worker, info, init, logger);
  }

  /** The engine thread is up with the model loaded (false while a new one starts after a crash). */
  get alive(): boolean {
    return !this.failure && !this.closing && !this.restarting;
  }

  get modelName(): string {
    return this.info.name;
  }

  get defaultSize(): number {
    return this.info.defaultSize;
  }

  /** Whether the model can start from an image (it ships a VAE encoder). */
  get imageToImage(): boolean {
    return this.info.hasVaeEncoder;
  }

  get limits(): RequestLimits {
    return this.info.limits;
  }

  generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.start<GenerateResult>(options, (id) => ({
      type: 'generate',
      id,
      request,
      previews: options.previews ?? true,
      steps: !!options.onStep,
      reportLatents: options.reportLatents === true,
      ...(options.startLatents ? { startLatents: options.startLatents.slice() } : {}),
    }));
  }

  get latentChannels(): number {
    return this.info.latentChannels;
  }

  get schedulerConfig(): SchedulerConfig {
    return this.info.schedulerConfig;
  }

  /** The model's VAE decoder, run in the engine's thread. */
  decodeLatents(latents: Float32Array, count: number, height: number, width: number): Promise<RawImage[]> {
    // A copy goes over, so the caller's array stays usable.
    return this.start<RawImage[]>({}, (id) => ({ type: 'decode', id, latents: latents.slice(), count, height, width }));
  }

  private async start<T>(options: GenerateOptions, message: (id: number) => ToWorker): Promise<T> {
    if (this.restarting) await this.restarting;
    if (this.failure) throw this.failure;
    if (this.closing) throw new Error('the engine is closed');
    const id = this.nextId++;
    return new Promise<T>((resolvePromise, rejectPromise) => {
      const { signal } = options;
      const onAbort = () => this.post({ type: 'cancel', id });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(id, {
        resolve: resolvePromise as (value: never) => void,
        reject: rejectPromise,
        options,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      });
      this.post(signal?.aborted ? ({ ...message(id), aborted: true } as ToWorker) : message(id));
    });
  }

  /** Finishes the running generation's cancellation, releases the sessions and ends the worker. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await this.restarting?.catch(() => {});
      if (this.failure) return;
      const exited = new Promise<void>((done) => this.worker.once('exit', () => done()));
      this.post({ type: 'close' });
      await exited;
    })();
    return this.closing;
  }

  private attach(worker: Worker): void {
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (error) => this.logger.error({ err: error.message }, 'the engine thread failed'));
    worker.on('exit', (code) => this.onExit(worker, code));
  }

  /** The thread died under us (native crash, out of memory): its calls fail as crashed, a new thread loads the model. */
  private onExit(worker: Worker, code: number): void {
    if (worker !== this.worker || this.closing) return;
    const error = new EngineCrashedError(`the engine thread stopped (exit code ${code})`);
    for (const [id] of this.pending) this.settle(id, (p) => p.reject(error));
    this.logger.error({ code }, 'the engine thread stopped; starting a new one');
    this.restarts++;
    this.restarting = spawn(this.init, this.logger)
      .then(
        ({ worker: next }) => {
          this.worker = next;
          this.attach(next);
          this.logger.info({ restarts: this.restarts }, 'the engine thread is back');
        },
        (failure: unknown) => {
          this.failure = failure instanceof Error ? failure : new Error(String(failure));
          this.logger.error({ err: this.failure.message }, 'the engine thread could not be started again');
        },
      )
      .finally(() => {
        this.restarting = undefined;
      });
  }

  private post(msg: ToWorker): void {
    this.worker.postMessage(msg);
  }

  private onMessage(msg: FromWorker): void {
    switch (msg.type) {
      case 'log':
        this.logger[msg.level](msg.obj, msg.msg);
        return;
      case 'step': {
        const p = this.pending.get(msg.id);
        try {
          const { type: _type, id: _id, ...progress } = msg;
          p?.options.onStep?.(progress);
        } catch (error) {
          // a throwing progress callback is logged; the generation goes on
          this.logger.error({ error: (error as Error).message }, 'onStep callback threw');
        }
        return;
      }
      case 'done':
        this.settle(msg.id, (p) => p.resolve(msg.result as never));
        return;
      case 'decoded':
        this.settle(msg.id, (p) => p.resolve(msg.images as never));
        return;
      case 'failed':
        this.settle(msg.id, (p) => p.reject(deserializeError(msg.error)));
        return;
      default:
        return;
    }
  }

  private settle(id: number, f: (p: Pending) => void): void {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    p.cleanup();
    f(p);
  }
}

/** A new engine thread with the model loaded (the first one, or one after a crash). */
async function spawn(init: WorkerInit, logger: EngineLogger): Promise<{ worker: Worker; info: ModelInfo }> {
  const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: init });
  const info = await new Promise<ModelInfo>((ok, fail) => {
    const onMessage = (msg: FromWorker) => {
      if (msg.type === 'log') logger[msg.level](msg.obj, msg.msg);
      else if (msg.type === 'ready') done(() => ok(msg.info));
      else if (msg.type === 'load-error') done(() => fail(deserializeError(msg.error)));
    };
    const onError = (error: Error) => done(() => fail(error));
    const onExit = (code: number) =>
      done(() => fail(new Error(`the engine worker exited (code ${code}) while loading ${init.modelDir}`)));
    const done = (settle: () => void) => {
      worker.off('message', onMessage).off('error', onError).off('exit', onExit);
      settle();
    };
    worker.on('message', onMessage).on('error', onError).on('exit', onExit);
  }).catch(async (error: unknown) => {
    await worker.terminate();
    throw error;
  });
  return { worker, info };
}
