// The process entry for every role (`npm start`, `npm run start:bot`, `npm run start:worker`):
// config -> logger -> the role's parts -> one signal handler.
//   ROLE=all / bot: store -> engine (all) -> queue + worker -> Discord -> metrics (app.ts)
//   ROLE=worker:    engine -> one BullMQ GPU worker (worker-role.ts); no Discord, no job store
// SIGTERM/SIGINT: stop taking jobs, let the running one finish within SHUTDOWN_GRACE_SECONDS (else
// re-queue it), close everything, exit 0. A second signal re-queues at once. Exit 1 when start fails.
import { ModelLoadError } from '../engine/index.ts';
import { ConfigError, describeConfig, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { startApp, StartupError } from './app.ts';
import { startDiscord } from './front-end.ts';
import { startWorkerRole } from './worker-role.ts';

/** What a role hands back: a graceful stop; `graceMs: 0` re-queues the running job at once. */
interface Running {
  stop(options?: { graceMs?: number }): Promise<void>;
}

function redisPassword(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

function readConfig(): Config {
  try {
    return loadConfig();
  } catch (error) {
    // No logger yet (its level is part of the configuration): plain text on stderr.
    if (error instanceof ConfigError) {
      process.stderr.write(`emojiforge: ${error.message}\nSee deploy/.env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function startRole(config: Config, logger: Logger): Promise<Running> {
  try {
    if (config.role === 'worker') return await startWorkerRole(config, logger);
    return await startApp(config, logger, (deps) => startDiscord(deps));
  } catch (error) {
    // A StartupError's message already says what to fix; anything else is a bug worth its stack.
    if (error instanceof StartupError) logger.fatal({ variable: error.variable }, error.message);
    else if (error instanceof ModelLoadError) logger.fatal({ variable: 'MODEL_DIR' }, `MODEL_DIR: ${error.message}`);
    else if (error instanceof ConfigError) logger.fatal(error.message);
    else logger.fatal({ err: error }, `start failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}

function stopOnSignals(running: Running, config: Config, logger: Logger): void {
  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals > 1) {
      logger.info({ signal }, 're-queueing the running job now');
      void running.stop({ graceMs: 0 });
      return;
    }
    logger.info({ signal }, 'shutting down (send the signal again to re-queue the running job at once)');
    // A stuck close must not keep the process alive forever.
    const deadline = setTimeout(
      () => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      },
      config.shutdownGraceSeconds * 1000 + 30_000,
    );
    deadline.unref();
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

export async function main(): Promise<void> {
  const config = readConfig();
  const base = config.role === 'worker' ? { role: 'worker' } : undefined;
  const logger = createLogger({
    level: config.logLevel,
    secrets: [config.discordToken, redisPassword(config.redisUrl)],
    base,
  });
  logger.info({ config: describeConfig(config), node: process.version }, 'starting');
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));
  const running = await startRole(config, logger);
  logger.info('ready');
  stopOnSignals(running, config, logger);
}
