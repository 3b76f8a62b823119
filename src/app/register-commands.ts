// `npm run register-commands [-- --guild ID]`: registers this bot's commands by hand (the running bot
// also registers them at start, see REGISTER_COMMANDS). Reads DISCORD_TOKEN and DISCORD_API_URL
// (optional) from the environment or .env.
import { botCommandDefinitions } from '../commands/index.ts';
import { registerCommands, RegisterError } from '../discord/register.ts';

export { RegisterError };

/** This bot's commands, registered globally or for one server. */
export function registerBotCommands(options: { token: string; apiUrl?: string; guildId?: string }) {
  return registerCommands({ ...options, definitions: botCommandDefinitions() });
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

/** The command-line tool: exit 1 with one line on stderr when registration fails. */
export async function runRegisterCommands(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    const { guildId } = parseArgs(argv);
    const result = await registerBotCommands({
      token: env.DISCORD_TOKEN ?? '',
      apiUrl: env.DISCORD_API_URL || undefined,
      guildId,
    });
    const names = result.names.map((n) => `/${n}`).join(', ');
    console.log(
      `registered ${result.names.length} commands (${names}) ${result.scope} for application ${result.applicationId}`,
    );
  } catch (error) {
    console.error(`register-commands: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
