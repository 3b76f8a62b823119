// The producer side: accepts jobs (after the limits), keeps them in fair order, persists every state
// change, answers position/ETA, and hands jobs to the worker as leases. Knows nothing of Discord.
import type { GenerateRequest, StepProgress } from '../engine/types.ts';
import type { FailureCode, JobKind, JobOwner, JobRecord, JobResult, JobState } from './types.ts';
import type { Store } from './store.ts';
import { INT_RANGES, type GuildSettingsStore } from './settings.ts';
import { checkChannel, checkCooldown, checkSubmit, DAY_MS, type UsageSnapshot } from './limits.ts';
import { SubmitLedger, USAGE_TTL_MS, usageKey } from './usage.ts';
import { TypedEmitter, type JobQueueEvents } from './events.ts';
import { OrderedWriter } from './writes.ts';
import { StepTimes } from './eta.ts';
import { isJobId, newJobId } from './job-id.ts';
import { FairLines } from './fair-lines.ts';
import { JobCancelledError, JobNotFoundError, JobStateError, PermissionError, SubmitError } from './errors.ts';
import { removeResultFiles } from './result-files.ts';

const JOB_KINDS: readonly JobKind[] = ['new', 'reroll', 'variation', 'pick', 'timelapse', 'diffusion'];

export interface JobQueueOptions {
  store: Store;
  settings: GuildSettingsStore;
  /** Time source for records, cooldowns, quotas and retention (tests move it). Default Date.now. */
  clock?: () => number;
  /** Global cap on queued jobs (back-pressure); submits beyond it get LimitError 'queue_full'. Default 200. */
  maxQueued?: number;
  /** How long finished records (and their result files) are kept, in ms. Default 30 days. */
  retentionMs?: number;
  /** How often pruning runs, in ms; 0 turns the timer off (call prune() yourself). Default 1 hour. */
  pruneIntervalMs?: number;
  /** Step time assumed before the first job is measured, in ms. Default 250. */
  defaultStepMs?: number;
}

export interface SubmitInput {
  owner: JobOwner;
  /** Stored exactly as given and run as is: pick the seed before submitting. */
  request: GenerateRequest;
  /** Default 'new'. */
  kind?: JobKind;
  /** The job whose parameters this one derives from (reroll, variation, pick). */
  parentId?: string;
  /** Opaque to the queue; kept in the record for the front end (e.g. interaction token, message id). */
  delivery?: JobRecord['delivery'];
  /** --video, attachment limit, image index (issue 8). */
  extras?: JobRecord['extras'];
}

export interface CancelBy {
  userId: string;
  /** The caller decides (Discord permissions, settings.moderatorRoleIds). */
  isModerator: boolean;
}

export interface JobPosition {
  /** 0 = running now, 1 = runs next, 2 = after one other job, ... */
  position: number;
  /** Estimated ms until the job starts (0 when running). */
  startsInMs: number;
  /** Estimated ms until the job finishes. */
  etaMs: number;
}

export interface QueueStats {
  queued: number;
  running: number;
  /** Users with at least one queued job. */
  waitingUsers: number;
  /** Active jobs plus finished records still within retention. */
  byState: Record<JobState, number>;
  maxQueued: number;
  /** Measured ms per step by image count. */
  stepMs: Record<string, number>;
}

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

interface Running {
  job: JobRecord;
  controller: AbortController;
  settled: Promise<JobRecord>;
  settle: (job: JobRecord) => void;
  done: boolean;
}

interface Finished {
  userId: string;
  state: JobState;
  finishedAt: number;
  /** The front end said it still owes this job's final message (delivery.delivered === false). */
  undelivered: boolean;
}

/** delivery.delivered is the front end's flag: false from submit until the final message landed. */
function owesDelivery(job: JobRecord): boolean {
  return job.delivery?.delivered === false;
}

