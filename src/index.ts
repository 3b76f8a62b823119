// `npm start`: config -> logger -> store -> engine -> queue + worker -> Discord -> metrics.
// SIGTERM/SIGINT: stop taking jobs, let the running one finish within SHUTDOWN_GRACE_SECONDS (else
// re-queue it), close everything, exit 0. A second signal re-queues at once. Exit 1 when start fails.
import { ConfigError, describeConfig, loadConfig, type Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { startApp, StartupError, type App } from './ops/app.ts';
import { startDiscord } from './ops/discord.ts';

function redisPassword(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    // No logger yet (its level is part of the configuration): plain text on stderr.
    if (error instanceof ConfigError) {
      process.stderr.write(`emojiforge: ${error.message}\nSee deploy/.env.example for every variable.\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger: Logger = createLogger({ level: config.logLevel, secrets: [config.discordToken, redisPassword(config.redisUrl)] });
  logger.info({ config: describeConfig(config), node: process.version }, 'starting');

  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled promise rejection'));

  // ROLE=worker: a GPU worker process (src/worker-main.ts); no Discord, no job store.
  if (config.role === 'worker') {
    const { runWorkerProcess } = await import('./worker-main.ts');
    await runWorkerProcess(config, logger);
    return;
  }

  let app: App;
  try {
    app = await startApp(config, logger, (deps) => startDiscord(deps));
  } catch (error) {
    // A StartupError's message already says what to fix; anything else is a bug worth its stack.
    if (error instanceof StartupError) logger.fatal({ variable: error.variable }, error.message);
    else logger.fatal({ err: error }, `start failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
  logger.info('ready');

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      logger.info({ signal }, 'shutting down (send the signal again to re-queue the running job at once)');
      // A stuck close must not keep the process alive forever.
      const deadline = setTimeout(() => {
        logger.error('shutdown took too long; exiting');
        process.exit(1);
      }, config.shutdownGraceSeconds * 1000 + 30_000);
      deadline.unref();
      app.stop().then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
    } else {
      logger.info({ signal }, 're-queueing the running job now');
      void app.stop({ graceMs: 0 });
    }
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}

await main();
