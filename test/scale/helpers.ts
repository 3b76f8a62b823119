// Shared by the scale tests and bench/scale.ts: GPU worker child processes (test/scale/fixtures/
// worker-proc.ts) on a real redis-server, each one's events read from its stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

export const WORKER_SCRIPT = join(import.meta.dirname, 'fixtures/worker-proc.ts');

export interface WorkerEvent {
  type: 'ready' | 'start' | 'done' | 'failed';
  worker: string;
  jobId?: string;
  error?: string;
  engineMs?: number;
  encodeMs?: number;
  storeMs?: number;
  at?: number;
}

export interface WorkerProcess {
  name: string;
  child: ChildProcess;
  events: WorkerEvent[];
  /** Resolves with the first event (already seen or future) that matches. */
  waitFor(pred: (e: WorkerEvent) => boolean, timeoutMs?: number): Promise<WorkerEvent>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerProcessOptions {
  redisUrl: string;
  name: string;
  queueName: string;
  prefix?: string;
  engine?: 'fake' | 'tiny';
  stepMs?: number;
  lockMs?: number;
  stalledMs?: number;
  previewMs?: number;
  requeueOnTerm?: boolean;
}

export async function startWorkerProcess(o: WorkerProcessOptions): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      REDIS_URL: o.redisUrl,
      WORKER_NAME: o.name,
      QUEUE_NAME: o.queueName,
      ...(o.prefix ? { QUEUE_PREFIX: o.prefix } : {}),
      ENGINE: o.engine ?? 'fake',
      STEP_MS: String(o.stepMs ?? 20),
      LOCK_MS: String(o.lockMs ?? 30_000),
      STALLED_MS: String(o.stalledMs ?? 30_000),
      PREVIEW_MS: String(o.previewMs ?? 0),
      REQUEUE_ON_TERM: o.requeueOnTerm ? '1' : '0',
    },
  });
  const events: WorkerEvent[] = [];
  const listeners = new Set<() => void>();
  createInterface({ input: child.stdout! }).on('line', (line) => {
    try {
      events.push(JSON.parse(line) as WorkerEvent);
    } catch {
      return;
    }
    for (const l of [...listeners]) l();
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const waitFor = (pred: (e: WorkerEvent) => boolean, timeoutMs = 20_000): Promise<WorkerEvent> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = events.find(pred);
        if (!hit) return false;
        listeners.delete(check);
        clearTimeout(timer);
        resolve(hit);
        return true;
      };
      const timer = setTimeout(() => {
        listeners.delete(check);
        reject(new Error(`worker ${o.name}: no matching event within ${timeoutMs} ms; saw ${JSON.stringify(events)}`));
      }, timeoutMs);
      if (!check()) listeners.add(check);
      void exited.then(() => {
        if (listeners.has(check))
          setTimeout(() => {
            if (listeners.has(check)) {
              listeners.delete(check);
              clearTimeout(timer);
              reject(new Error(`worker ${o.name} exited (code ${child.exitCode}) before the event`));
            }
          }, 50);
      });
    });
  const proc: WorkerProcess = {
    name: o.name,
    child,
    events,
    waitFor,
    kill: async (signal = 'SIGKILL') => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
  await waitFor((e) => e.type === 'ready', 30_000);
  return proc;
}
