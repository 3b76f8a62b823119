// The discord.js client: only the Guilds intent (slash commands and buttons need nothing more), and
// the REST base from DISCORD_API_URL when set, so the bot runs against any Discord-compatible server.
import { Client, GatewayIntentBits } from 'discord.js';

export function createClient(options: { apiUrl?: string } = {}): Client {
  return new Client({
    intents: [GatewayIntentBits.Guilds],
    ...(options.apiUrl ? { rest: { api: options.apiUrl } } : {}),
  });
}
