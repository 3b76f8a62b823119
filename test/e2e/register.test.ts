// deploy/register-commands against the local server: per server and global, idempotent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDiscordServer } from '../support/discord/index.ts';
import { registerCommands } from '../../deploy/register-commands.ts';

const server = await startDiscordServer();
after(() => server.close());

test('registers the six commands for one server, twice with the same result', async () => {
  const first = await registerCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });
  assert.equal(first.applicationId, server.applicationId);
  assert.deepEqual(first.names.sort(), ['cancel', 'diffusion', 'help', 'imagine', 'queue', 'settings']);
  const ids = server.registeredCommands(server.guildId).map((c) => `${c.name}:${c.id}`).sort();
  await registerCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });
  assert.equal(server.registeredCommands(server.guildId).length, 6);
  assert.deepEqual(server.registeredCommands(server.guildId).map((c) => `${c.name}:${c.id}`).sort(), ids, 'a bulk overwrite keeps the same commands');
  assert.deepEqual(server.violations, []);
});

test('registers globally without --guild', async () => {
  const result = await registerCommands({ token: server.token, apiUrl: server.apiUrl });
  assert.equal(result.scope, 'global');
  assert.equal(server.registeredCommands().length, 6);
  await assert.rejects(registerCommands({ token: 'wrong', apiUrl: server.apiUrl }), /401|Unauthorized/);
});
