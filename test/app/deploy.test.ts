// The deploy/ files cannot be run here (no Docker engine, no systemd as PID 1), so check what can be
// checked: the documented variables match the parser, the example parses, the Dockerfiles copy what
// exists, and the linters Debian offers accept the compose file and the unit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'dotenv';
import { PROJECT_ROOT, parseConfig } from '../../src/app/config.ts';
import { VARIABLES } from '../../src/app/variables.ts';

const read = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
const has = (command: string) => spawnSync('sh', ['-c', `command -v ${command}`]).status === 0;

test('deploy/.env.example documents every variable, once, and parses as a valid configuration', () => {
  const text = read('deploy/.env.example');
  const assigned = [...text.matchAll(/^([A-Z_]+)=/gm)].map((m) => m[1]);
  assert.deepEqual([...assigned].sort(), VARIABLES.map((v) => v.name).sort());
  const env = parse(text);
  const config = parseConfig({ ...env, DISCORD_TOKEN: 'x'.repeat(59) }, { cwd: '/srv' });
  assert.equal(config.dataDir, '/srv/data');
  assert.deepEqual(config.registerCommands, { mode: 'global' });
});

test('the README table lists every variable with its default', () => {
  const readme = read('README.md');
  for (const variable of VARIABLES) {
    const row = readme.split('\n').find((line) => line.startsWith(`| \`${variable.name}\``));
    assert.ok(row, `README.md has no table row for ${variable.name}`);
    assert.ok(
      row.includes(variable.default),
      `README row for ${variable.name} should show its default ${variable.default}: ${row}`,
    );
  }
});

test('the Dockerfiles copy only paths that exist and run the bot with node directly', () => {
  for (const file of ['deploy/Dockerfile', 'deploy/Dockerfile.cuda']) {
    const text = read(file);
    for (const [, sources] of text.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const source of sources.split(/\s+/)) {
        assert.ok(existsSync(join(PROJECT_ROOT, source)), `${file} copies ${source}, which does not exist`);
      }
    }
    assert.match(text, /^USER (?!root)\S+$/m, `${file} must drop root`);
    assert.match(text, /^CMD \["node", "--import", "tsx", "src\/index.ts"\]$/m);
    assert.ok(existsSync(join(PROJECT_ROOT, `${file}.dockerignore`)), `${file}.dockerignore is missing`);
  }
  assert.match(read('deploy/Dockerfile.cuda'), /^ENV npm_config_onnxruntime_node_install=cuda12$/m);
  assert.match(read('deploy/Dockerfile.cuda'), /^FROM nvidia\/cuda:12\.[\d.]+-cudnn-runtime-/m);
  assert.equal(read('package.json').includes('"start": "tsx src/index.ts"'), true);
});

test('yamllint accepts every compose file', (t) => {
  if (!has('yamllint')) return t.skip('yamllint is not installed (apt-get install yamllint)');
  const files = readdirSync(join(PROJECT_ROOT, 'deploy'))
    .filter((f) => /^docker-compose.*\.ya?ml$/.test(f))
    .map((f) => `deploy/${f}`);
  assert.ok(files.includes('deploy/docker-compose.yml'), files.join(', '));
  const result = spawnSync(
    'yamllint',
    ['-d', '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}', ...files],
    { cwd: PROJECT_ROOT, encoding: 'utf8' },
  );
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test('systemd-analyze verifies the unit', (t) => {
  if (!has('systemd-analyze')) return t.skip('systemd-analyze is not installed');
  // verify checks ExecStart's binary exists; point it at this node so the check does not depend on /usr/bin/node.
  const dir = mkdtempSync(join(tmpdir(), 'ef-unit-'));
  try {
    const unit = read('deploy/emojiforge.service').replace('ExecStart=/usr/bin/node', `ExecStart=${process.execPath}`);
    writeFileSync(join(dir, 'emojiforge.service'), unit);
    const result = spawnSync('systemd-analyze', ['verify', join(dir, 'emojiforge.service')], { encoding: 'utf8' });
    const complaints = (result.stdout + result.stderr)
      .split('\n')
      .filter((line) => line.includes('emojiforge.service'));
    assert.deepEqual(complaints, [], complaints.join('\n'));
    assert.equal(result.status, 0, result.stderr);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
