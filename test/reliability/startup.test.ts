// Start-up refusals through the real entry point (src/index.ts): an unwritable DATA_DIR or a broken
// MODEL_DIR stops the process with exit code 1 and a message naming the variable, before it logs in
// to Discord (the local server sees no IDENTIFY).
// (test/ops/process.test.ts covers a missing model file and EACCES; these are the other ways they break.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDiscordServer, type DiscordServer } from '../support/discord/index.ts';
import { MODELS, startBotProcess } from './helpers.ts';

let server: DiscordServer;
let dir: string;
before(async () => {
  server = await startDiscordServer({ ackWindowMs: 3000 });
  dir = mkdtempSync(join(tmpdir(), 'reliability-start-'));
  writeFileSync(join(dir, 'a-file'), 'not a directory');
  // A model folder whose U-Net is not ONNX at all, one with a truncated U-Net, one missing its index.
  for (const name of ['garbage', 'truncated', 'no-index'])
    cpSync(join(MODELS, 'tiny-fp32'), join(dir, name), { recursive: true });
  writeFileSync(join(dir, 'garbage/unet/model.onnx'), 'this is not a model');
  const unet = join(dir, 'truncated/unet/model.onnx');
  writeFileSync(unet, readFileSync(unet).subarray(0, 2000));
  rmSync(join(dir, 'no-index/model_index.json'));
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

interface Case {
  name: string;
  env: () => Record<string, string>;
  variable: 'DATA_DIR' | 'MODEL_DIR';
  message: RegExp;
}

const CASES: Case[] = [
  {
    name: 'DATA_DIR is a file',
    env: () => ({ DATA_DIR: join(dir, 'a-file') }),
    variable: 'DATA_DIR',
    message: /DATA_DIR: expected a directory this process \(uid \d+\) can create and write, got ".*a-file"/,
  },
  {
    name: 'DATA_DIR below a file',
    env: () => ({ DATA_DIR: join(dir, 'a-file', 'data') }),
    variable: 'DATA_DIR',
    message: /DATA_DIR: .*\(ENOTDIR\)/,
  },
  {
    name: 'DATA_DIR where nothing can be created',
    env: () => ({ DATA_DIR: '/proc/emojiforge-reliability/data' }),
    variable: 'DATA_DIR',
    message: /DATA_DIR: .*"\/proc\/emojiforge-reliability\/data" \(ENOENT\)/,
  },
  {
    name: 'MODEL_DIR does not exist',
    env: () => ({ MODEL_DIR: join(dir, 'no-such-model') }),
    variable: 'MODEL_DIR',
    message: /MODEL_DIR: .*no-such-model.*does not exist/,
  },
  {
    name: 'MODEL_DIR is a file',
    env: () => ({ MODEL_DIR: join(dir, 'a-file') }),
    variable: 'MODEL_DIR',
    message: /MODEL_DIR: .*a-file/,
  },
  {
    name: 'MODEL_DIR U-Net is not ONNX',
    env: () => ({ MODEL_DIR: join(dir, 'garbage') }),
    variable: 'MODEL_DIR',
    message: /MODEL_DIR: .*garbage\/unet\/model\.onnx: expected a loadable ONNX model/,
  },
  {
    name: 'MODEL_DIR U-Net is cut short',
    env: () => ({ MODEL_DIR: join(dir, 'truncated') }),
    variable: 'MODEL_DIR',
    message: /MODEL_DIR: .*truncated\/unet\/model\.onnx/,
  },
  {
    name: 'MODEL_DIR without model_index.json',
    env: () => ({ MODEL_DIR: join(dir, 'no-index') }),
    variable: 'MODEL_DIR',
    message: /MODEL_DIR: .*no-index.*model_index\.json/,
  },
];

for (const c of CASES) {
  test(`refused at start: ${c.name}`, async () => {
    const identifies = server.gateway.identifies;
    const dataDir = join(dir, `data-${c.name.replace(/\W+/g, '-')}`);
    const proc = startBotProcess({ DATA_DIR: dataDir, MODEL_DIR: join(MODELS, 'tiny-fp32'), ...c.env() }, server);
    const { code } = await proc.exited;
    const output = `${proc.stderr}\n${proc.lines.map((l) => String(l.msg ?? '')).join('\n')}`;
    assert.equal(code, 1, `exit code; output:\n${output}`);
    assert.match(output, c.message);
    if (c.variable === 'MODEL_DIR') {
      const fatal = proc.lines.find((l) => l.level === 60);
      assert.equal(fatal?.variable, 'MODEL_DIR', 'a fatal log line naming the variable');
    }
    assert.equal(server.gateway.identifies, identifies, 'it never logged in to Discord');
    assert.ok(!output.includes(server.token), 'the token is not printed');
  });
}
