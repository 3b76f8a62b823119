// Crash recovery: a child process dies (SIGKILL) in the middle of a job; reopening the same store
// runs that job first, exactly once to completion, and a finished job never runs again.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { BACKENDS, FakeGenerator, tempDir, waitFor, type Backend } from './helpers.ts';
import { openStore } from '../../src/queue/store.ts';
import { GuildSettingsStore } from '../../src/queue/settings.ts';
import { JobQueue } from '../../src/queue/queue.ts';
import { Worker } from '../../src/queue/worker.ts';
import type { GenerateOptions, GenerateRequest } from '../../src/engine/types.ts';
import type { JobRecord } from '../../src/queue/types.ts';

const FIXTURE = join(import.meta.dirname, 'fixtures', 'crash-child.ts');

/** The FakeGenerator, logging each call to the same runs file as the child. */
class LoggingGenerator extends FakeGenerator {
  constructor(private readonly runsFile: string) {
    super(2);
  }
  override async generate(req: GenerateRequest, options?: GenerateOptions) {
    appendFileSync(this.runsFile, `start ${req.prompt} parent\n`);
    const result = await super.generate(req, options);
    appendFileSync(this.runsFile, `finish ${req.prompt} parent\n`);
    return result;
  }
}

for (const { name, make, skip } of BACKENDS) {
  describe(`restart recovery on ${name}`, { skip }, () => {
    let backend: Backend;
    before(async () => {
      backend = await make();
    });
    after(async () => {
      await backend?.cleanup();
    });

    test('kill -9 mid-job, reopen: the job runs first and completes exactly once', async () => {
      const dir = tempDir('queue-crash-');
      const runsFile = join(dir, 'runs.log');
      writeFileSync(runsFile, '');
      const storeOptions = backend.options('crash');
      const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
        env: {
          ...process.env,
          CRASH_CHILD: JSON.stringify({ storeOptions, runsFile, resultsDir: join(dir, 'results') }),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) =>
        child.once('exit', (_code, signal) => resolve(signal)),
      );
      let ids: string[] = [];
      let storedState: string | undefined;
      for await (const line of createInterface({ input: child.stdout! })) {
        const msg = JSON.parse(line);
        if (msg.ids) ids = msg.ids;
        if (msg.midJob) {
          storedState = msg.storedState;
          child.kill('SIGKILL');
          break;
        }
      }
      assert.equal(await exited, 'SIGKILL');
      assert.equal(storedState, 'running', 'the child had stored the job as running before it died');
      const [a1, a2, b1] = ids;
      assert.equal(readFileSync(runsFile, 'utf8'), 'start A1 child\n');

      // Reopen like a restarted bot.
      let store = await openStore(storeOptions);
      let settings = new GuildSettingsStore(store);
      let queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
      assert.equal((await queue.get(a1))?.state, 'queued');
      assert.deepEqual(
        [a1, b1, a2].map((id) => queue.position(id)?.position),
        [1, 2, 3],
        'the interrupted job is first',
      );
      const engine = new LoggingGenerator(runsFile);
      const worker = new Worker(queue, engine, { resultsDir: join(dir, 'results') });
      // The run order is the fair order. 'done' events may come in another order: saving a result overlaps
      // the next job's engine call, so under load a fast later job can be stored first.
      const started: string[] = [];
      const done: string[] = [];
      queue.on('started', (j) => started.push(j.id));
      queue.on('done', (j) => done.push(j.id));
      const idle = waitFor<JobRecord>(
        (cb) => queue.on('done', cb),
        () => done.length === 3,
      );
      worker.start();
      await idle;
      await worker.stop();
      assert.deepEqual(started, [a1, b1, a2]);
      assert.deepEqual([...done].sort(), [a1, b1, a2].sort());
      assert.deepEqual(
        readFileSync(runsFile, 'utf8')
          .split('\n')
          .filter((l) => l.startsWith('start'))
          .slice(1),
        ['start A1 parent', 'start B1 parent', 'start A2 parent'],
      );
      await queue.close();
      await store.close();

      // And once more: nothing is left to run, nothing runs twice.
      store = await openStore(storeOptions);
      settings = new GuildSettingsStore(store);
      queue = await JobQueue.open({ store, settings, pruneIntervalMs: 0 });
      assert.deepEqual(queue.stats().byState, { queued: 0, running: 0, done: 3, failed: 0, cancelled: 0 });
      const again = new Worker(queue, engine, { resultsDir: join(dir, 'results') });
      again.start();
      await new Promise((r) => setTimeout(r, 100));
      await again.stop();
      await queue.close();
      await store.close();

      const runs = readFileSync(runsFile, 'utf8').trim().split('\n');
      assert.deepEqual(runs, [
        'start A1 child',
        'start A1 parent',
        'finish A1 parent',
        'start B1 parent',
        'finish B1 parent',
        'start A2 parent',
        'finish A2 parent',
      ]);
      assert.equal(runs.filter((l) => l.startsWith('finish A1')).length, 1, 'A1 completed exactly once');
    });
  });
}