export class JobQueue extends TypedEmitter<JobQueueEvents> {
  private readonly store: Store;
  private readonly settings: GuildSettingsStore;
  private readonly clock: () => number;
  readonly maxQueued: number;
  readonly retentionMs: number;
  private readonly writer: OrderedWriter;
  private readonly stepTimes: StepTimes;

  /** Queued jobs per user, FIFO, and the round-robin turn order of users that have any. */
  private readonly fair = new FairLines<JobRecord>();
  private readonly running = new Map<string, Running>();
  private readonly finished = new Map<string, Finished>();
  private readonly ledger = new SubmitLedger(INT_RANGES.cooldownSeconds[1] * 1000);
  private lastSeq = 0;
  private readonly waiters = new Set<() => void>();
  private pruneTimer?: NodeJS.Timeout;
  private pruning?: Promise<number>;
  private closed = false;

  private constructor(options: JobQueueOptions) {
    super();
    this.store = options.store;
    this.settings = options.settings;
    this.clock = options.clock ?? Date.now;
    this.maxQueued = positiveInt('maxQueued', options.maxQueued ?? 200);
    this.retentionMs = positiveInt('retentionMs', options.retentionMs ?? 30 * DAY_MS);
    this.writer = new OrderedWriter(this.store);
    this.stepTimes = new StepTimes(options.defaultStepMs ?? 250);
  }

  /**
   * Loads every stored job: queued ones return to their lines, a job that was running goes back to the
   * FRONT of its owner's line, finished ones stay readable until retention ends. Then prunes once.
   */
  static async open(options: JobQueueOptions): Promise<JobQueue> {
    const queue = new JobQueue(options);
    await queue.load();
    queue.pruning = queue.prune().finally(() => { queue.pruning = undefined; });
    await queue.pruning;
    const every = options.pruneIntervalMs ?? 60 * 60 * 1000;
    if (every > 0) {
      queue.pruneTimer = setInterval(() => { void queue.prune().catch((err) => process.emitWarning(`queue prune failed: ${err}`)); }, every);
      queue.pruneTimer.unref();
    }
    return queue;
  }

  // ---- Producer API -------------------------------------------------------------------------

