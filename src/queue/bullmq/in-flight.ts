// The Dispatcher's bookkeeping of the jobs it handed to BullMQ: where each one is, its one settlement,
// and waiting until they are all settled.
import type { RawImage } from '../../engine/types.ts';
import type { JobLease } from '../dispatch.ts';

export interface InFlight {
  lease: JobLease;
  /** 'waiting' = in BullMQ's wait list; 'active' = a worker holds it; 'ended' = finished there, settling here. */
  phase: 'waiting' | 'active' | 'ended';
  settling: boolean;
  /** The newest preview: workers send one at most every previewIntervalMs, steps in between reuse it. */
  preview?: RawImage;
  /** Whether the safety checker flagged that preview. */
  previewFlagged?: boolean;
}

export class InFlightJobs {
  private readonly entries = new Map<string, InFlight>();
  private readonly settlements = new Set<Promise<unknown>>();
  private drainWaiters: Array<() => void> = [];

  constructor(private readonly warn: (message: string) => void) {}

  get size(): number {
    return this.entries.size;
  }

  add(lease: JobLease): InFlight {
    const entry: InFlight = { lease, phase: 'waiting', settling: false };
    this.entries.set(lease.job.id, entry);
    return entry;
  }

  get(jobId: string): InFlight | undefined {
    return this.entries.get(jobId);
  }

  /** The entry while its job is not yet settling: events for a job being settled are ignored. */
  open(jobId: string): InFlight | undefined {
    const entry = this.entries.get(jobId);
    return entry && !entry.settling ? entry : undefined;
  }

  /** Jobs in BullMQ's wait list, and jobs a worker holds. */
  phases(): { waiting: number; active: number } {
    let waiting = 0;
    let active = 0;
    for (const e of this.entries.values()) {
      if (e.phase === 'waiting') waiting++;
      else if (e.phase === 'active') active++;
    }
    return { waiting, active };
  }

  /**
   * Runs the one settlement of a job; later events for it are ignored. `freed` runs when BullMQ says the
   * job ended (its worker is free now, while the images are still being collected) and when it settled.
   */
  settle(jobId: string, run: () => Promise<unknown>, freed: () => void): void {
    const entry = this.open(jobId);
    if (!entry) return;
    entry.settling = true;
    entry.phase = 'ended';
    freed();
    const done = run()
      .catch((err: unknown) =>
        this.warn(`settling job ${jobId} failed: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => {
        if (this.entries.get(jobId) === entry) this.entries.delete(jobId);
        if (this.entries.size === 0) this.wakeDrained();
        freed();
      });
    this.track(done);
  }

  /** Every job not yet settling goes back to 'queued' in the JobQueue (BullMQ keeps it). */
  requeueAll(): void {
    for (const [id, entry] of [...this.entries]) {
      if (entry.settling) continue;
      this.entries.delete(id);
      this.track(entry.lease.requeue());
    }
    this.wakeDrained();
  }

  /** Resolves once no job is in flight (requeueAll() also ends the wait). */
  async drained(): Promise<void> {
    while (this.entries.size > 0) await new Promise<void>((r) => this.drainWaiters.push(r));
  }

  /** Resolves once every settlement under way has finished. */
  async settled(): Promise<void> {
    while (this.settlements.size > 0) await Promise.allSettled([...this.settlements]);
  }

  private track(p: Promise<unknown>): void {
    const tracked = p.catch(() => {}).finally(() => this.settlements.delete(tracked));
    this.settlements.add(tracked);
  }

  private wakeDrained(): void {
    for (const wake of this.drainWaiters.splice(0)) wake();
  }
}
