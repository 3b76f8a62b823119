// kill -9 of the whole bot + worker process (the real entry point, src/index.ts) while a job is running,
// then a fresh process on the same DATA_DIR: no job lost, none finished twice, and every interaction
// gets exactly one final message. The model is test/fixtures/models/tiny-slow (the tiny fixture plus
// about 0.1 s of dead work per step), so a 50-step job runs ~5 s and is still running when the kill lands.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { registerBotCommands } from '../../src/app/register-commands.ts';
import { startDiscordServer, type DiscordServer, type InteractionHandle } from '../support/discord/index.ts';
import { GuildSettingsStore, JobQueue, openStore } from '../../src/queue/index.ts';
import { isFinal, sleep } from '../e2e/harness.ts';
import { MODELS, startBotProcess, type BotProcess } from './helpers.ts';

let server: DiscordServer | undefined;
const processes: BotProcess[] = [];
const dataDir = mkdtempSync(join(tmpdir(), 'reliability-crash-'));
after(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  await server?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function metric(url: string, pattern: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = pattern.exec(text);
  return match ? Number(match[1]) : NaN;
}

function start(): BotProcess {
  const p = startBotProcess({ DATA_DIR: dataDir, MODEL_DIR: join(MODELS, 'tiny-slow'), METRICS_PORT: '0' }, server);
  processes.push(p);
  return p;
}

const doneIds = (p: BotProcess) => p.lines.filter((l) => l.msg === 'job done').map((l) => String(l.jobId));
const finals = (i: InteractionHandle) => i.edits.filter((w) => w.message.id === i.originalId && isFinal(w.message));

test('kill -9 mid-job, restart on the same DATA_DIR: one final each, no job lost, none run twice', {
  timeout: 120_000,
}, async () => {
  server = await startDiscordServer({ waitTimeoutMs: 60_000 });
  await registerBotCommands({ token: server.token, apiUrl: server.apiUrl, guildId: server.guildId });

  const first = start();
  const { url } = (await first.waitForLog((l) => l.msg === 'metrics listening: /healthz and /metrics')) as {
    url: string;
  };
  await first.waitForLog((l) => l.msg === 'ready');
  // One job finishes and is delivered before the crash: it must neither run nor be delivered again.
  const early = server.slash({
    user: server.users.owner,
    command: 'imagine',
    options: { prompt: 'an early job', steps: 3 },
  });
  await early.waitFor(isFinal, 30_000);
  const long = server.slash({
    user: server.users.alice,
    command: 'imagine',
    options: { prompt: 'a long slow job', steps: 50 },
  });
  await long.acknowledged();
  const queuedA = server.slash({
    user: server.users.bob,
    command: 'imagine',
    options: { prompt: 'a queued job', steps: 5 },
  });
  const queuedB = server.slash({
    user: server.users.moderator,
    command: 'imagine',
    options: { prompt: 'another queued job', steps: 5 },
  });
  await Promise.all([queuedA.acknowledged(), queuedB.acknowledged()]);

  // Wait until the long job is running and a few steps in, then kill the process outright.
  const running = /emojiforge_jobs\{state="running"\} (\d+)/;
  const deadline = Date.now() + 30_000;
  while ((await metric(url, running)) !== 1) {
    assert.ok(Date.now() < deadline, 'the long job never started');
    await sleep(20);
  }
  await sleep(300);
  first.child.kill('SIGKILL');
  const killed = await first.exited;
  assert.equal(killed.signal, 'SIGKILL');
  const doneBeforeKill = first.lines.filter((l) => l.msg === 'job done');
  assert.equal(
    doneBeforeKill.length,
    1,
    `the kill landed while the long job was still running (only the early job had finished): ${JSON.stringify(doneBeforeKill)}`,
  );
  const earlyId = doneIds(first)[0];
  assert.equal(finals(long).length + finals(queuedA).length + finals(queuedB).length, 0);

  const second = start();
  await second.waitForLog((l) => l.msg === 'queue open');
  const recovered = second.lines.find((l) => l.msg === 'queue open') as { queued: number };
  assert.equal(recovered.queued, 3, 'all three jobs came back from the store');
  const results = await Promise.all([long, queuedA, queuedB].map((i) => i.waitFor(isFinal, 60_000)));
  assert.match(results[0].content, /a long slow job/);
  assert.match(results[1].content, /a queued job/);
  assert.match(results[2].content, /another queued job/);
  await sleep(500);
  for (const i of [early, long, queuedA, queuedB]) assert.equal(finals(i).length, 1, `${i.label}: exactly one final`);
  assert.equal(
    server.channelMessages().filter((m) => m.kind === 'channel').length,
    0,
    'each final went to its own message',
  );

  const done = doneIds(second);
  assert.equal(done.length, 3, `three jobs done after the restart: ${done.join(', ')}`);
  assert.equal(new Set(done).size, 3, 'none finished twice');
  assert.ok(!done.includes(earlyId), 'the job finished before the crash did not run again');

  // A clean stop, then the store agrees: three jobs done, nothing owed, nothing waiting.
  second.child.kill('SIGTERM');
  assert.equal((await second.exited).code, 0);
  const store = await openStore({ dataDir });
  try {
    const queue = await JobQueue.open({ store, settings: new GuildSettingsStore(store), pruneIntervalMs: 0 });
    assert.deepEqual({ ...queue.stats().byState }, { queued: 0, running: 0, done: 4, failed: 0, cancelled: 0 });
    assert.deepEqual(await queue.pendingDeliveries(), [], 'every final is recorded as delivered');
    await queue.close();
  } finally {
    await store.close();
  }
  assert.deepEqual(server.takeViolations(), []);
});
