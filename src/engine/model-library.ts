// Several models in one bot: the folders of MODELS_DIR (plus MODEL_DIR's, the default), each loaded on
// first use and kept in a least-recently-used set within a memory budget (a model's weights are about
// the size of its ONNX files). A folder that is not a model, or a model that fails to load, is reported
// by its name and the others go on.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { ModelLoadError } from './errors.ts';
import { silentLogger, type EngineLogger } from './logger.ts';
import type { GenerateOptions, GenerateRequest, GenerateResult, ImageGenerator } from './types.ts';

/** A model folder of the library: its name (the folder's) and an estimate of the memory it takes. */
export interface LibraryModel {
  name: string;
  dir: string;
  bytes: number;
}

/** What the library keeps loaded: an engine that can be closed (WorkerPipeline, DiffusionPipeline). */
export interface LoadedModel extends ImageGenerator {
  close(): Promise<void>;
}

export class UnknownModelError extends Error {
  override name = 'UnknownModelError';
  constructor(readonly model: string) {
    super(`no model named ${JSON.stringify(model.slice(0, 100))} in this bot`);
  }
}

/** A model the library could not load: named, so the job's failure (and the log) says which. */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
  constructor(
    readonly model: string,
    cause: unknown,
  ) {
    super(`model ${model} could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/** What a model may be called: its folder's name, as MODELS_DIR lists it. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

/** The weights on disk: every .onnx file and external-data file below `dir`. */
function weightBytes(dir: string): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += weightBytes(path);
    else if (/\.onnx(_data)?$|\.onnx\.data$/.test(entry.name)) total += statSync(path).size;
  }
  return total;
}

/**
 * The model folders: `defaultDir` first, then every folder of `modelsDir` with a model_index.json (by name).
 * Folders that are not models come back as problems, by name; a name seen twice keeps the first.
 */
export function scanModels(
  defaultDir: string,
  modelsDir?: string,
): { models: LibraryModel[]; problems: { name: string; message: string }[] } {
  const problems: { name: string; message: string }[] = [];
  const dirs = [resolve(defaultDir)];
  if (modelsDir) {
    const root = resolve(modelsDir);
    for (const entry of readdirSync(root, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name)))
      if (entry.isDirectory()) dirs.push(join(root, entry.name));
  }
  const models: LibraryModel[] = [];
  for (const dir of dirs) {
    const name = basename(dir);
    if (models.some((m) => m.name === name || m.dir === dir)) continue;
    if (!MODEL_NAME.test(name)) problems.push({ name, message: 'expected a folder name of letters, digits, . _ or -' });
    else if (!existsSync(join(dir, 'model_index.json')))
      problems.push({ name, message: 'not a model folder (no model_index.json)' });
    else models.push({ name, dir, bytes: weightBytes(dir) });
  }
  return { models, problems };
}

export interface ModelLibraryOptions {
  /** Opens one model folder (WorkerPipeline.load in the bot, DiffusionPipeline.load in tests). */
  load: (dir: string) => Promise<LoadedModel>;
  /** Most bytes of weights kept loaded at once; the least recently used idle models are closed past it. */
  budgetBytes: number;
  logger?: EngineLogger;
}

/** Routes each request to its model (`request.model`, else the first, the default), loading as needed. */
export class ModelLibrary implements ImageGenerator {
  private readonly loaded = new Map<string, Promise<LoadedModel>>();
  private readonly busy = new Map<string, number>();
  private readonly logger: EngineLogger;

  constructor(
    readonly models: readonly LibraryModel[],
    private readonly options: ModelLibraryOptions,
  ) {
    if (models.length === 0) throw new ModelLoadError('(models)', 'expected at least one model folder');
    this.logger = options.logger ?? silentLogger;
  }

  /** The default model's name. */
  get modelName(): string {
    return this.models[0].name;
  }

  /** Names of the models loaded now, least recently used first. */
  get loadedNames(): string[] {
    return [...this.loaded.keys()];
  }

  /** The engine of `name` (the default when undefined), loaded on first use. Throws UnknownModelError, ModelUnavailableError. */
  async engine(name?: string): Promise<LoadedModel> {
    const model = name === undefined ? this.models[0] : this.models.find((m) => m.name === name);
    if (!model) throw new UnknownModelError(name ?? '');
    let loading = this.loaded.get(model.name);
    if (loading) {
      this.loaded.delete(model.name);
      this.loaded.set(model.name, loading); // most recently used last
    } else {
      await this.makeRoom(model);
      loading = this.options.load(model.dir).catch((error: unknown) => {
        this.loaded.delete(model.name);
        this.logger.error(
          { model: model.name, err: error instanceof Error ? error.message : String(error) },
          'model failed to load',
        );
        throw new ModelUnavailableError(model.name, error);
      });
      this.loaded.set(model.name, loading);
      this.logger.info({ model: model.name, mb: Math.round(model.bytes / 2 ** 20) }, 'model loading');
    }
    return loading;
  }

  async generate(request: GenerateRequest, options?: GenerateOptions): Promise<GenerateResult> {
    const name = request.model ?? this.modelName;
    const engine = await this.engine(name);
    this.busy.set(name, (this.busy.get(name) ?? 0) + 1);
    try {
      return await engine.generate(request, options);
    } finally {
      this.busy.set(name, (this.busy.get(name) ?? 1) - 1);
    }
  }

  async close(): Promise<void> {
    const all = [...this.loaded.values()];
    this.loaded.clear();
    await Promise.allSettled(all.map(async (p) => (await p).close()));
  }

  /** Closes idle models, least recently used first, until `next` fits the budget (it loads anyway if alone). */
  private async makeRoom(next: LibraryModel): Promise<void> {
    const size = (name: string) => this.models.find((m) => m.name === name)?.bytes ?? 0;
    let used = [...this.loaded.keys()].reduce((sum, name) => sum + size(name), 0);
    for (const name of [...this.loaded.keys()]) {
      if (used + next.bytes <= this.options.budgetBytes) break;
      if ((this.busy.get(name) ?? 0) > 0) continue;
      const closing = this.loaded.get(name)!;
      this.loaded.delete(name);
      used -= size(name);
      this.logger.info({ model: name, for: next.name }, 'model closed to make room');
      await closing.then((m) => m.close()).catch(() => undefined);
    }
  }
}
