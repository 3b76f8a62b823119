// Shared by the reliability tests: how a refusal must look (ephemeral, nothing public left behind),
// and a child process running the real entry point (src/index.ts) against the local Discord server.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import type { DiscordServer } from '../support/discord/index.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const MODELS = join(ROOT, 'test/fixtures/models');

export { ephemeralAnswer } from '../e2e/harness.ts';

export interface BotProcess {
  child: ChildProcess;
  /** Every pino line parsed (stdout). */
  lines: Record<string, unknown>[];
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first log line that matches. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

/** `node --import tsx src/index.ts` with a clean environment pointing at the local server. */
export function startBotProcess(env: Record<string, string>, server?: DiscordServer): BotProcess {
  const base: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/tmp',
    LOG_LEVEL: 'info',
    REGISTER_COMMANDS: 'off',
    ORT_INTRA_OP_THREADS: '1',
    SHUTDOWN_GRACE_SECONDS: '1',
    ...(server ? { DISCORD_TOKEN: server.token, DISCORD_API_URL: server.apiUrl } : {}),
  };
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/index.ts')], {
    cwd: ROOT,
    env: { ...base, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  const listeners = new Set<() => void>();
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        lines.push(JSON.parse(text) as Record<string, unknown>);
      } catch {
        lines.push({ msg: text });
      }
      for (const wake of listeners) wake();
    }
  });
  const proc: BotProcess = {
    child,
    lines,
    stderr: '',
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
    waitForLog(match, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const found = lines.find(match);
          if (found) {
            done();
            resolve(found);
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(
            new Error(
              `no matching log line within ${timeoutMs} ms; last lines:\n${lines
                .slice(-8)
                .map((l) => JSON.stringify(l))
                .join('\n')}\nstderr: ${proc.stderr.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        const onExit = (): void => {
          done();
          reject(new Error(`the bot exited before the log line came; stderr: ${proc.stderr.slice(-2000)}`));
        };
        const done = (): void => {
          clearTimeout(timer);
          listeners.delete(check);
          child.off('exit', onExit);
        };
        listeners.add(check);
        child.once('exit', onExit);
        check();
      });
    },
  };
  child.stderr!.on('data', (chunk: Buffer) => {
    proc.stderr += chunk.toString();
  });
  return proc;
}