  /**
   * Checks every limit, persists the new record, then queues it and emits 'queued'.
   * Throws LimitError (nothing changes) or SubmitError for malformed input.
   */
  async submit(input: SubmitInput): Promise<JobRecord> {
    this.assertOpen();
    const { owner, request } = input;
    for (const k of ['userId', 'guildId', 'channelId'] as const) {
      if (typeof owner?.[k] !== 'string' || owner[k] === '') throw new SubmitError(`expected owner.${k} to be a non-empty string, got ${JSON.stringify(owner?.[k])}`);
    }
    const kind = input.kind ?? 'new';
    if (!JOB_KINDS.includes(kind)) throw new SubmitError(`expected kind to be one of ${JOB_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
    if (request === null || typeof request !== 'object') throw new SubmitError(`expected a request object, got ${JSON.stringify(request)}`);
    const settings = await this.settings.get(owner.guildId);

    // From here to the reservation nothing awaits, so two submits cannot both slip under a limit.
    const now = this.clock();
    this.ledger.forget(now);
    const usage = usageKey(owner, now);
    const snapshot: UsageSnapshot = {
      pending: this.ledger.pending(owner.userId),
      pendingFreesAt: this.pendingFreesAt(owner.userId, now),
      lastSubmitAt: this.ledger.lastSubmitAt(owner),
      usedToday: this.ledger.used(usage),
      queued: this.fair.size + this.ledger.inFlight,
      maxQueued: this.maxQueued,
      queueFreesAt: this.queueFreesAt(now),
    };
    checkSubmit(settings, owner, request, snapshot, now);

    const job: JobRecord = {
      id: newJobId(),
      owner: { userId: owner.userId, guildId: owner.guildId, channelId: owner.channelId },
      request: structuredClone(request),
      kind,
      ...(input.parentId !== undefined ? { parentId: input.parentId } : {}),
      state: 'queued',
      createdAt: now,
      seq: ++this.lastSeq,
      ...(input.delivery !== undefined ? { delivery: structuredClone(input.delivery) } : {}),
      ...(input.extras !== undefined ? { extras: structuredClone(input.extras) } : {}),
    };
    const reservation = this.ledger.reserve(owner, usage, now);
    const [jobWrite, usageWrite] = await Promise.allSettled([
      this.writer.set(jobKey(job.id), job),
      this.writer.set(usage, snapshot.usedToday + 1, USAGE_TTL_MS),
    ]);
    if (jobWrite.status === 'rejected' || usageWrite.status === 'rejected') {
      // Refused by the store: the user is not charged, and neither half of the pair stays stored (best effort:
      // the store may still be refusing). The count written back is the ledger's, which keeps concurrent submits.
      reservation.undo();
      await Promise.allSettled([
        jobWrite.status === 'fulfilled' ? this.writer.delete(jobKey(job.id)) : undefined,
        this.writer.set(usage, this.ledger.used(usage), USAGE_TTL_MS),
      ]);
      throw jobWrite.status === 'rejected' ? jobWrite.reason : (usageWrite as PromiseRejectedResult).reason;
    }
    reservation.release();
    this.fair.add(job, 'back');
    this.emit('queued', structuredClone(job));
    this.wake();
    return structuredClone(job);
  }

  /**
   * For what posts without a job (an image already made, posted alone): the channel rules and a per-user
   * cooldown of the server's length, kept apart from the submit cooldown. Throws LimitError; records the
   * post when it may go ahead.
   */
  async admitPost(owner: JobOwner): Promise<void> {
    const settings = await this.settings.get(owner.guildId);
    const now = this.clock();
    this.ledger.forget(now);
    checkChannel(settings, owner.channelId);
    checkCooldown(settings, this.ledger.lastPostAt(owner), now);
    this.ledger.notePost(owner, now);
  }

  /** Entries the submit counters hold (they drop what can no longer refuse anyone). */
  get ledgerSize(): number {
    return this.ledger.size;
  }

  /**
   * Owner or moderator only (else PermissionError). A queued job is cancelled at once; a running one has
   * its signal aborted and this resolves when the worker has stopped it (or it finished first).
   * Throws JobNotFoundError, or JobStateError for a job already finished.
   */
  async cancel(jobId: string, by: CancelBy): Promise<JobRecord> {
    const queued = this.fair.get(jobId);
    const running = this.running.get(jobId);
    const job = queued ?? running?.job ?? (await this.get(jobId));
    if (!job) throw new JobNotFoundError(jobId);
    if (job.owner.userId !== by.userId && !by.isModerator) {
      throw new PermissionError(`only the job's owner or a moderator can cancel job ${jobId}`);
    }
    if (queued && this.fair.get(jobId) === queued) {
      this.fair.remove(queued);
      queued.state = 'cancelled';
      queued.finishedAt = this.clock();
      this.ledger.addPending(queued.owner.userId, -1);
      this.finished.set(jobId, { userId: queued.owner.userId, state: 'cancelled', finishedAt: queued.finishedAt, undelivered: owesDelivery(queued) });
      await this.writer.set(jobKey(jobId), queued);
      const copy = structuredClone(queued);
      this.emit('cancelled', copy);
      return structuredClone(copy);
    }
    const entry = this.running.get(jobId);
    if (entry && !entry.done) {
      if (!entry.controller.signal.aborted) entry.controller.abort(new JobCancelledError(jobId));
      return structuredClone(await entry.settled);
    }
    if (entry) return structuredClone(await entry.settled);
    throw new JobStateError(jobId, job.state, 'cancel');
  }

