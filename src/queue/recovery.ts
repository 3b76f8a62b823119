// After a restart and over time: every stored job is loaded back (a job that was running goes to the
// FRONT of its owner's line), finished jobs a front end still owes a message are found, and finished
// records past retention are deleted with their result files.
import type { JobRecord } from './types.ts';
import { removeResultFiles } from './result-files.ts';
import { jobKey, owesDelivery, type QueueState } from './queue-state.ts';

/** Loads every stored job and usage counter into `state`. */
export async function loadJobs(state: QueueState): Promise<void> {
  const active: JobRecord[] = [];
  const now = state.clock();
  for await (const [key, value] of state.store.iterate<unknown>('')) {
    if (!key.startsWith('job:')) {
      state.ledger.restoreUsage(key, value, now);
      continue;
    }
    const job = value as JobRecord;
    if (!job || typeof job !== 'object' || !job.owner) continue;
    if (typeof job.seq === 'number' && job.seq > state.lastSeq) state.lastSeq = job.seq;
    const isActive = job.state === 'queued' || job.state === 'running';
    state.ledger.restoreJob(job, isActive);
    if (isActive) active.push(job);
    else state.noteFinished(job);
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
    state.fair.add(job, 'back');
    if (wasRunning) void state.writer.set(jobKey(job.id), job).catch(() => {});
  }
}

/**
 * What a front end starting up must attach to: every running and queued job (in run order), then the
 * finished jobs it still owes a final message (they ended while no front end was listening), oldest first.
 */
export async function pendingDeliveries(
  state: QueueState,
  read: (id: string) => Promise<JobRecord | undefined>,
): Promise<JobRecord[]> {
  const active = [...state.running.values()].filter((r) => !r.done).map((r) => structuredClone(r.job));
  const queued = state.fair.inOrder().map((j) => structuredClone(j));
  const owed = [...state.finished].filter(([, f]) => f.undelivered).sort((a, b) => a[1].finishedAt - b[1].finishedAt);
  const records = await Promise.all(owed.map(([id]) => read(id)));
  return [...active, ...queued, ...records.filter((r): r is JobRecord => r !== undefined && owesDelivery(r))];
}

/** Deletes finished records older than the retention, with their result files. Returns how many. */
export async function pruneJobs(state: QueueState): Promise<number> {
  const cutoff = state.clock() - state.retentionMs;
  let removed = 0;
  for (const [id, f] of [...state.finished]) {
    if (f.finishedAt >= cutoff) continue;
    const record = await state.store.get<JobRecord>(jobKey(id));
    if (record?.result) await removeResultFiles(id, record.result);
    await state.writer.delete(jobKey(id));
    state.finished.delete(id);
    removed++;
  }
  return removed;
}
