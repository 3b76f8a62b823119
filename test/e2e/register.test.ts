// Command registration (src/app/register-commands.ts and its deploy wrapper) against the local server: per server and global, idempotent.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDiscordServer } from '../support/discord/index.ts';
import { registerBotCommands } from '../../src/app/register-commands.ts';

const server = await startDiscordServer();
after(() => server.close());

test('registers the six commands for one server, twice with the same result', async () => {
  const first = await registerBotCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });
  assert.equal(first.applicationId, server.applicationId);
  assert.deepEqual(first.names.sort(), ['cancel', 'diffusion', 'help', 'imagine', 'queue', 'settings']);
  const ids = server
    .registeredCommands(server.guildId)
    .map((c) => `${c.name}:${c.id}`)
    .sort();
  await registerBotCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });
  assert.equal(server.registeredCommands(server.guildId).length, 6);
  assert.deepEqual(
    server
      .registeredCommands(server.guildId)
      .map((c) => `${c.name}:${c.id}`)
      .sort(),
    ids,
    'a bulk overwrite keeps the same commands',
  );
  assert.deepEqual(server.violations, []);
});

test('registers globally without --guild', async () => {
  const result = await registerBotCommands({ token: server.token, apiUrl: server.apiUrl });
  assert.equal(result.scope, 'global');
  assert.equal(server.registeredCommands().length, 6);
  await assert.rejects(registerBotCommands({ token: 'wrong', apiUrl: server.apiUrl }), /401|Unauthorized/);
});

test('npm run register-commands -- --guild ID: the deploy wrapper registers and says what it did', async () => {
  // A child process (not spawnSync: the local server answers from this process's event loop).
  const { execFile } = await import('node:child_process');
  const env = { ...process.env, DISCORD_TOKEN: server.token, DISCORD_API_URL: server.apiUrl };
  const run = (args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'deploy/register-commands.ts', ...args],
        { env },
        (error, stdout, stderr) => {
          resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr });
        },
      );
    });
  const ok = await run(['--guild', server.guildId]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(
    ok.stdout,
    new RegExp(
      `registered 6 commands \\(/imagine, .*\\) server ${server.guildId} for application ${server.applicationId}`,
    ),
  );
  const bad = await run(['--global']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /register-commands: unknown argument --global/);
});

test('the registered command JSON is byte-identical to the committed golden file', async () => {
  const { readFileSync } = await import('node:fs');
  const { botCommandDefinitions } = await import('../../src/commands/index.ts');
  const golden = readFileSync(new URL('../fixtures/golden/commands.json', import.meta.url), 'utf8');
  assert.equal(`${JSON.stringify(botCommandDefinitions(), null, 2)}\n`, golden);
  await registerBotCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });
  const stored = server.registeredCommands(server.guildId).map((c) => c.name);
  assert.deepEqual(
    stored,
    JSON.parse(golden).map((c: { name: string }) => c.name),
  );
});