  /** The record, active or finished (within retention); undefined when unknown or pruned. */
  async get(jobId: string): Promise<JobRecord | undefined> {
    const active = this.fair.get(jobId) ?? this.running.get(jobId)?.job;
    if (active) return structuredClone(active);
    if (!isJobId(jobId)) return undefined;
    const stored = await this.store.get<JobRecord>(jobKey(jobId));
    if (!stored) return undefined;
    if (stored.finishedAt !== undefined && stored.finishedAt < this.clock() - this.retentionMs) return undefined;
    // A record still marked queued/running but not in memory belongs to another process's queue.
    return stored;
  }

  /**
   * Where a queued or running job stands, from the fair order and measured step times.
   * Undefined for finished or unknown jobs. Synchronous and O(queued jobs).
   */
  position(jobId: string): JobPosition | undefined {
    const now = this.clock();
    const run = this.running.get(jobId);
    if (run) {
      const left = run.done ? 0 : this.stepTimes.remainingMs(run.job, now);
      return { position: 0, startsInMs: 0, etaMs: left };
    }
    const job = this.fair.get(jobId);
    if (!job) return undefined;
    const user = job.owner.userId;
    const ahead = this.fair.ahead(job);
    let startsInMs = this.runningRemainingMs(now);
    for (const earlier of ahead) startsInMs += this.stepTimes.estimateMs(earlier);
    return { position: ahead.length + 1, startsInMs, etaMs: startsInMs + this.stepTimes.estimateMs(job) };
  }

  /**
   * The user's running and queued jobs (in the order they will run), then up to `finished` most recent
   * finished ones (default 0) read from the store.
   */
  async listForUser(userId: string, options: { finished?: number } = {}): Promise<JobRecord[]> {
    const active = [...this.running.values()].filter((r) => r.job.owner.userId === userId).map((r) => structuredClone(r.job));
    active.push(...this.fair.lineOf(userId).map((j) => structuredClone(j)));
    const want = options.finished ?? 0;
    if (want <= 0) return active;
    const ids = [...this.finished].filter(([, f]) => f.userId === userId).sort((a, b) => b[1].finishedAt - a[1].finishedAt).slice(0, want);
    const records = await Promise.all(ids.map(([id]) => this.get(id)));
    return [...active, ...records.filter((r): r is JobRecord => r !== undefined)];
  }

  stats(): QueueStats {
    const byState: Record<JobState, number> = { queued: this.fair.size, running: 0, done: 0, failed: 0, cancelled: 0 };
    for (const r of this.running.values()) if (!r.done) byState.running++;
    for (const f of this.finished.values()) byState[f.state]++;
    return {
      queued: this.fair.size,
      running: byState.running,
      waitingUsers: this.fair.waitingUsers,
      byState,
      maxQueued: this.maxQueued,
      stepMs: this.stepTimes.snapshot(),
    };
  }

  /** Replaces the front end's delivery data (e.g. a channel message id once the token expired). */
  async setDelivery(jobId: string, delivery: NonNullable<JobRecord['delivery']>): Promise<JobRecord> {
    const active = this.fair.get(jobId) ?? this.running.get(jobId)?.job;
    if (active) {
      active.delivery = structuredClone(delivery);
      await this.writer.set(jobKey(jobId), active);
      return structuredClone(active);
    }
    const stored = await this.get(jobId);
    if (!stored) throw new JobNotFoundError(jobId);
    stored.delivery = structuredClone(delivery);
    await this.writer.set(jobKey(jobId), stored);
    const finished = this.finished.get(jobId);
    if (finished) finished.undelivered = owesDelivery(stored);
    return stored;
  }

