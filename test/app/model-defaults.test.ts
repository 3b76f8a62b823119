// The assembled app (real store, engine, queue, discord.js bot against the local Discord server): what
// /imagine runs with when the user leaves steps, guidance and the sampler out comes from the model folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/app/config.ts';
import { createLogger } from '../../src/app/log.ts';
import { startApp } from '../../src/app/app.ts';
import { startDiscord } from '../../src/app/front-end.ts';
import { startDiscordServer } from '../support/discord/index.ts';
import { FIXTURE, isFinal } from '../e2e/harness.ts';

/** The assembled app on `modelDir` against a local Discord server, for the time `run` takes. */
async function withApp(
  dir: string,
  modelDir: string,
  run: (
    server: Awaited<ReturnType<typeof startDiscordServer>>,
    app: Awaited<ReturnType<typeof startApp>>,
  ) => Promise<void>,
): Promise<void> {
  const server = await startDiscordServer();
  const config = parseConfig({
    DISCORD_TOKEN: server.token,
    DISCORD_API_URL: server.apiUrl,
    DATA_DIR: join(dir, 'data'),
    MODEL_DIR: modelDir,
    REGISTER_COMMANDS: server.guildId,
    LOG_LEVEL: 'silent',
  });
  const app = await startApp(config, createLogger({ level: 'silent', secrets: [server.token] }), (deps) =>
    startDiscord(deps),
  );
  try {
    await run(server, app);
    assert.deepEqual(server.violations, []);
  } finally {
    await app.stop({ graceMs: 0 });
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('/imagine without steps, guidance or sampler runs with the model folder defaults', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'app-defaults-'));
  const modelDir = join(dir, 'model');
  cpSync(FIXTURE, modelDir, { recursive: true });
  const indexFile = join(modelDir, 'model_index.json');
  writeFileSync(
    indexFile,
    JSON.stringify({
      ...JSON.parse(readFileSync(indexFile, 'utf8')),
      emojiforge: { steps: 3, guidance: 2, sampler: 'ddim' },
    }),
  );
  await withApp(dir, modelDir, async (server, app) => {
    const i = server.slash({ user: server.users.alice, command: 'imagine', options: { prompt: 'a lighthouse' } });
    await i.waitFor(isFinal);
    const [job] = await app.queue.listForUser(server.users.alice.id, { finished: 1 });
    assert.deepEqual([job.request.steps, job.request.guidance, job.request.sampler], [3, 2, 'ddim']);
  });
});

test('an SDXL Lightning folder: its named steps without guidance, 1024 px, and max_side raised to it for a server that never set one', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'app-sdxl-'));
  const modelDir = join(dir, 'sdxl-lightning-1step');
  cpSync(join(import.meta.dirname, '..', 'fixtures', 'models', 'sdxl-tiny'), modelDir, { recursive: true });
  const unetFile = join(modelDir, 'unet', 'config.json');
  writeFileSync(unetFile, JSON.stringify({ ...JSON.parse(readFileSync(unetFile, 'utf8')), sample_size: 128 }));
  const indexFile = join(modelDir, 'model_index.json');
  const { name: _, ...index } = JSON.parse(readFileSync(indexFile, 'utf8'));
  writeFileSync(indexFile, JSON.stringify(index)); // known by its folder's name
  await withApp(dir, modelDir, async (server, app) => {
    const i = server.slash({ user: server.users.alice, command: 'imagine', options: { prompt: 'a lighthouse' } });
    const final = await i.waitFor(isFinal);
    const [job] = await app.queue.listForUser(server.users.alice.id, { finished: 1 });
    assert.deepEqual(
      [job.request.steps, job.request.guidance, job.request.sampler, job.request.width, job.request.height],
      [1, 0, 'euler', 1024, 1024],
    );
    assert.match(final.content, /1024×1024/);
  });
});
