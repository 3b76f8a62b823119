// The interaction router: finds the command or button handler, runs it with timing, and — whatever
// happens — makes sure the user hears back. One try/catch at dispatch (discord.js guide): a handler
// error becomes an ephemeral message that says what to do; unknown errors are logged with an id.
import { randomBytes } from 'node:crypto';
import { MessageFlags, type AutocompleteInteraction, type Interaction, type RepliableInteraction } from 'discord.js';
import { JobNotFoundError, JobStateError, LimitError, PermissionError, SubmitError } from '../queue/index.ts';
import { decodeCustomId } from './custom-id.ts';
import type { Registry } from './registry.ts';
import type { Services } from './command-types.ts';
import { UserFacingError, relativeTime } from './errors.ts';
import type { Logger } from './ports.ts';

export interface CommandRunEvent {
  /** "/imagine", "button:reroll", ... */
  name: string;
  userId: string;
  guildId: string | null;
  durationMs: number;
  outcome: 'ok' | 'refused' | 'error';
  /** Identifier of the error shown to the user, when there was one. */
  error?: string;
}

export interface RouterOptions {
  registry: Registry;
  services: Services;
  logger: Logger;
  /** Called after every command or button run (metrics, tests). */
  onRun?: (event: CommandRunEvent) => void;
}

/** What the user reads for an error, and whether it was their doing ('refused') or ours ('error'). */
export function presentError(error: unknown): { message: string; identifier: string; outcome: 'refused' | 'error' } {
  if (error instanceof UserFacingError)
    return { message: error.message, identifier: error.identifier, outcome: 'refused' };
  if (error instanceof LimitError) {
    const when =
      error.resetsAt !== undefined && error.code !== 'daily_quota'
        ? ` You can try again ${relativeTime(error.resetsAt)}.`
        : error.resetsAt !== undefined
          ? ` (${relativeTime(error.resetsAt)})`
          : '';
    return { message: `${error.message}${when}`, identifier: `limit:${error.code}`, outcome: 'refused' };
  }
  if (error instanceof PermissionError)
    return {
      message: 'Only the person who asked for this image, or a moderator, can cancel it.',
      identifier: 'notAllowed',
      outcome: 'refused',
    };
  if (error instanceof JobNotFoundError)
    return {
      message: 'That job no longer exists (it may have expired). /queue lists yours.',
      identifier: 'unknownJob',
      outcome: 'refused',
    };
  if (error instanceof JobStateError)
    return { message: 'That job has already finished; nothing to cancel.', identifier: 'jobState', outcome: 'refused' };
  if (error instanceof SubmitError)
    return {
      message: `That request was not valid: ${error.message}.`,
      identifier: 'invalidRequest',
      outcome: 'refused',
    };
  const ref = randomBytes(3).toString('hex');
  return {
    message: `Something went wrong on our side (ref \`${ref}\`). Please try again; if it keeps happening, tell a moderator.`,
    identifier: `internal:${ref}`,
    outcome: 'error',
  };
}

export function createRouter(options: RouterOptions): (interaction: Interaction) => Promise<void> {
  const { registry, services, logger } = options;
  return async (interaction) => {
    if (interaction.isAutocomplete()) return autocomplete(interaction, registry, services, logger);
    if (!interaction.isChatInputCommand() && !interaction.isButton() && !interaction.isModalSubmit()) return;
    const started = performance.now();
    const kind = interaction.isModalSubmit() ? 'modal' : 'button';
    const name = interaction.isChatInputCommand()
      ? `/${interaction.commandName}`
      : `${kind}:${interaction.customId.slice(0, 40)}`;
    let outcome: CommandRunEvent['outcome'] = 'ok';
    let errorId: string | undefined;
    try {
      if (interaction.isChatInputCommand()) {
        const command = registry.commands.get(interaction.commandName);
        if (!command)
          throw new UserFacingError(
            'unknownCommand',
            `I do not know /${interaction.commandName} (yet). /help lists what I can do.`,
          );
        await command.execute(interaction, services);
      } else {
        // A modal's custom_id names the button family that opened it, as the button's own does.
        const ref = decodeCustomId(interaction.customId);
        const family = ref && registry.buttons.get(ref.action);
        const modal = interaction.isModalSubmit();
        if (!ref || !family || (modal && !family.submit))
          throw new UserFacingError(
            modal ? 'unknownModal' : 'unknownButton',
            `That ${modal ? 'form' : 'button'} is not one I recognise (it may be from an old version). Start again with /imagine.`,
          );
        if (interaction.isModalSubmit()) await family.submit?.(interaction, ref, services);
        else await family.execute(interaction, ref, services);
      }
    } catch (error) {
      const shown = presentError(error);
      outcome = shown.outcome;
      errorId = shown.identifier;
      if (shown.outcome === 'error')
        logger.error(
          {
            err:
              error instanceof Error ? { name: error.name, message: error.message, stack: error.stack } : String(error),
            name,
            ref: shown.identifier,
          },
          'command failed',
        );
      await tellUser(interaction, shown.message).catch((e) =>
        logger.warn({ name, err: e instanceof Error ? e.message : String(e) }, 'could not send the error reply'),
      );
    } finally {
      const event: CommandRunEvent = {
        name: interaction.isChatInputCommand()
          ? name
          : `${kind}:${decodeCustomId(interaction.customId)?.action ?? 'unknown'}`,
        userId: interaction.user.id,
        guildId: interaction.guildId,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
        outcome,
        ...(errorId ? { error: errorId } : {}),
      };
      logger.info({ ...event }, 'command run');
      options.onRun?.(event);
    }
  };
}

/** Autocomplete answers choices or nothing: a failure there must never become a message. */
async function autocomplete(
  interaction: AutocompleteInteraction,
  registry: Registry,
  services: Services,
  logger: Logger,
): Promise<void> {
  const command = registry.commands.get(interaction.commandName);
  try {
    if (command?.autocomplete) await command.autocomplete(interaction, services);
    else await interaction.respond([]);
  } catch (error) {
    logger.warn(
      { name: `/${interaction.commandName}`, err: error instanceof Error ? error.message : String(error) },
      'autocomplete failed',
    );
    if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
  }
}

/** Ephemeral in every state: first reply, after an ephemeral defer, or after a public defer (deleted first). */
async function tellUser(interaction: RepliableInteraction, content: string): Promise<void> {
  const message = { content: content.slice(0, 2000), allowedMentions: { parse: [] as [] } };
  if (!interaction.deferred && !interaction.replied) {
    await interaction.reply({ ...message, flags: MessageFlags.Ephemeral });
  } else if (interaction.deferred && !interaction.replied && interaction.ephemeral) {
    await interaction.editReply(message);
  } else {
    if (interaction.deferred && !interaction.ephemeral) await interaction.deleteReply().catch(() => undefined);
    await interaction.followUp({ ...message, flags: MessageFlags.Ephemeral });
  }
}
