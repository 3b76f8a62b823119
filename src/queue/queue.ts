// JobQueue, the queue's public face: intake (intake.ts) accepts jobs after the limits, dispatch
// (dispatch.ts) hands them to the worker in fair order as leases, recovery (recovery.ts) loads them after
// a restart and prunes old ones; every state change is persisted. Knows nothing of Discord.
import type { JobOwner, JobRecord, JobState } from './types.ts';
import type { Store } from './store.ts';
import type { GuildSettingsStore } from './settings.ts';
import { DAY_MS } from './limits.ts';
import { TypedEmitter, type JobQueueEvents } from './events.ts';
import { isJobId } from './job-id.ts';
import { SubmitError, JobNotFoundError } from './errors.ts';
import { jobKey, owesDelivery, QueueState, type JobPosition } from './queue-state.ts';
import { admitPost, cancelJob, submitJob, type CancelBy, type SubmitInput } from './intake.ts';
import { takeJob, waitForJob, type JobLease } from './dispatch.ts';
import { loadJobs, pendingDeliveries, pruneJobs } from './recovery.ts';
import { removeResultFiles } from './result-files.ts';
import { readRecipe, storeRecipe } from './recipes.ts';
import { assertStoredSource, pruneSourceFiles, renewSourceFile, storeSourceFile } from './source-files.ts';
import { resolve } from 'node:path';

export type { CancelBy, JobLease, JobPosition, SubmitInput };
export { jobKey };

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
  /** Where the pictures image-to-image jobs start from are kept; without it such jobs are refused. */
  sourcesDir?: string;
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

export class JobQueue extends TypedEmitter<JobQueueEvents> {
  readonly maxQueued: number;
  readonly retentionMs: number;
  private readonly state: QueueState;
  private readonly settings: GuildSettingsStore;
  private readonly sourcesDir?: string;
  private pruneTimer?: NodeJS.Timeout;
  private pruning?: Promise<number>;

  private constructor(options: JobQueueOptions) {
    super();
    this.settings = options.settings;
    this.sourcesDir = options.sourcesDir === undefined ? undefined : resolve(options.sourcesDir);
    this.maxQueued = positiveInt('maxQueued', options.maxQueued ?? 200);
    this.retentionMs = positiveInt('retentionMs', options.retentionMs ?? 30 * DAY_MS);
    const emit = (event: keyof JobQueueEvents, ...args: unknown[]) =>
      (this.emit as (e: string, ...a: unknown[]) => void)(event, ...args);
    this.state = new QueueState(
      options.store,
      options.clock ?? Date.now,
      this.retentionMs,
      options.defaultStepMs ?? 250,
      emit,
    );
  }

  /**
   * Loads every stored job: queued ones return to their lines, a job that was running goes back to the
   * FRONT of its owner's line, finished ones stay readable until retention ends. Then prunes once.
   */
  static async open(options: JobQueueOptions): Promise<JobQueue> {
    const queue = new JobQueue(options);
    await loadJobs(queue.state);
    queue.pruning = queue.prune().finally(() => {
      queue.pruning = undefined;
    });
    await queue.pruning;
    const every = options.pruneIntervalMs ?? 60 * 60 * 1000;
    if (every > 0) {
      const prune = () => void queue.prune().catch((err) => process.emitWarning(`queue prune failed: ${err}`));
      queue.pruneTimer = setInterval(prune, every);
      queue.pruneTimer.unref();
    }
    return queue;
  }

  // ---- Producer API -------------------------------------------------------------------------

  /** Checks every limit, persists the new record, then queues it. Throws LimitError (nothing changes) or SubmitError. */
  async submit(input: SubmitInput): Promise<JobRecord> {
    if (this.state.closed) throw new SubmitError('the queue is closed');
    const source = input.request.init?.imagePath;
    if (source !== undefined) assertStoredSource(this.sourcesDir, source);
    const job = await submitJob(this.state, this.settings, this.maxQueued, input);
    if (source !== undefined) await renewSourceFile(source);
    return job;
  }