  /**
   * What a front end starting up must attach to: every running and queued job (in run order), then the
   * finished jobs it still owes a final message (`delivery.delivered === false`: they ended while no front
   * end was listening), oldest first. The front end clears the flag with setDelivery once delivered.
   */
  async pendingDeliveries(): Promise<JobRecord[]> {
    const active = [...this.running.values()].filter((r) => !r.done).map((r) => structuredClone(r.job));
    const queued = this.fair.inOrder().map((j) => structuredClone(j));
    const owed = [...this.finished].filter(([, f]) => f.undelivered).sort((a, b) => a[1].finishedAt - b[1].finishedAt);
    const records = await Promise.all(owed.map(([id]) => this.get(id)));
    return [...active, ...queued, ...records.filter((r): r is JobRecord => r !== undefined && owesDelivery(r))];
  }

  /** Deletes finished records older than the retention, with their result files. Returns how many. */
  async prune(): Promise<number> {
    const cutoff = this.clock() - this.retentionMs;
    let removed = 0;
    for (const [id, f] of [...this.finished]) {
      if (f.finishedAt >= cutoff) continue;
      const record = await this.store.get<JobRecord>(jobKey(id));
      if (record?.result) await removeResultFiles(id, record.result);
      await this.writer.delete(jobKey(id));
      this.finished.delete(id);
      removed++;
    }
    return removed;
  }

  /** Stops timers and waits for pending writes. Stop the worker first. Does not close the store. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.pruning?.catch(() => {});
    for (const wake of this.waiters) wake();
    await this.writer.flush();
  }

  // ---- Worker API ---------------------------------------------------------------------------

  /** Number of jobs waiting to run. */
  get queuedCount(): number {
    return this.fair.size;
  }

  /** Takes the next job in fair order and marks it running (persisted in the background). */
  take(): JobLease | undefined {
    if (this.closed) return undefined;
    const job = this.fair.takeNext();
    if (job === undefined) return undefined;

    job.state = 'running';
    job.startedAt = this.clock();
    job.progress = { step: 0, total: job.request.steps };
    let settle!: (job: JobRecord) => void;
    const settled = new Promise<JobRecord>((resolve) => { settle = resolve; });
    const entry: Running = { job, controller: new AbortController(), settled, settle, done: false };
    this.running.set(job.id, entry);
    // Not awaited: the engine starts now. OrderedWriter keeps a later 'done' from being overwritten.
    this.writer.set(jobKey(job.id), job).catch((err) => process.emitWarning(`could not persist start of job ${job.id}: ${err}`));
    this.emit('started', structuredClone(job));
    return this.lease(entry);
  }

