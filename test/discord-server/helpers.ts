// Shared by the server's self-tests: a bare discord.js client logged in to the fake server.
import { Client, Events, GatewayIntentBits, type Interaction } from 'discord.js';
import { startDiscordServer, type DiscordServer, type DiscordServerOptions } from '../support/discord/index.ts';

export interface Harness {
  server: DiscordServer;
  client: Client;
  /** Replaces what the client does with each interaction. */
  onInteraction(handler: (interaction: Interaction) => Promise<void> | void): void;
  close(): Promise<void>;
}

export async function startHarness(
  options: DiscordServerOptions = {},
  intents: GatewayIntentBits[] = [GatewayIntentBits.Guilds],
): Promise<Harness> {
  const server = await startDiscordServer(options);
  const client = new Client({ intents, rest: { api: server.apiUrl } });
  let handler: (interaction: Interaction) => Promise<void> | void = () => {};
  const failures: unknown[] = [];
  client.on('interactionCreate', (interaction) => {
    Promise.resolve(handler(interaction)).catch((error) => failures.push(error));
  });
  const ready = new Promise<void>((resolve) => client.once(Events.ClientReady, () => resolve()));
  await client.login(server.token);
  await ready;
  return {
    server,
    client,
    onInteraction(next) {
      handler = next;
    },
    async close() {
      await client.destroy();
      await server.close();
      if (failures.length) throw failures[0];
    },
  };
}

/** Asserts the server recorded exactly these violations (in order), then forgets them. */
export function expectViolations(server: DiscordServer, patterns: RegExp[]): void {
  const got = server.takeViolations();
  const ok = got.length === patterns.length && patterns.every((p, i) => p.test(got[i]));
  if (!ok) {
    throw new Error(`expected violations matching [${patterns.join(', ')}], got ${JSON.stringify(got, null, 2)}`);
  }
}

/** Runs `action`, returning the Discord error code it failed with (undefined if it succeeded). */
export async function discordErrorCode(action: () => Promise<unknown>): Promise<number | string | undefined> {
  try {
    await action();
    return undefined;
  } catch (error) {
    const code = (error as { code?: number | string }).code;
    if (code === undefined) throw error;
    return code;
  }
}
