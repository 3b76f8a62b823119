// startBot: the front end's one entry point for wiring (src/index.ts) and tests.
//
//   const bot = await startBot({ token, apiUrl, registry, queue, settings, logger, defaultSide: 64 });
//   ...
//   await worker.stop({ requeue: true });   // first: a job finishing now is still delivered
//   await bot.stop();                       // waits (bounded) for finals under way
//   await queue.close(); await store.close();
//
// It logs in, waits for READY, learns the application id, starts delivering queue events to
// messages (including jobs queued before a restart: their records carry the interaction token),
// and routes every interaction. It does not register commands (register.ts does, from src/app).
import { Events, type Client } from 'discord.js';
import { randomSeed } from '../engine/noise.ts';
import { DISCORD_CDN_ORIGINS } from './cdn-image.ts';
import type { ModelChoice } from './model-choice.ts';
import { PLAIN_SIZE_RULE } from '../engine/model-size.ts';
import type { SamplerName } from '../engine/types.ts';
import type { Registry } from './registry.ts';
import type { Services } from './command-types.ts';
import { createClient } from './client.ts';
import { Deliverer } from './delivery.ts';
import { createRouter, type CommandRunEvent } from './router.ts';
import { createRestTransport, type Transport } from './transport.ts';
import type { Logger, QueuePort, SettingsPort } from './ports.ts';

export interface BotOptions {
  /** Bot token (DISCORD_TOKEN). Never logged. */
  token: string;
  /** REST base such as "http://127.0.0.1:8080/api" (DISCORD_API_URL); Discord's when left out. */
  apiUrl?: string;
  /** The commands and buttons to answer (src/commands' botRegistry()). */
  registry: Registry;
  queue: QueuePort;
  settings: SettingsPort;
  logger: Logger;
  /** The model's native side in pixels (aspect ratios are sized around it) when `models` is left out. */
  defaultSide: number;
  /** /imagine defaults. Default steps 20, guidance 7.5, sampler euler_a. */
  defaults?: Partial<Services['defaults']>;
  /** Base gap between preview edits of one message. Default 1500 ms. */
  previewIntervalMs?: number;
  /** How long interaction tokens work. Default Discord's 15 minutes (tests shorten it). */
  tokenLifetimeMs?: number;
  /** How often finals that could not be sent are tried again. Default 60 s (tests shorten it). */
  retryOwedMs?: number;
  /** Tries for one final before it waits for that sweep. Default 8. */
  finalAttempts?: number;
  /** Short side results are shown at. Default 512 (tests use the tiny model's 64). */
  displaySide?: number;
  /** Milliseconds to wait for READY. Default 30000. */
  readyTimeoutMs?: number;
  /** Hook after every command/button run (also logged). */
  onRun?: (event: CommandRunEvent) => void;
  /** The models offered, the default first (MODELS_DIR); without it, one built from the options above. */
  models?: readonly ModelChoice[];
  /** Whether the model has a VAE encoder (image-to-image). Default false. */
  imageToImage?: boolean;
  /** Origins accepted as Discord's CDN for pictures users give. Default Discord's two. */
  cdnOrigins?: readonly string[];
  /** How long fetching such a picture may take. Default 15 s. */
  imageFetchTimeoutMs?: number;
  /** Replaces the REST transport used for edits and channel posts (tests). */
  transport?: Transport;
  randomSeed?: () => number;
}

export interface Bot {
  client: Client;
  applicationId: string;
  deliverer: Deliverer;
  registry: Registry;
  stop(): Promise<void>;
}

export class BotStartError extends Error {
  override name = 'BotStartError';
}

export async function startBot(options: BotOptions): Promise<Bot> {
  if (typeof options.token !== 'string' || options.token.trim() === '') {
    throw new BotStartError(
      'DISCORD_TOKEN is required: set it to your bot token (Discord Developer Portal > Bot > Reset Token).',
    );
  }
  if (!Number.isInteger(options.defaultSide) || options.defaultSide < 8 || options.defaultSide % 8 !== 0) {
    throw new BotStartError(`expected defaultSide to be a positive multiple of 8, got ${options.defaultSide}`);
  }
  const registry = options.registry;
  const client = createClient({ apiUrl: options.apiUrl });
  const logger = options.logger;
  client.on(Events.Error, (error) => logger.error({ err: error.message }, 'discord client error'));
  client.on(Events.Warn, (message) => logger.warn({ message }, 'discord client warning'));

  const ready = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new BotStartError(`no READY from the gateway within ${options.readyTimeoutMs ?? 30_000} ms`)),
      options.readyTimeoutMs ?? 30_000,
    );
    client.once(Events.ClientReady, () => {
      clearTimeout(timer);
      resolve();
    });
  });
  try {
    await client.login(options.token);
    await ready;
  } catch (error) {
    await client.destroy();
    throw error instanceof BotStartError
      ? error
      : new BotStartError(`could not log in to Discord: ${error instanceof Error ? error.message : String(error)}`);
  }
  const applicationId = client.application?.id ?? client.user!.id;

  const deliverer = new Deliverer({
    queue: options.queue,
    settings: options.settings,
    transport: options.transport ?? createRestTransport({ token: options.token, apiUrl: options.apiUrl }),
    logger,
    applicationId,
    previewIntervalMs: options.previewIntervalMs,
    tokenLifetimeMs: options.tokenLifetimeMs,
    retryOwedMs: options.retryOwedMs,
    finalAttempts: options.finalAttempts,
    displaySide: options.displaySide,
  });
  deliverer.start();
  // Jobs from before a restart: finals owed are sent (once), waiting jobs' messages refreshed.
  await deliverer
    .resume()
    .catch((error: unknown) =>
      logger.error(
        { err: error instanceof Error ? error.message : String(error) },
        'could not resume deliveries from before the restart',
      ),
    );

  const defaults = { steps: 20, guidance: 7.5, sampler: 'euler_a' as SamplerName, ...options.defaults };
  const imageToImage = options.imageToImage === true;
  // Without `models`, one model sized around defaultSide.
  const plainSize = { ...PLAIN_SIZE_RULE, side: options.defaultSide };
  const models = options.models ?? [{ name: 'default', description: '', size: plainSize, defaults, imageToImage }];
  const services: Services = {
    queue: options.queue,
    settings: options.settings,
    logger,
    size: models[0]?.size ?? plainSize,
    displaySide: options.displaySide,
    defaults,
    track: (job) => deliverer.track(job),
    randomSeed: options.randomSeed ?? randomSeed,
    imageToImage,
    models,
    imageFetch: {
      origins: options.cdnOrigins ?? DISCORD_CDN_ORIGINS,
      timeoutMs: options.imageFetchTimeoutMs ?? 15_000,
    },
  };
  const route = createRouter({ registry, services, logger, onRun: options.onRun });
  client.on(Events.InteractionCreate, (interaction) => void route(interaction));
  logger.info({ applicationId, user: client.user?.tag, commands: [...registry.commands.keys()] }, 'bot ready');

  let stopped = false;
  return {
    client,
    applicationId,
    deliverer,
    registry,
    async stop() {
      if (stopped) return;
      stopped = true;
      client.removeAllListeners(Events.InteractionCreate);
      await deliverer.stop();
      await client.destroy();
    },
  };
}
