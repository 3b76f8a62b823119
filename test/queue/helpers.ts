// Shared by the queue tests: both store backends (a real SQLite file, a real redis-server started
// here), a small fast ImageGenerator, and request/owner builders.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GenerateOptions, GenerateRequest, GenerateResult, ImageGenerator } from '../../src/engine/types.ts';
import type { JobOwner } from '../../src/queue/types.ts';
import { openStore, type Store } from '../../src/queue/store.ts';

export const HAVE_REDIS = spawnSync('redis-server', ['--version']).status === 0;
export const NO_REDIS_REASON = 'redis-server is not installed (apt-get install redis-server; .ci/run installs it)';

/** Every folder tempDir made in this test process; removed when it exits, so a run leaves nothing behind. */
const madeDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of madeDirs) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(prefix = 'queue-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  madeDirs.add(dir);
  return dir;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

/** A throwaway redis-server on a free loopback port, no persistence. */
export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  await new Promise<void>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`redis-server did not start on port ${port}: ${out}`)), 10_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${out}`));
    });
  });
  child.stdout!.resume();
  return {
    url: `redis://127.0.0.1:${port}`,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve(); // already gone, killed or not
        child.once('exit', () => resolve());
        child.kill('SIGKILL');
      }),
  };
}

/** One backend under test: `open()` gives a fresh, empty store each time it is called with a new name. */
export interface Backend {
  name: 'sqlite' | 'redis';
  /** Same `name` -> same data (a reopen after a "restart"); a new name -> an empty store. */
  open(name: string): Promise<Store>;
  /** Options for openStore in a child process. */
  options(name: string): { dataDir: string; redisUrl?: string; namespace?: string };
  cleanup(): Promise<void>;
}

export async function sqliteBackend(): Promise<Backend> {
  const root = tempDir('queue-sqlite-');
  const options = (name: string) => ({ dataDir: join(root, name) });
  return {
    name: 'sqlite',
    options,
    open: (name) => openStore(options(name)),
    cleanup: async () => rmSync(root, { recursive: true, force: true }),
  };
}

export async function redisBackend(): Promise<Backend> {
  const redis = await startRedis();
  const root = tempDir('queue-redis-');
  // Each test gets its own namespace in the one server.
  const options = (name: string) => ({ dataDir: root, redisUrl: redis.url, namespace: `t-${name}` });
  return {
    name: 'redis',
    options,
    open: (name) => openStore(options(name)),
    cleanup: async () => {
      await redis.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** [name, factory] for each available backend; Redis is listed with a skip reason when absent. */
export const BACKENDS: Array<{ name: 'sqlite' | 'redis'; make: () => Promise<Backend>; skip?: string }> = [
  { name: 'sqlite', make: sqliteBackend },
  { name: 'redis', make: redisBackend, ...(HAVE_REDIS ? {} : { skip: NO_REDIS_REASON }) },
];

export function owner(userId: string, guildId = '100', channelId = '200'): JobOwner {
  return { userId, guildId, channelId };
}

export function request(overrides: Partial<GenerateRequest> = {}): GenerateRequest {
  return {
    prompt: 'a happy cat',
    seed: 42,
    steps: 4,
    guidance: 7,
    width: 16,
    height: 16,
    sampler: 'euler',
    count: 1,
    ...overrides,
  };
}

/**
 * A real-but-fast engine for queue tests: sleeps `stepMs` per step, honours the abort signal between
 * steps, returns solid-colour images, fails when the prompt contains "explode", and records every call.
 */
export class FakeGenerator implements ImageGenerator {
  readonly modelName = 'fake-solid';
  readonly calls: Array<{ prompt: string; aborted: boolean; finished: boolean }> = [];
  active = 0;
  maxActive = 0;

  constructor(public stepMs = 3) {}

  async generate(req: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResult> {
    const call = { prompt: req.prompt, aborted: false, finished: false };
    this.calls.push(call);
    this.active++;
    this.maxActive = Math.max(this.maxActive, this.active);
    const started = performance.now();
    try {
      for (let step = 1; step <= req.steps; step++) {
        await sleep(this.stepMs);
        if (options.signal?.aborted) {
          call.aborted = true;
          throw options.signal.reason;
        }
        if (req.prompt.includes('explode') && step === 2) throw new Error('boom: the fake engine exploded');
        options.onStep?.({ step, total: req.steps });
      }
      const images = Array.from({ length: req.count }, (_, i) => solid(req.width, req.height, (req.seed + i) % 256));
      call.finished = true;
      return {
        images,
        seeds: images.map((_, i) => req.seed + i),
        model: this.modelName,
        timings: { totalMs: performance.now() - started, sessionRunMs: 0 },
      };
    } finally {
      this.active--;
    }
  }

  get prompts(): string[] {
    return this.calls.map((c) => c.prompt);
  }
}

function solid(width: number, height: number, value: number) {
  return { width, height, data: new Uint8Array(width * height * 3).fill(value) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with the listener's argument the first time `pred` holds. */
export function waitFor<T>(
  subscribe: (cb: (v: T) => void) => () => void,
  pred: (v: T) => boolean = () => true,
  timeoutMs = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for an event`));
    }, timeoutMs);
    const off = subscribe((v) => {
      if (!pred(v)) return;
      clearTimeout(timer);
      off();
      resolve(v);
    });
  });
}

/** A clock the test moves by hand. */
export function manualClock(start = Date.UTC(2026, 10, 27, 10, 0, 0)) {
  let now = start;
  return {
    now: () => now,
    advance: (ms: number) => {
      now += ms;
    },
    set: (t: number) => {
      now = t;
    },
  };
}
