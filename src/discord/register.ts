// Registers slash commands, globally or for one server, by bulk overwrite (PUT): running it twice
// leaves the same commands, and commands we no longer ship disappear. The application id comes from
// GET /applications/@me.
import {
  REST,
  Routes,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
  type RESTPutAPIApplicationCommandsResult,
} from 'discord.js';

export class RegisterError extends Error {
  override name = 'RegisterError';
}

export interface RegisterOptions {
  token: string;
  apiUrl?: string;
  /** One server (immediate); global when left out (can take up to an hour to show everywhere). */
  guildId?: string;
  definitions: RESTPostAPIChatInputApplicationCommandsJSONBody[];
}

export async function registerCommands(
  options: RegisterOptions,
): Promise<{ applicationId: string; names: string[]; scope: string }> {
  if (!options.token) throw new RegisterError('DISCORD_TOKEN is required to register commands.');
  if (options.guildId !== undefined && !/^\d{1,25}$/.test(options.guildId)) {
    throw new RegisterError(`expected --guild to be a server id (digits), got ${JSON.stringify(options.guildId)}`);
  }
  const rest = new REST(options.apiUrl ? { api: options.apiUrl } : {}).setToken(options.token);
  const app = (await rest.get(Routes.currentApplication())) as { id: string };
  const route = options.guildId
    ? Routes.applicationGuildCommands(app.id, options.guildId)
    : Routes.applicationCommands(app.id);
  const saved = (await rest.put(route, { body: options.definitions })) as RESTPutAPIApplicationCommandsResult;
  return {
    applicationId: app.id,
    names: saved.map((c) => c.name),
    scope: options.guildId ? `server ${options.guildId}` : 'global',
  };
}
