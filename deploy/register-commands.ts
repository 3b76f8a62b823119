// Registers the bot's slash commands, globally or for one server, by bulk overwrite (PUT): running
// it twice leaves the same commands, and commands we no longer ship disappear.
//
//   npm run register-commands                 # global (can take up to an hour to show everywhere)
//   npm run register-commands -- --guild ID   # one server, immediate (good while developing)
//
// Reads DISCORD_TOKEN and DISCORD_API_URL (optional) from the environment or .env; the application
// id comes from GET /applications/@me.
import 'dotenv/config';
import { pathToFileURL } from 'node:url';
import { REST, Routes, type RESTPutAPIApplicationCommandsResult } from 'discord.js';
import { commandDefinitions } from '../src/commands/registry.ts';

export class RegisterError extends Error {
  override name = 'RegisterError';
}

export interface RegisterOptions {
  token: string;
  apiUrl?: string;
  guildId?: string;
}

export async function registerCommands(options: RegisterOptions): Promise<{ applicationId: string; names: string[]; scope: string }> {
  if (!options.token) throw new RegisterError('DISCORD_TOKEN is required to register commands.');
  if (options.guildId !== undefined && !/^\d{1,25}$/.test(options.guildId)) {
    throw new RegisterError(`expected --guild to be a server id (digits), got ${JSON.stringify(options.guildId)}`);
  }
  const rest = new REST(options.apiUrl ? { api: options.apiUrl } : {}).setToken(options.token);
  const app = (await rest.get(Routes.currentApplication())) as { id: string };
  const route = options.guildId ? Routes.applicationGuildCommands(app.id, options.guildId) : Routes.applicationCommands(app.id);
  const saved = (await rest.put(route, { body: commandDefinitions() })) as RESTPutAPIApplicationCommandsResult;
  return { applicationId: app.id, names: saved.map((c) => c.name), scope: options.guildId ? `server ${options.guildId}` : 'global' };
}

export function parseArgs(argv: string[]): { guildId?: string } {
  const out: { guildId?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--guild') out.guildId = argv[++i];
    else if (arg.startsWith('--guild=')) out.guildId = arg.slice('--guild='.length);
    else throw new RegisterError(`unknown argument ${arg}; usage: npm run register-commands -- [--guild ID]`);
  }
  return out;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  try {
    const { guildId } = parseArgs(process.argv.slice(2));
    const result = await registerCommands({ token: process.env.DISCORD_TOKEN ?? '', apiUrl: process.env.DISCORD_API_URL || undefined, guildId });
    console.log(`registered ${result.names.length} commands (${result.names.map((n) => `/${n}`).join(', ')}) ${result.scope} for application ${result.applicationId}`);
  } catch (error) {
    console.error(`register-commands: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
