// `npm start` as an operator runs it: a child process of src/index.ts, configured only through its
// environment. Refusals at start exit 1 with a message naming the variable; a normal run serves
// health and metrics, answers /imagine, and exits 0 on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PROJECT_ROOT } from '../../src/app/config.ts';
import { startDiscordServer } from '../support/discord/index.ts';
import { FIXTURE, isFinal } from '../e2e/harness.ts';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.process-test-token_0123456789';

interface Child {
  exited: Promise<number | null>;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the first JSON log line whose msg matches. */
  line(msg: RegExp, timeoutMs?: number): Promise<Record<string, unknown>>;
  kill(signal: NodeJS.Signals): void;
}

function run(env: Record<string, string>, cwd: string): Child {
  // A clean environment: only what the test sets (plus PATH), and a working directory with no .env.
  const child = spawn(
    process.execPath,
    ['--import', import.meta.resolve('tsx'), join(PROJECT_ROOT, 'src', 'index.ts')],
    {
      cwd,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout.on('data', (chunk) => {
    out += chunk;
    for (const wake of waiters.splice(0)) wake();
  });
  child.stderr.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const find = (msg: RegExp) =>
    out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .find((l) => msg.test(String(l.msg)));
  return {
    exited,
    stdout: () => out,
    stderr: () => err,
    kill: (signal) => child.kill(signal),
    line: (msg, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no log line matching ${msg} within ${timeoutMs} ms:\n${out}\n${err}`)),
          timeoutMs,
        );
        const check = () => {
          const found = find(msg);
          if (found) {
            clearTimeout(timer);
            resolve(found);
          } else waiters.push(check);
        };
        void exited.then(() => {
          if (!find(msg)) {
            clearTimeout(timer);
            reject(new Error(`exited before a log line matching ${msg}:\n${out}\n${err}`));
          }
        });
        check();
      }),
  };
}

function scratch(): string {
  return mkdtempSync(join(tmpdir(), 'ef-process-'));
}

test('a missing token: exit 1 and a message on stderr naming DISCORD_TOKEN', async () => {
  const dir = scratch();
  try {
    const child = run({ MODEL_DIR: FIXTURE }, dir);
    assert.equal(await child.exited, 1);
    assert.match(child.stderr(), /invalid configuration:\n {2}- DISCORD_TOKEN: expected the bot token/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several bad variables are reported together, and the token is not echoed', async () => {
  const dir = scratch();
  try {
    const child = run({ DISCORD_TOKEN: `Bot ${TOKEN}`, METRICS_PORT: 'ninety', EXECUTION_PROVIDER: 'tpu' }, dir);
    assert.equal(await child.exited, 1);
    assert.match(child.stderr(), /DISCORD_TOKEN: expected a token without spaces/);
    assert.match(child.stderr(), /EXECUTION_PROVIDER: expected one of cpu, cuda, got "tpu"/);
    assert.match(child.stderr(), /METRICS_PORT: expected a whole number from 0 to 65535, got "ninety"/);
    assert.ok(!child.stderr().includes(TOKEN) && !child.stdout().includes(TOKEN));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unwritable DATA_DIR: exit 1 naming DATA_DIR', async () => {
  const dir = scratch();
  try {
    writeFileSync(join(dir, 'not-a-dir'), '');
    const child = run({ DISCORD_TOKEN: TOKEN, MODEL_DIR: FIXTURE, DATA_DIR: join(dir, 'not-a-dir', 'data') }, dir);
    assert.equal(await child.exited, 1);
    assert.match(
      child.stderr(),
      /DATA_DIR: expected a directory this process .* can create and write, got ".*not-a-dir\/data" \(ENOTDIR\)/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a broken MODEL_DIR: exit 1 with a fatal log line naming MODEL_DIR and the missing file', async () => {
  const dir = scratch();
  try {
    const model = join(dir, 'model');
    mkdirSync(model);
    writeFileSync(join(model, 'model_index.json'), '{"_class_name": "StableDiffusionPipeline"}');
    const child = run(
      { DISCORD_TOKEN: TOKEN, MODEL_DIR: model, DATA_DIR: join(dir, 'data'), REGISTER_COMMANDS: 'off' },
      dir,
    );
    assert.equal(await child.exited, 1);
    const fatal = await child.line(/^MODEL_DIR: /);
    assert.equal(fatal.level, 60);
    assert.equal(fatal.variable, 'MODEL_DIR');
    assert.ok(String(fatal.msg).includes(model), String(fatal.msg));
    assert.ok(!child.stdout().includes(TOKEN));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a token Discord rejects: exit 1 with a fatal log line naming DISCORD_TOKEN', async () => {
  const dir = scratch();
  const server = await startDiscordServer({});
  try {
    const child = run(
      {
        DISCORD_TOKEN: TOKEN,
        DISCORD_API_URL: server.apiUrl,
        MODEL_DIR: FIXTURE,
        DATA_DIR: join(dir, 'data'),
        REGISTER_COMMANDS: 'off',
      },
      dir,
    );
    assert.equal(await child.exited, 1);
    const fatal = await child.line(/^DISCORD_TOKEN: /);
    assert.equal(fatal.level, 60);
    assert.ok(String(fatal.msg).includes(server.apiUrl), String(fatal.msg));
    assert.ok(!child.stdout().includes(TOKEN), 'the rejected token is not logged either');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('METRICS_PORT already in use: exit 1 naming METRICS_PORT, before logging in to Discord', async () => {
  const dir = scratch();
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
  const port = (taken.address() as AddressInfo).port;
  try {
    // No Discord server at all: the start must fail on the port first.
    const child = run(
      {
        DISCORD_TOKEN: TOKEN,
        DISCORD_API_URL: 'http://127.0.0.1:9/api',
        MODEL_DIR: FIXTURE,
        DATA_DIR: join(dir, 'data'),
        REGISTER_COMMANDS: 'off',
        METRICS_PORT: String(port),
      },
      dir,
    );
    assert.equal(await child.exited, 1);
    const fatal = await child.line(/^METRICS_PORT: /);
    assert.match(String(fatal.msg), new RegExp(`expected to listen on 127\\.0\\.0\\.1:${port} .*got EADDRINUSE`));
  } finally {
    await new Promise((resolve) => taken.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an unreachable Redis: exit 1 naming REDIS_URL, without its password', async () => {
  const dir = scratch();
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve)); // a port nobody listens on
  try {
    const child = run(
      {
        DISCORD_TOKEN: TOKEN,
        REDIS_URL: `redis://:hunter2-secret@127.0.0.1:${port}/0`,
        MODEL_DIR: FIXTURE,
        DATA_DIR: join(dir, 'data'),
      },
      dir,
    );
    assert.equal(await child.exited, 1);
    const fatal = await child.line(/^REDIS_URL: /);
    assert.match(String(fatal.msg), /could not open the job store/);
    assert.ok(!child.stdout().includes('hunter2-secret') && !child.stderr().includes('hunter2-secret'), child.stdout());
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a normal run: registers commands, serves /healthz and /metrics, draws, and exits 0 on SIGTERM', async () => {
  const dir = scratch();
  const server = await startDiscordServer({ waitTimeoutMs: 30_000 });
  try {
    const child = run(
      {
        DISCORD_TOKEN: server.token,
        DISCORD_API_URL: server.apiUrl,
        MODEL_DIR: FIXTURE,
        DATA_DIR: join(dir, 'data'),
        REGISTER_COMMANDS: server.guildId,
        METRICS_PORT: '0',
        LOG_LEVEL: 'debug',
        ORT_INTRA_OP_THREADS: '1',
      },
      dir,
    );
    const listening = await child.line(/^metrics listening/);
    await child.line(/^ready$/);
    const url = String(listening.url);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200, await health.clone().text());
    assert.equal((await health.json()).status, 'ok');
    assert.ok(server.registeredCommands(server.guildId).some((c) => c.name === 'imagine'));

    const i = server.slash({
      user: server.users.alice,
      command: 'imagine',
      options: { prompt: 'a red apple', steps: 4 },
    });
    const final = await i.waitFor(isFinal);
    assert.match(final.content, /a red apple/);
    await child.line(/^job done$/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^emojiforge_jobs_finished_total\{outcome="done"\} 1$/m);
    assert.match(metrics, /^emojiforge_generation_seconds_count 1$/m);
    assert.match(metrics, /^emojiforge_step_seconds_count 4$/m);
    assert.match(metrics, /^emojiforge_queue_length 0$/m);

    child.kill('SIGTERM');
    assert.equal(await child.exited, 0, child.stderr());
    await child.line(/^stopped$/);
    assert.ok(!child.stdout().includes(server.token), 'the token never reaches the log');
    assert.ok(!child.stderr().includes(server.token));
    assert.deepEqual(server.violations, []);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('MODELS_DIR: the real bot offers MODEL_DIR and the folders there, logs a non-model by name, draws with the one named', async () => {
  const dir = scratch();
  const models = join(dir, 'models');
  mkdirSync(join(models, 'notes'), { recursive: true });
  cpSync(join(FIXTURE, '../sd2-tiny'), join(models, 'sd2-tiny'), { recursive: true });
  const server = await startDiscordServer({ waitTimeoutMs: 30_000 });
  try {
    const env = {
      DISCORD_TOKEN: server.token,
      DISCORD_API_URL: server.apiUrl,
      MODEL_DIR: FIXTURE,
      MODELS_DIR: models,
      MODEL_MEMORY_MB: '64',
      DATA_DIR: join(dir, 'data'),
      REGISTER_COMMANDS: server.guildId,
      ORT_INTRA_OP_THREADS: '1',
    };
    const child = run(env, dir);
    const skipped = await child.line(/^model folder skipped$/);
    assert.equal(skipped.model, 'notes');
    const offered = await child.line(/^models offered$/);
    assert.deepEqual(offered.models, ['tiny-fp32', 'sd2-tiny']);
    await child.line(/^ready$/);
    const final = await server
      .slash({
        user: server.users.alice,
        command: 'imagine',
        options: { prompt: 'a red apple', steps: 2, model: 'sd2-tiny' },
      })
      .waitFor(isFinal);
    assert.match(final.content, /128×128/);
    child.kill('SIGTERM');
    assert.equal(await child.exited, 0, child.stderr());
    assert.ok(![skipped, offered].some((l) => JSON.stringify(l).includes(dir)), 'models are named, not located');
    assert.deepEqual(server.violations, []);
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