  /**
   * Keeps the picture an image-to-image job starts from (PNG bytes) and returns the path its request
   * names; the file lasts as long as the newest job that uses it.
   */
  async storeSource(png: Buffer): Promise<string> {
    if (!this.sourcesDir) throw new SubmitError('this queue keeps no source images');
    return storeSourceFile(this.sourcesDir, png);
  }

  /**
   * For what posts without a job (an image already made, posted alone): the channel rules and a per-user
   * cooldown of the server's length, kept apart from the submit cooldown. Throws LimitError.
   */
  admitPost(owner: JobOwner): Promise<void> {
    return admitPost(this.state, this.settings, owner);
  }

  /** Entries the submit counters hold (they drop what can no longer refuse anyone). */
  get ledgerSize(): number {
    return this.state.ledger.size;
  }

  /**
   * Owner or moderator only (else PermissionError). A queued job is cancelled at once; a running one has
   * its signal aborted and this resolves when the worker has stopped it (or it finished first).
   * Throws JobNotFoundError, or JobStateError for a job already finished.
   */
  async cancel(jobId: string, by: CancelBy): Promise<JobRecord> {
    const active = this.state.fair.get(jobId) ?? this.state.running.get(jobId);
    return cancelJob(this.state, active ? undefined : await this.get(jobId), jobId, by);
  }

  /**
   * Removes a finished job's stored images (its result was deleted by its owner or a moderator). The record
   * stays, without a result, so every button that would re-run or post it says it is gone.
   */
  async deleteResult(jobId: string): Promise<void> {
    const stored = await this.get(jobId);
    if (!stored?.result || stored.state === 'queued' || stored.state === 'running') return;
    await removeResultFiles(jobId, stored.result);
    delete stored.result;
    await this.state.writer.set(jobKey(jobId), stored);
  }

  /** A code that names a finished job (and image `index` of it), valid as long as the job's record. */
  async saveRecipe(jobId: string, index?: number): Promise<string> {
    const job = await this.get(jobId);
    if (job?.state !== 'done' || job.finishedAt === undefined) throw new JobNotFoundError(jobId);
    return storeRecipe(this.state.store, { jobId, index }, job.finishedAt + this.retentionMs - this.state.clock());
  }

  /** The job a recipe code names, with the image; undefined for an unknown, malformed or expired code. */
  async recipe(code: string): Promise<{ job: JobRecord; index?: number } | undefined> {
    const ref = await readRecipe(this.state.store, code);
    if (!ref) return undefined;
    const job = await this.get(ref.jobId);
    if (job?.state !== 'done') return undefined;
    return { job, ...(ref.index !== undefined ? { index: ref.index } : {}) };
  }

  /** The record, active or finished (within retention); undefined when unknown or pruned. */
  async get(jobId: string): Promise<JobRecord | undefined> {
    const active = this.state.fair.get(jobId) ?? this.state.running.get(jobId)?.job;
    if (active) return structuredClone(active);
    if (!isJobId(jobId)) return undefined;
    const stored = await this.state.store.get<JobRecord>(jobKey(jobId));
    if (!stored) return undefined;
    if (stored.finishedAt !== undefined && stored.finishedAt < this.state.clock() - this.retentionMs) return undefined;
    // A record still marked queued/running but not in memory belongs to another process's queue.
    return stored;
  }

  /** Where a queued or running job stands (undefined for finished or unknown jobs). */
  position(jobId: string): JobPosition | undefined {
    return this.state.position(jobId);
  }

