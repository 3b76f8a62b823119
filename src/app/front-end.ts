// The Discord front end as the app sees it: optional command registration, then startBot, with the
// delivery transport wrapped so its API errors reach the metrics (it uses a REST client of its own).
import { DiscordAPIError, HTTPError, RateLimitError } from 'discord.js';
import { BotStartError, startBot, type Bot } from '../discord/bot.ts';
import { createRestTransport, type Transport } from '../discord/transport.ts';
import { DISCORD_CDN_ORIGINS } from '../discord/cdn-image.ts';
import { basename } from 'node:path';
import { modelChoiceOf } from './model-facts.ts';
import { botRegistry } from '../commands/index.ts';
import { commandDefinitions } from '../discord/registry.ts';
import { registerCommands } from '../discord/register.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { StartupError, type FrontEnd, type FrontEndDeps } from './app.ts';

/** Counts each failed call by status (or as a rate limit) and rethrows it unchanged. */
export function countingTransport(inner: Transport, metrics: Metrics): Transport {
  const count = (error: unknown): never => {
    if (error instanceof RateLimitError) metrics.rateLimited(error.global ? 'global' : error.scope);
    else if (error instanceof DiscordAPIError || error instanceof HTTPError)
      metrics.discordError(error.status, error.method);
    throw error;
  };
  return {
    editOriginal: (...args) => inner.editOriginal(...args).catch(count),
    postToChannel: (...args) => inner.postToChannel(...args).catch(count),
    ephemeralFollowUp: (...args) => inner.ephemeralFollowUp(...args).catch(count),
  };
}

export async function startDiscord(deps: FrontEndDeps & { metrics: Metrics }): Promise<FrontEnd> {
  const { config, logger } = deps;
  const token = config.discordToken;
  if (token === undefined) throw new StartupError('DISCORD_TOKEN', 'expected the bot token, got nothing');
  const log = logger.child({ component: 'discord' });
  const registry = botRegistry();
  const registration = config.registerCommands;
  if (registration.mode !== 'off') {
    // A failure here is not fatal: commands registered earlier keep working.
    try {
      const guildId = registration.mode === 'guild' ? registration.guildId : undefined;
      const result = await registerCommands({
        token,
        apiUrl: config.discordApiUrl,
        guildId,
        definitions: commandDefinitions(registry),
      });
      log.info({ scope: result.scope, commands: result.names }, 'slash commands registered');
    } catch (error) {
      log.warn({ err: error }, 'could not register slash commands (set REGISTER_COMMANDS=off to skip); continuing');
    }
  }
  let bot: Bot;
  try {
    bot = await startBot({
      token,
      apiUrl: config.discordApiUrl,
      registry,
      queue: deps.queue,
      settings: deps.settings,
      logger: log,
      defaultSide: deps.engine.size.side,
      imageToImage: deps.engine.imageToImage,
      // One model without MODELS_DIR, named by its folder as MODELS_DIR names them.
      models: deps.models ?? [modelChoiceOf(basename(config.modelDir), config.modelDir, deps.engine)],
      cdnOrigins: [...DISCORD_CDN_ORIGINS, ...(config.discordCdnUrl ? [new URL(config.discordCdnUrl).origin] : [])],
      defaults: {
        steps: deps.engine.defaults.steps,
        guidance: deps.engine.defaults.guidance,
        sampler: deps.engine.defaults.sampler,
      },
      transport: countingTransport(createRestTransport({ token, apiUrl: config.discordApiUrl }), deps.metrics),
    });
  } catch (error) {
    if (!(error instanceof BotStartError)) throw error;
    throw new StartupError(
      'DISCORD_TOKEN',
      `${error.message} (check the token, and DISCORD_API_URL ${config.discordApiUrl})`,
      { cause: error },
    );
  }
  return {
    rest: bot.client.rest,
    ready: () => bot.client.isReady(),
    stop: () => bot.stop(),
  };
}
