import { pathToFileURL } from 'node:url';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { spawnSync } from 'node:child_process';
import { ConfigError, PROJECT_ROOT, describeConfig, parseConfig, prepareDataDir } from '../../src/app/config.ts';
import { VARIABLES } from '../../src/app/variables.ts';

const TOKEN = 'MTIzNDU2Nzg5MDEyMzQ1Njc4.Gabcde.fake-token-for-tests_0123456789';

function problemsOf(env: Record<string, string>): readonly string[] {
  try {
    parseConfig({ DISCORD_TOKEN: TOKEN, ...env }, { cwd: '/srv/bot' });
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error.problems;
  }
  assert.fail('expected a ConfigError');
}

test('defaults give a working configuration', () => {
  const config = parseConfig({ DISCORD_TOKEN: TOKEN }, { cwd: '/srv/bot' });
  assert.equal(config.discordToken, TOKEN);
  assert.equal(config.discordApiUrl, 'https://discord.com/api');
  assert.equal(config.dataDir, '/srv/bot/data');
  assert.equal(config.modelDir, join(PROJECT_ROOT, 'models', 'emoji-tiny'));
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.executionProvider, 'cpu');
  assert.equal(config.intraOpThreads, undefined);
  assert.equal(config.logLevel, 'info');
  assert.equal(config.metricsPort, undefined);
  assert.equal(config.jobTimeoutSeconds, 300);
  assert.equal(config.jobRetentionDays, 7);
  assert.equal(config.maxQueuedJobs, 100);
  assert.deepEqual(config.registerCommands, { mode: 'global' });
  assert.ok(Object.isFrozen(config));
  assert.throws(() => {
    (config as { logLevel: string }).logLevel = 'debug';
  }, TypeError);
});

test('every variable is read', () => {
  const config = parseConfig(
    {
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_URL: 'http://127.0.0.1:9999/api/',
      DATA_DIR: 'var/data',
      MODEL_DIR: '/models/sd15',
      REDIS_URL: 'redis://:secret@localhost:6379/2',
      EXECUTION_PROVIDER: 'CUDA',
      ORT_INTRA_OP_THREADS: '4',
      ORT_INTER_OP_THREADS: '1',
      LOG_LEVEL: 'debug',
      METRICS_PORT: '9464',
      METRICS_HOST: '0.0.0.0',
      JOB_TIMEOUT_SECONDS: '90',
      JOB_RETENTION_DAYS: '0.5',
      MAX_QUEUED_JOBS: '12',
      SHUTDOWN_GRACE_SECONDS: '20',
      REGISTER_COMMANDS: '123456789012345678',
    },
    { cwd: '/srv/bot' },
  );
  assert.equal(config.discordApiUrl, 'http://127.0.0.1:9999/api');
  assert.equal(config.dataDir, '/srv/bot/var/data');
  assert.equal(config.modelDir, '/models/sd15');
  assert.equal(config.redisUrl, 'redis://:secret@localhost:6379/2');
  assert.equal(config.executionProvider, 'cuda');
  assert.equal(config.intraOpThreads, 4);
  assert.equal(config.interOpThreads, 1);
  assert.equal(config.logLevel, 'debug');
  assert.equal(config.metricsPort, 9464);
  assert.equal(config.metricsHost, '0.0.0.0');
  assert.equal(config.jobTimeoutSeconds, 90);
  assert.equal(config.jobRetentionDays, 0.5);
  assert.equal(config.maxQueuedJobs, 12);
  assert.equal(config.shutdownGraceSeconds, 20);
  assert.deepEqual(config.registerCommands, { mode: 'guild', guildId: '123456789012345678' });
  assert.deepEqual(parseConfig({ DISCORD_TOKEN: TOKEN, REGISTER_COMMANDS: 'off' }).registerCommands, { mode: 'off' });
});

test('empty values mean "use the default"', () => {
  const config = parseConfig({ DISCORD_TOKEN: TOKEN, REDIS_URL: '', METRICS_PORT: ' ', LOG_LEVEL: '' });
  assert.equal(config.redisUrl, undefined);
  assert.equal(config.metricsPort, undefined);
  assert.equal(config.logLevel, 'info');
});