  /** True once close() was called: take() gives nothing more. */
  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Resolves when a job is queued (at once if one is), or when `signal` aborts or the queue closes;
   * false means the queue is closed and the worker should stop.
   */
  waitForJob(signal?: AbortSignal): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.fair.size > 0 || signal?.aborted) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        this.waiters.delete(done);
        signal?.removeEventListener('abort', done);
        resolve(!this.closed);
      };
      this.waiters.add(done);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  // ---- Internals ----------------------------------------------------------------------------

  private lease(entry: Running): JobLease {
    const { job } = entry;
    const finish = async (state: JobState, patch: Partial<JobRecord>, event: 'done' | 'failed' | 'cancelled' | 'requeued'): Promise<JobRecord> => {
      if (entry.done) return structuredClone(await entry.settled);
      entry.done = true;
      Object.assign(job, patch);
      job.state = state;
      if (state === 'queued') {
        delete job.startedAt;
        delete job.progress;
      } else {
        job.finishedAt = this.clock();
      }
      // Persist before anyone hears of it: a job stored as 'done' never runs again. A store hiccup gets
      // retries; if it persists, the job is reported anyway and would run again after a restart.
      for (const delayMs of [100, 500, 2000, -1]) {
        try {
          await this.writer.set(jobKey(job.id), job);
          break;
        } catch (err) {
          if (delayMs < 0) process.emitWarning(`could not persist job ${job.id} as ${state}: ${err}`);
          else await new Promise((r) => setTimeout(r, delayMs));
        }
      }
      this.running.delete(job.id);
      if (state === 'queued') {
        this.fair.add(job, 'front');
        this.wake();
      } else {
        this.ledger.addPending(job.owner.userId, -1);
        this.finished.set(job.id, { userId: job.owner.userId, state, finishedAt: job.finishedAt!, undelivered: owesDelivery(job) });
      }
      const copy = structuredClone(job);
      entry.settle(copy);
      this.emit(event, structuredClone(copy));
      return structuredClone(copy);
    };
    return {
      job: structuredClone(job),
      signal: entry.controller.signal,
      progress: (p: StepProgress) => {
        if (entry.done) return;
        job.progress = { step: p.step, total: p.total };
        const etaMs = this.stepTimes.remainingMs(job, this.clock());
        this.emit('progress', { job: structuredClone(job), step: p.step, total: p.total, ...(p.preview ? { preview: p.preview } : {}), etaMs });
      },
      complete: (result: JobResult, engineMs?: number) => {
        if (!entry.done) this.stepTimes.record(job.request.count, job.request.steps, engineMs ?? result.elapsedMs);
        return finish('done', { result, progress: { step: job.request.steps, total: job.request.steps } }, 'done');
      },
      fail: (message: string, code: FailureCode = 'engine') => finish('failed', { error: message, failure: code }, 'failed'),
      cancelled: () => finish('cancelled', {}, 'cancelled'),
      requeue: () => finish('queued', {}, 'requeued'),
    };
  }

  private async load(): Promise<void> {
    const active: JobRecord[] = [];
    const now = this.clock();
    for await (const [key, value] of this.store.iterate<unknown>('')) {
      if (key.startsWith('job:')) {
        const job = value as JobRecord;
        if (!job || typeof job !== 'object' || !job.owner) continue;
        if (typeof job.seq === 'number' && job.seq > this.lastSeq) this.lastSeq = job.seq;
        const isActive = job.state === 'queued' || job.state === 'running';
        this.ledger.restoreJob(job, isActive);
        if (isActive) active.push(job);
        else this.finished.set(job.id, { userId: job.owner.userId, state: job.state, finishedAt: job.finishedAt ?? job.createdAt, undelivered: owesDelivery(job) });
      } else {
        this.ledger.restoreUsage(key, value, now);
      }
    }
    // Interrupted jobs first (front of their owner's line), then oldest first.
    const order = (a: JobRecord, b: JobRecord): number =>
      a.seq !== undefined && b.seq !== undefined ? a.seq - b.seq : a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
    active.sort((a, b) => Number(b.state === 'running') - Number(a.state === 'running') || order(a, b));
    for (const job of active) {
      const wasRunning = job.state === 'running';
      job.state = 'queued';
      delete job.startedAt;
      delete job.progress;
      this.fair.add(job, 'back');
      if (wasRunning) void this.writer.set(jobKey(job.id), job).catch(() => {});
    }
  }

  private wake(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private runningRemainingMs(now: number): number {
    let ms = 0;
    for (const r of this.running.values()) if (!r.done) ms += this.stepTimes.remainingMs(r.job, now);
    return ms;
  }

  private queueFreesAt(now: number): number | undefined {
    return this.running.size > 0 ? now + Math.round(this.runningRemainingMs(now)) : undefined;
  }

  private pendingFreesAt(userId: string, now: number): number | undefined {
    for (const r of this.running.values()) if (r.job.owner.userId === userId && !r.done) return now + Math.round(this.stepTimes.remainingMs(r.job, now));
    const head = this.fair.lineOf(userId)[0];
    const pos = head && this.position(head.id);
    return pos ? now + Math.round(pos.etaMs) : undefined;
  }

  private assertOpen(): void {
    if (this.closed) throw new SubmitError('the queue is closed');
  }
}

export function jobKey(id: string): string {
  return `job:${id}`;
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`expected ${name} to be a positive whole number, got ${v}`);
  return v;
}
