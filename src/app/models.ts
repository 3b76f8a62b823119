// Several models (MODELS_DIR): the library the worker draws with and the choices /imagine offers.
import type { Config } from './config.ts';
import type { Logger } from './log.ts';
import { WorkerPipeline } from '../engine/index.ts';
import { ModelLibrary, scanModels } from '../engine/model-library.ts';
import type { ModelChoice } from '../discord/model-choice.ts';
import { modelChoiceOf, readModelFacts } from './model-facts.ts';
import { StartupError } from './app.ts';

/**
 * MODELS_DIR: MODEL_DIR's model (the default) and every model folder there, loaded on first use within
 * MODEL_MEMORY_MB; folders that are not models are logged by name and skipped. The default loads now, so a
 * broken default fails the start. Several models run with the local backend (config.ts refuses the others).
 */
export async function openLibrary(
  config: Config,
  logger: Logger,
): Promise<{ library: ModelLibrary; models: ModelChoice[] }> {
  const { models: found, problems } = scanModels(config.modelDir, config.modelsDir);
  for (const problem of problems)
    logger.warn({ model: problem.name, problem: problem.message }, 'model folder skipped');
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
  const models = found.map((m) => {
    const facts = readModelFacts(m.dir);
    return modelChoiceOf(m.name, m.dir, facts);
  });
  logger.info({ models: models.map((m) => m.name), default: models[0].name }, 'models offered');
  return { library, models };
}