// One row per check: the variable, a bad value, and words the message must contain.
const BAD: Array<[string, string, string]> = [
  ['DISCORD_API_URL', 'discord.com/api', 'expected a URL starting with http:// or https://, got "discord.com/api"'],
  ['DISCORD_API_URL', 'ftp://example.com', 'expected a URL starting with http:// or https://'],
  ['REDIS_URL', 'localhost:6379', 'expected a URL starting with redis:// or rediss://'],
  ['EXECUTION_PROVIDER', 'gpu', 'expected one of cpu, cuda, got "gpu"'],
  ['ORT_INTRA_OP_THREADS', '0', 'expected a whole number from 1 to 1024, got "0"'],
  ['ORT_INTER_OP_THREADS', 'two', 'expected a whole number from 1 to 1024, got "two"'],
  ['LOG_LEVEL', 'verbose', 'expected one of fatal, error, warn, info, debug, trace, silent, got "verbose"'],
  ['METRICS_PORT', '70000', 'expected a whole number from 0 to 65535, got "70000"'],
  ['METRICS_PORT', '-1', 'expected a whole number from 0 to 65535, got "-1"'],
  ['JOB_TIMEOUT_SECONDS', '0', 'expected a number greater than 0, got "0"'],
  ['JOB_TIMEOUT_SECONDS', '5m', 'expected a number greater than 0, got "5m"'],
  ['JOB_RETENTION_DAYS', '-3', 'expected a number greater than 0, got "-3"'],
  ['MAX_QUEUED_JOBS', '0', 'expected a whole number from 1 to 1000000, got "0"'],
  ['MAX_QUEUED_JOBS', '1.5', 'expected a whole number from 1 to 1000000, got "1.5"'],
  ['SHUTDOWN_GRACE_SECONDS', 'soon', 'expected a number greater than 0, got "soon"'],
  ['REGISTER_COMMANDS', 'my-server', 'expected global, off, or a guild id (17 to 20 digits), got "my-server"'],
  ['DATA_DIR', 'a\0b', 'expected a file system path'],
  ['MODEL_DIR', 'a\0b', 'expected a file system path'],
];

for (const [name, value, words] of BAD) {
  test(`${name}=${JSON.stringify(value)} is refused with a message naming it`, () => {
    const problems = problemsOf({ [name]: value });
    assert.equal(problems.length, 1, problems.join('\n'));
    assert.ok(problems[0].startsWith(`${name}: `), problems[0]);
    assert.ok(problems[0].includes(words), `${problems[0]}\n  should contain: ${words}`);
  });
}

test('a missing token is a clear error unless the caller does not need it', () => {
  const problems = (() => {
    try {
      parseConfig({});
    } catch (error) {
      assert.ok(error instanceof ConfigError);
      return error.problems;
    }
    assert.fail('expected a ConfigError');
  })();
  assert.equal(problems.length, 1);
  assert.match(problems[0], /^DISCORD_TOKEN: expected the bot token .* got nothing$/);
  assert.equal(parseConfig({}, { requireToken: false }).discordToken, undefined);
});

test('a token pasted with its "Bot " prefix is refused without echoing it', () => {
  const problems = problemsOf({ DISCORD_TOKEN: `Bot ${TOKEN}` });
  assert.match(problems[0], /^DISCORD_TOKEN: expected a token without spaces/);
  assert.ok(!problems[0].includes(TOKEN));
});

test('all problems are reported together', () => {
  try {
    parseConfig({ LOG_LEVEL: 'loud', METRICS_PORT: 'x', EXECUTION_PROVIDER: 'tpu' });
    assert.fail('expected a ConfigError');
  } catch (error) {
    assert.ok(error instanceof ConfigError);
    assert.deepEqual(
      error.problems.map((p) => p.split(':')[0]),
      ['DISCORD_TOKEN', 'EXECUTION_PROVIDER', 'LOG_LEVEL', 'METRICS_PORT'],
    );
    for (const problem of error.problems) assert.ok(error.message.includes(problem));
  }
});

