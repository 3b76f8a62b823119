// Handing jobs out: the worker takes the next job in fair order as a lease, reports progress through it
// and settles it exactly once (done, failed, cancelled, or back to the front of its owner's line).
import type { StepProgress } from '../engine/types.ts';
import type { FailureCode, JobRecord, JobResult, JobState } from './types.ts';
import { jobKey, type QueueState, type Running } from './queue-state.ts';

/**
 * The worker's handle on the one job it runs. Exactly one of complete/fail/cancelled/requeue settles it;
 * later calls are ignored and return the settled record.
 */
export interface JobLease {
  /** A copy of the record as it started. */
  readonly job: JobRecord;
  /** Aborted (reason JobCancelledError) when someone cancels the job. */
  readonly signal: AbortSignal;
  progress(progress: StepProgress): void;
  /** Persists 'done' with the result, then emits 'done'. `engineMs` feeds the ETA estimate. */
  complete(result: JobResult, engineMs?: number): Promise<JobRecord>;
  /** `message` is for the record and the log; `code` picks what the user is told (default 'engine'). */
  fail(message: string, code?: FailureCode): Promise<JobRecord>;
  /** Settles a job whose signal was aborted by cancel(). */
  cancelled(): Promise<JobRecord>;
  /** Puts the job back at the front of its owner's line (graceful shutdown). */
  requeue(): Promise<JobRecord>;
}

/** Takes the next job in fair order and marks it running (persisted in the background). */
export function takeJob(state: QueueState, accept?: (job: JobRecord) => boolean): JobLease | undefined {
  if (state.closed) return undefined;
  const job = state.fair.takeNext(accept);
  if (job === undefined) return undefined;
  job.state = 'running';
  job.startedAt = state.clock();
  job.progress = { step: 0, total: job.request.steps };
  let settle!: (job: JobRecord) => void;
  const settled = new Promise<JobRecord>((resolve) => {
    settle = resolve;
  });
  const entry: Running = { job, controller: new AbortController(), settled, settle, done: false };
  state.running.set(job.id, entry);
  // Not awaited: the engine starts now. OrderedWriter keeps a later 'done' from being overwritten.
  state.writer
    .set(jobKey(job.id), job)
    .catch((err) => process.emitWarning(`could not persist start of job ${job.id}: ${err}`));
  state.emit('started', structuredClone(job));
  return lease(state, entry);
}

/** Resolves when a job is queued (at once if one is), when `signal` aborts, or false when the queue closes. */
export function waitForJob(state: QueueState, signal?: AbortSignal): Promise<boolean> {
  if (state.closed) return Promise.resolve(false);
  if (state.fair.size > 0 || signal?.aborted) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (): void => {
      state.waiters.delete(done);
      signal?.removeEventListener('abort', done);
      resolve(!state.closed);
    };
    state.waiters.add(done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Persist before anyone hears of it: a job stored as 'done' never runs again. A store hiccup gets retries. */
async function persistSettled(state: QueueState, job: JobRecord): Promise<void> {
  for (const delayMs of [100, 500, 2000, -1]) {
    try {
      await state.writer.set(jobKey(job.id), job);
      return;
    } catch (err) {
      // Still refused: the job is reported anyway and would run again after a restart.
      if (delayMs < 0) process.emitWarning(`could not persist job ${job.id} as ${job.state}: ${err}`);
      else await new Promise((r) => setTimeout(r, delayMs));
    }
  }
}

type SettleEvent = 'done' | 'failed' | 'cancelled' | 'requeued';

function lease(state: QueueState, entry: Running): JobLease {
  const { job } = entry;
  const finish = async (to: JobState, patch: Partial<JobRecord>, event: SettleEvent): Promise<JobRecord> => {
    if (entry.done) return structuredClone(await entry.settled);
    entry.done = true;
    Object.assign(job, patch);
    job.state = to;
    if (to === 'queued') {
      delete job.startedAt;
      delete job.progress;
    } else {
      job.finishedAt = state.clock();
    }
    await persistSettled(state, job);
    state.running.delete(job.id);
    if (to === 'queued') {
      state.fair.add(job, 'front');
      state.wake();
    } else {
      state.ledger.addPending(job.owner.userId, -1);
      state.noteFinished(job);
    }
    const copy = structuredClone(job);
    entry.settle(copy);
    state.emit(event, structuredClone(copy));
    return structuredClone(copy);
  };
  return {
    job: structuredClone(job),
    signal: entry.controller.signal,
    progress: (p: StepProgress) => {
      if (entry.done) return;
      job.progress = { step: p.step, total: p.total };
      const etaMs = state.stepTimes.remainingMs(job, state.clock());
      state.emit('progress', {
        job: structuredClone(job),
        step: p.step,
        total: p.total,
        ...(p.preview ? { preview: p.preview } : {}),
        ...(p.preview && p.flagged !== undefined ? { previewFlagged: p.flagged } : {}),
        etaMs,
      });
    },
    complete: (result: JobResult, engineMs?: number) => {
      if (!entry.done) state.stepTimes.record(job.request.count, job.request.steps, engineMs ?? result.elapsedMs);
      return finish('done', { result, progress: { step: job.request.steps, total: job.request.steps } }, 'done');
    },
    fail: (message: string, code: FailureCode = 'engine') =>
      finish('failed', { error: message, failure: code }, 'failed'),
    cancelled: () => finish('cancelled', {}, 'cancelled'),
    requeue: () => finish('queued', {}, 'requeued'),
  };
}