  /**
   * The user's running and queued jobs (in the order they will run), then up to `finished` most recent
   * finished ones (default 0) read from the store.
   */
  async listForUser(userId: string, options: { finished?: number } = {}): Promise<JobRecord[]> {
    const { running, fair, finished } = this.state;
    const active = [...running.values()]
      .filter((r) => r.job.owner.userId === userId)
      .map((r) => structuredClone(r.job));
    active.push(...fair.lineOf(userId).map((j) => structuredClone(j)));
    const want = options.finished ?? 0;
    if (want <= 0) return active;
    const mine = [...finished].filter(([, f]) => f.userId === userId);
    const ids = mine.sort((a, b) => b[1].finishedAt - a[1].finishedAt).slice(0, want);
    const records = await Promise.all(ids.map(([id]) => this.get(id)));
    return [...active, ...records.filter((r): r is JobRecord => r !== undefined)];
  }

  stats(): QueueStats {
    const { fair, running, finished, stepTimes } = this.state;
    const byState: Record<JobState, number> = { queued: fair.size, running: 0, done: 0, failed: 0, cancelled: 0 };
    for (const r of running.values()) if (!r.done) byState.running++;
    for (const f of finished.values()) byState[f.state]++;
    const { maxQueued } = this;
    return {
      queued: fair.size,
      running: byState.running,
      waitingUsers: fair.waitingUsers,
      byState,
      maxQueued,
      stepMs: stepTimes.snapshot(),
    };
  }

  /** Replaces the front end's delivery data (e.g. a channel message id once the token expired). */
  async setDelivery(jobId: string, delivery: NonNullable<JobRecord['delivery']>): Promise<JobRecord> {
    const active = this.state.fair.get(jobId) ?? this.state.running.get(jobId)?.job;
    if (active) {
      active.delivery = structuredClone(delivery);
      await this.state.writer.set(jobKey(jobId), active);
      return structuredClone(active);
    }
    const stored = await this.get(jobId);
    if (!stored) throw new JobNotFoundError(jobId);
    stored.delivery = structuredClone(delivery);
    await this.state.writer.set(jobKey(jobId), stored);
    const finished = this.state.finished.get(jobId);
    if (finished) finished.undelivered = owesDelivery(stored);
    return stored;
  }

  /**
   * What a front end starting up must attach to: every running and queued job (in run order), then the
   * finished jobs it still owes a final message (`delivery.delivered === false`), oldest first. The front
   * end clears the flag with setDelivery once delivered.
   */
  pendingDeliveries(): Promise<JobRecord[]> {
    return pendingDeliveries(this.state, (id) => this.get(id));
  }

  /** Deletes finished records older than the retention, with their result files (and unused sources). Returns how many records. */
  async prune(): Promise<number> {
    const removed = await pruneJobs(this.state);
    // A day more than the records: a job's record may outlive its submit by its time in the queue.
    if (this.sourcesDir) await pruneSourceFiles(this.sourcesDir, this.state.clock() - this.retentionMs - DAY_MS);
    return removed;
  }

  /** Stops timers and waits for pending writes. Stop the worker first. Does not close the store. */
  async close(): Promise<void> {
    this.state.closed = true;
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    await this.pruning?.catch(() => {});
    this.state.wake();
    await this.state.writer.flush();
  }

  // ---- Worker API ---------------------------------------------------------------------------

  /** Number of jobs waiting to run. */
  get queuedCount(): number {
    return this.state.fair.size;
  }

  /** Takes the next job in fair order (of those `accept` takes) and marks it running (persisted in the background). */
  take(accept?: (job: JobRecord) => boolean): JobLease | undefined {
    return takeJob(this.state, accept);
  }

  /** True once close() was called: take() gives nothing more. */
  get isClosed(): boolean {
    return this.state.closed;
  }

  /** Resolves when a job is queued (at once if one is), or when `signal` aborts; false once the queue closes. */
  waitForJob(signal?: AbortSignal): Promise<boolean> {
    return waitForJob(this.state, signal);
  }
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new RangeError(`expected ${name} to be a positive whole number, got ${v}`);
  return v;
}
