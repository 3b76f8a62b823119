// deploy/docker-compose.scale.yml cannot run here (no Docker); check what can be: yamllint accepts it,
// it has one bot, Redis and two workers on different GPUs, and each service's environment is a valid
// configuration for its role.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PROJECT_ROOT, parseConfig } from '../../src/app/config.ts';

const FILE = join(PROJECT_ROOT, 'deploy/docker-compose.scale.yml');
const has = (cmd: string, args: string[]) => spawnSync(cmd, args).status === 0;

test('yamllint accepts docker-compose.scale.yml', (t) => {
  if (!has('yamllint', ['--version'])) return t.skip('yamllint is not installed (apt-get install yamllint)');
  const r = spawnSync(
    'yamllint',
    ['-d', '{extends: default, rules: {line-length: {max: 120}, document-start: disable}}', FILE],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stdout + r.stderr);
});

test('one bot, Redis and two workers on their own GPUs, each with a valid configuration for its role', (t) => {
  if (!has('/usr/bin/python3', ['-c', 'import yaml'])) return t.skip('python3-yaml is not installed');
  // PyYAML resolves the x-worker anchor and merge keys as compose does.
  const r = spawnSync(
    '/usr/bin/python3',
    ['-c', 'import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', FILE],
    { encoding: 'utf8' },
  );
  assert.equal(r.status, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as {
    services: Record<string, { environment?: Record<string, string>; deploy?: any; depends_on?: object }>;
  };
  const names = Object.keys(doc.services).sort();
  assert.deepEqual(names, ['bot', 'redis', 'worker-1', 'worker-2']);
  const env = (name: string) => doc.services[name].environment ?? {};
  assert.equal(env('bot').ROLE, 'bot');
  const gpus = new Set<string>();
  for (const w of ['worker-1', 'worker-2']) {
    assert.equal(env(w).ROLE, 'worker');
    assert.equal(env(w).DISCORD_TOKEN, undefined, `${w} must not get the bot token`);
    assert.ok(doc.services[w].depends_on && 'redis' in doc.services[w].depends_on);
    for (const d of doc.services[w].deploy.resources.reservations.devices) for (const id of d.device_ids) gpus.add(id);
    // Compose substitutes ${VAR:-default}; the defaults are what a plain `up` gets.
    const resolved = Object.fromEntries(
      Object.entries(env(w)).map(([k, v]) => [k, String(v).replace(/\$\{\w+:-([^}]*)\}/g, '$1')]),
    );
    const config = parseConfig(resolved, { cwd: '/app' });
    assert.equal(config.queueBackend, 'bullmq');
    assert.equal(config.redisUrl, 'redis://redis:6379/0');
  }
  assert.equal(gpus.size, 2, 'the two workers use different GPUs');
  const bot = parseConfig({ ...env('bot'), DISCORD_TOKEN: 'x.y.z' }, { cwd: '/app' });
  assert.equal(bot.role, 'bot');
  assert.equal(bot.queueBackend, 'bullmq');
});
