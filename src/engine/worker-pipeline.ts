// The engine behind a worker thread: same ImageGenerator contract, but ONNX runs never block the caller's event loop.
import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { silentLogger, type EngineLogger } from './logger.ts';
import type { SessionSettings } from './session.ts';
import type { RequestLimits } from './validate.ts';
import { deserializeError, type FromWorker, type MediaKind, type ModelInfo, type ToWorker, type WorkerInit } from './worker-protocol.ts';
import type { MediaFile, MediaOptions, MediaRenderer } from './media.ts';
import type { GenerateOptions, GenerateRequest, GenerateResult, ImageGenerator } from './types.ts';

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

export class WorkerPipeline implements ImageGenerator, MediaRenderer {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure?: Error;
  private closing?: Promise<void>;

  private constructor(
    private readonly worker: Worker,
    readonly info: ModelInfo,
    private readonly logger: EngineLogger,
  ) {
    worker.on('message', (msg: FromWorker) => this.onMessage(msg));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the engine worker exited (code ${code})`)));
  }

  /** Starts the worker and loads MODEL_DIR there; rejects with the worker's ModelLoadError if the folder is broken. */
  static async load(modelDir: string, options: WorkerPipelineOptions = {}): Promise<WorkerPipeline> {
    const logger = options.logger ?? silentLogger;
    const init: WorkerInit = {
      entry: new URL('./worker-main.ts', import.meta.url).href,
      modelDir: resolve(modelDir),
      executionProvider: options.executionProvider,
      intraOpNumThreads: options.intraOpNumThreads,
      interOpNumThreads: options.interOpNumThreads,
      allowSpinning: options.allowSpinning,
      limits: options.limits,
    };
    const worker = new Worker(new URL('./worker-bootstrap.mjs', import.meta.url), { workerData: init });
    const info = await new Promise<ModelInfo>((ok, fail) => {
      const onMessage = (msg: FromWorker) => {
        if (msg.type === 'log') logger[msg.level](msg.obj, msg.msg);
        else if (msg.type === 'ready') done(() => ok(msg.info));
        else if (msg.type === 'load-error') done(() => fail(deserializeError(msg.error)));
      };
      const onError = (error: Error) => done(() => fail(error));
      const onExit = (code: number) => done(() => fail(new Error(`the engine worker exited (code ${code}) while loading ${init.modelDir}`)));
      const done = (settle: () => void) => {
        worker.off('message', onMessage).off('error', onError).off('exit', onExit);
        settle();
      };
      worker.on('message', onMessage).on('error', onError).on('exit', onExit);
    }).catch(async (error: unknown) => {
      await worker.terminate();
      throw error;
    });
    return new WorkerPipeline(worker, info, logger);
  }

  get modelName(): string {
    return this.info.name;
  }

  get defaultSize(): number {
    return this.info.defaultSize;
  }

  get limits(): RequestLimits {
    return this.info.limits;
  }

  generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    return this.start<GenerateResult>(options, (id) => ({ type: 'generate', id, request, previews: options.previews ?? true, steps: !!options.onStep }));
  }

  // MediaRenderer (issue 8): made in the engine's thread, where the model's sessions are.
  async timelapse(request: GenerateRequest, options: MediaOptions & { index?: number } = {}): Promise<MediaFile> {
    return (await this.media('timelapse', request, options)).media;
  }

  async diffusion(request: GenerateRequest, options: MediaOptions & { index?: number } = {}): Promise<MediaFile> {
    return (await this.media('diffusion', request, options)).media;
  }

  async generateWithTimelapse(request: GenerateRequest, options: MediaOptions & Pick<GenerateOptions, 'onStep' | 'previews'> = {}): Promise<{ result: GenerateResult; timelapse: MediaFile }> {
    const { media, result } = await this.media('video', request, options);
    return { result: result!, timelapse: media };
  }

  private async media(kind: MediaKind, request: GenerateRequest, options: MediaOptions & { index?: number } & Pick<GenerateOptions, 'onStep' | 'previews'>): Promise<{ media: MediaFile; result?: GenerateResult }> {
    const out = await this.start<{ media: MediaFile; result?: GenerateResult }>(options, (id) => ({
      type: 'media', id, kind, request, byteLimit: options.byteLimit, index: options.index, previews: options.previews ?? true, steps: !!options.onStep,
    }));
    const d = out.media.data;
    return { ...out, media: { ...out.media, data: Buffer.from(d.buffer, d.byteOffset, d.byteLength) } };
  }

  private start<T>(options: GenerateOptions, message: (id: number) => ToWorker): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new Error('the engine is closed'));
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
      this.post(signal?.aborted ? { ...message(id), aborted: true } as ToWorker : message(id));
    });
  }

  /** Finishes the running generation's cancellation, releases the sessions and ends the worker. */
  close(): Promise<void> {
    this.closing ??= new Promise<void>((done) => {
      if (this.failure) return done();
      this.worker.once('exit', () => done());
      this.post({ type: 'close' });
    });
    return this.closing;
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
          p?.options.onStep?.({ step: msg.step, total: msg.total, preview: msg.preview });
        } catch (error) {
          // a throwing progress callback is logged; the generation goes on
          this.logger.error({ error: (error as Error).message }, 'onStep callback threw');
        }
        return;
      }
      case 'done':
        this.settle(msg.id, (p) => p.resolve(msg.result as never));
        return;
      case 'media-done':
        this.settle(msg.id, (p) => p.resolve({ media: msg.media, result: msg.result } as never));
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

  private fail(error: Error): void {
    if (this.closing && this.pending.size === 0) return;
    this.failure ??= error;
    for (const [id] of this.pending) this.settle(id, (p) => p.reject(error));
  }
}