test('a Redis password never appears in an error', () => {
  const problems = problemsOf({ REDIS_URL: 'http://user:hunter2@redis:6379' });
  assert.ok(problems[0].includes('http://user:***@redis:6379'), problems[0]);
  assert.ok(!problems[0].includes('hunter2'));
});

test('the token stays out of JSON, inspect and the start-up description', () => {
  const config = parseConfig({ DISCORD_TOKEN: TOKEN, REDIS_URL: 'redis://:pw@r:6379' });
  assert.ok(!JSON.stringify(config).includes(TOKEN));
  assert.ok(!inspect(config, { showHidden: false }).includes(TOKEN));
  const described = describeConfig(config);
  assert.equal(described.discordTokenSet, true);
  assert.equal('discordToken' in described, false);
  assert.equal(described.redisUrl, 'redis://:***@r:6379');
  assert.ok(!JSON.stringify(described).includes(TOKEN));
});

test('VARIABLES documents every variable the parser reads', async () => {
  const { readFile } = await import('node:fs/promises');
  const source = await readFile(join(PROJECT_ROOT, 'src', 'app', 'config.ts'), 'utf8');
  const read = new Set([...source.matchAll(/\b(?:get|int|positive|oneOf|url|path)\('([A-Z_]+)'/g)].map((m) => m[1]));
  assert.deepEqual([...read].sort(), VARIABLES.map((v) => v.name).sort());
});

test('prepareDataDir creates a missing directory and proves it writable', () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-config-'));
  try {
    const dir = join(root, 'a', 'b');
    prepareDataDir(dir);
    assert.ok(existsSync(dir));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('prepareDataDir refuses a file and an unwritable directory, naming DATA_DIR', async () => {
  const root = mkdtempSync(join(tmpdir(), 'ef-config-'));
  try {
    const file = join(root, 'file');
    writeFileSync(file, '');
    assert.throws(
      () => prepareDataDir(file),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(
          error.problems[0],
          /^DATA_DIR: expected a directory this process .* can create and write, got ".*file" \(/,
        );
        return true;
      },
    );
    assert.throws(() => prepareDataDir(join(file, 'sub')), /^ConfigError|DATA_DIR: .*\(ENOTDIR\)/);
    const locked = join(root, 'locked');
    prepareDataDir(locked);
    chmodSync(root, 0o755);
    chmodSync(locked, 0o555);
    // A parent that refuses new entries (Node's recursive mkdirSync hangs on this one).
    assert.throws(() => prepareDataDir('/proc/emojiforge-test/data'), /^ConfigError|DATA_DIR: .*\(ENOENT\)/);
    if (process.getuid?.() === 0) {
      // Permission bits do not stop root, so run the check as the unprivileged user "nobody". Nobody may not
      // be able to enter the checkout (a root user's home, a mktemp -d folder): bundle the module into the
      // test's own world-readable folder and run that with plain node.
      const { buildSync } = await import('esbuild');
      const bundle = join(root, 'config.cjs');
      const entry = join(PROJECT_ROOT, 'src', 'app', 'config.ts');
      buildSync({
        entryPoints: [entry],
        bundle: true,
        platform: 'node',
        format: 'cjs',
        outfile: bundle,
        logLevel: 'silent',
        define: { 'import.meta.url': JSON.stringify(pathToFileURL(entry).href) },
      });
      chmodSync(bundle, 0o644);
      const script = `const m = require(${JSON.stringify(bundle)});
        try { m.prepareDataDir(${JSON.stringify(locked)}); console.log('accepted'); } catch (e) { console.log(e.message); }`;
      const child = spawnSync(process.execPath, ['-e', script], {
        cwd: root,
        uid: 65534,
        gid: 65534,
        encoding: 'utf8',
      });
      assert.match(
        child.stdout,
        /DATA_DIR: expected a directory this process \(uid 65534\) can create and write, got ".*locked" \(EACCES\)/,
        child.stderr,
      );
      return;
    }
    assert.throws(
      () => prepareDataDir(locked),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.problems[0], /^DATA_DIR: .*\(EACCES\)$/);
        return true;
      },
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
