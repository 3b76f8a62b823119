// What the queue's parts share: the fair lines, the running and finished jobs, the submit ledger, the
// ordered store writer and the step-time estimates. Intake, dispatch and recovery each change it through
// the methods here; JobQueue (queue.ts) is the public face over all three.
import type { JobRecord, JobState } from './types.ts';
import type { Store } from './store.ts';
import { INT_RANGES } from './settings.ts';
import { SubmitLedger } from './usage.ts';
import type { JobQueueEvents } from './events.ts';
import { OrderedWriter } from './writes.ts';
import { StepTimes } from './eta.ts';
import { FairLines } from './fair-lines.ts';

export interface Running {
  job: JobRecord;
  controller: AbortController;
  settled: Promise<JobRecord>;
  settle: (job: JobRecord) => void;
  done: boolean;
}

export interface Finished {
  userId: string;
  state: JobState;
  finishedAt: number;
  /** The front end said it still owes this job's final message (delivery.delivered === false). */
  undelivered: boolean;
}

export interface JobPosition {
  /** 0 = running now, 1 = runs next, 2 = after one other job, ... */
  position: number;
  /** Estimated ms until the job starts (0 when running). */
  startsInMs: number;
  /** Estimated ms until the job finishes. */
  etaMs: number;
}

type Emit = <E extends keyof JobQueueEvents>(event: E, ...args: Parameters<JobQueueEvents[E]>) => void;

export function jobKey(id: string): string {
  return `job:${id}`;
}

/** delivery.delivered is the front end's flag: false from submit until the final message landed. */
export function owesDelivery(job: JobRecord): boolean {
  return job.delivery?.delivered === false;
}

export class QueueState {
  /** Queued jobs per user, FIFO, and the round-robin turn order of users that have any. */
  readonly fair = new FairLines<JobRecord>();
  readonly running = new Map<string, Running>();
  readonly finished = new Map<string, Finished>();
  readonly ledger = new SubmitLedger(INT_RANGES.cooldownSeconds[1] * 1000);
  readonly writer: OrderedWriter;
  readonly stepTimes: StepTimes;
  readonly waiters = new Set<() => void>();
  lastSeq = 0;
  closed = false;

  constructor(
    readonly store: Store,
    readonly clock: () => number,
    readonly retentionMs: number,
    defaultStepMs: number,
    readonly emit: Emit,
  ) {
    this.writer = new OrderedWriter(store);
    this.stepTimes = new StepTimes(defaultStepMs);
  }

  /** Marks a job finished (for listings, pruning and owed deliveries). */
  noteFinished(job: JobRecord): void {
    const finishedAt = job.finishedAt ?? job.createdAt;
    this.ledger.noteFinished(job.owner, finishedAt);
    this.finished.set(job.id, {
      userId: job.owner.userId,
      state: job.state,
      finishedAt,
      undelivered: owesDelivery(job),
    });
  }

  /** Wakes every worker waiting for a job. */
  wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  /**
   * Where a queued or running job stands, from the fair order and measured step times.
   * Undefined for finished or unknown jobs. Synchronous and O(queued jobs).
   */
  position(jobId: string): JobPosition | undefined {
    const now = this.clock();
    const run = this.running.get(jobId);
    if (run) return { position: 0, startsInMs: 0, etaMs: run.done ? 0 : this.stepTimes.remainingMs(run.job, now) };
    const job = this.fair.get(jobId);
    if (!job) return undefined;
    const ahead = this.fair.ahead(job);
    let startsInMs = this.runningRemainingMs(now);
    for (const earlier of ahead) startsInMs += this.stepTimes.estimateMs(earlier);
    return { position: ahead.length + 1, startsInMs, etaMs: startsInMs + this.stepTimes.estimateMs(job) };
  }

  runningRemainingMs(now: number): number {
    let ms = 0;
    for (const r of this.running.values()) if (!r.done) ms += this.stepTimes.remainingMs(r.job, now);
    return ms;
  }

  /** When the running jobs should be done (undefined when none runs). */
  queueFreesAt(now: number): number | undefined {
    return this.running.size > 0 ? now + Math.round(this.runningRemainingMs(now)) : undefined;
  }

  /** When the user's next job should finish (their pending count then drops). */
  pendingFreesAt(userId: string, now: number): number | undefined {
    for (const r of this.running.values()) {
      if (r.job.owner.userId === userId && !r.done) return now + Math.round(this.stepTimes.remainingMs(r.job, now));
    }
    const head = this.fair.lineOf(userId)[0];
    const pos = head && this.position(head.id);
    return pos ? now + Math.round(pos.etaMs) : undefined;
  }
}
