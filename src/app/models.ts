// Several models (MODELS_DIR): the models offered (MODEL_DIR's, the default, then every model folder
// there, by name; non-model folders logged by name and skipped), what /imagine knows of each, and the
// library an engine-holding process draws with (loaded on first use within MODEL_MEMORY_MB).
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { WorkerPipeline } from '../engine/index.ts';
import { ModelLibrary, scanModels, type LibraryModel } from '../engine/model-library.ts';
import type { ModelChoice } from '../discord/model-choice.ts';
import { modelChoiceOf, readModelFacts } from './model-facts.ts';
import { StartupError } from './app.ts';

/** The model folders and their /imagine facts, from the files alone (ROLE=bot has no engine). */
export function offeredModels(config: Config, logger: Logger): { found: LibraryModel[]; models: ModelChoice[] } {
  const { models: found, problems } = scanModels(config.modelDir, config.modelsDir);
  for (const problem of problems)
    logger.warn({ model: problem.name, problem: problem.message }, 'model folder skipped');
  const models = found.map((m) => modelChoiceOf(m.name, m.dir, readModelFacts(m.dir)));
  logger.info({ models: models.map((m) => m.name), default: models[0].name }, 'models offered');
  return { found, models };
}

/** The library of `found`; the default loads now, so a broken default fails the start. */
export async function openLibrary(found: LibraryModel[], config: Config, logger: Logger): Promise<ModelLibrary> {
  const library = new ModelLibrary(found, {
    budgetBytes: config.modelMemoryMb * 2 ** 20,
    logger: logger.child({ component: 'models' }),
    load: (dir) =>
      WorkerPipeline.load(dir, {
        executionProvider: config.executionProvider,
        intraOpNumThreads: config.intraOpThreads,
        interOpNumThreads: config.interOpThreads,
        logger: logger.child({ component: 'engine' }),
      }),
  });
  await library.engine().catch((error: unknown) => {
    throw new StartupError('MODEL_DIR', error instanceof Error ? error.message : String(error), { cause: error });
  });
  return library;
}
