// What the local Worker and the BullMQ GpuWorker share about running one job: waiting for the engine
// after an abort, and how a run that did not produce a result ends (re-queued, cancelled, or failed with
// a code the front end turns into a fixed message; the details stay in the record and the log).
import { EngineCrashedError } from '../engine/errors.ts';
import { MediaUnavailableError } from './media-jobs.ts';
import { ModelUnavailableError, UnknownModelError } from '../engine/model-library.ts';
import type { FailureCode } from './types.ts';

/** The job ran past its time limit. */
export class JobTimeoutError extends Error {
  override name = 'JobTimeoutError';
  constructor(
    readonly jobId: string,
    readonly timeoutMs: number,
  ) {
    super(
      `job ${jobId} took longer than the ${timeoutMs >= 1000 ? `${Math.round(timeoutMs / 1000)} s` : `${timeoutMs} ms`} limit and was stopped`,
    );
  }
}

/** The abort reason of a worker that is stopping: the job goes back to the queue. */
export class StopRequeue extends Error {
  override name = 'StopRequeue';
}

/** How often one job may take the engine's thread down with it before it fails instead of running again. */
export const MAX_ENGINE_CRASHES = 2;

export type RunEnd =
  | { kind: 'requeue'; why: 'stopping' | 'engine crashed' }
  | { kind: 'cancelled' }
  | { kind: 'failed'; code: FailureCode; message: string };

/**
 * How a run that threw (or was aborted) ends. `cancelled` says the job's owner or a moderator cancelled
 * it; `crashes` is how many times this job has already crashed the engine.
 */
export function runEnd(error: unknown, abortReason: unknown, cancelled: boolean, crashes: number): RunEnd {
  if (abortReason instanceof StopRequeue) return { kind: 'requeue', why: 'stopping' };
  if (cancelled) return { kind: 'cancelled' };
  if (abortReason instanceof JobTimeoutError) return { kind: 'failed', code: 'timeout', message: abortReason.message };
  if (error instanceof EngineCrashedError) {
    if (crashes < MAX_ENGINE_CRASHES) return { kind: 'requeue', why: 'engine crashed' };
    return {
      kind: 'failed',
      code: 'engine_crash',
      message: `the engine stopped ${crashes + 1} times while running this job: ${error.message}`,
    };
  }
  if (error instanceof MediaUnavailableError) return { kind: 'failed', code: 'unavailable', message: error.message };
  if (error instanceof ModelUnavailableError || error instanceof UnknownModelError)
    return { kind: 'failed', code: 'model', message: error.message };
  return {
    kind: 'failed',
    code: 'engine',
    message: `the engine failed: ${error instanceof Error ? error.message : String(error)}`,
  };
}

/** The call's result; once `signal` aborts, waits at most graceMs for the engine to notice (it checks between steps). */
export function untilAbortedPlusGrace<T>(call: Promise<T>, signal: AbortSignal, graceMs: number): Promise<T> {
  return new Promise<T>((resolveCall, reject) => {
    let graceTimer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      graceTimer = setTimeout(() => reject(signal.reason), graceMs);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    call.then(
      (v) => {
        clearTimeout(graceTimer);
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) reject(signal.reason);
        else resolveCall(v);
      },
      (e) => {
        clearTimeout(graceTimer);
        signal.removeEventListener('abort', onAbort);
        reject(signal.aborted ? signal.reason : e);
      },
    );
  });
}

/** Crash counts per job, forgotten once the job ends (bounded by the jobs in flight). */
export class CrashCounts {
  private readonly counts = new Map<string, number>();
  of(jobId: string): number {
    return this.counts.get(jobId) ?? 0;
  }
  add(jobId: string): void {
    this.counts.set(jobId, this.of(jobId) + 1);
  }
  forget(jobId: string): void {
    this.counts.delete(jobId);
  }
}
