// The counters submit's limits read: each user's pending jobs, when each user's last job in a server finished
// (the cooldown runs from there: a job still waiting or running is the pending limit's business), submits today
// per server, and the submits still being written. In memory; the daily counts are also stored (usageKey) so that
// a restart keeps them, and the rest is rebuilt from the stored jobs.
import { DAY_MS, utcDay } from './limits.ts';
import type { JobOwner, JobRecord } from './types.ts';

/** Stored daily counts outlive their day by one more, then the store drops them. */
export const USAGE_TTL_MS = 2 * DAY_MS;

/** The store key of a user's submit count in one server on the UTC day of `now`. */
export function usageKey(owner: JobOwner, now: number): string {
  return dayPrefix(now) + userGuild(owner);
}

/** What every usage key of the UTC day of `now` starts with. */
function dayPrefix(now: number): string {
  return `usage:${utcDay(now)}:`;
}

/** One accepted submit whose record is being written: release() once it is stored, undo() if the store refused it. */
export interface Reservation {
  release(): void;
  undo(): void;
}

/** How often forget() runs at most (it walks every entry). */
const SWEEP_EVERY_MS = 60_000;

export class SubmitLedger {
  private readonly pendingByUser = new Map<string, number>();
  private readonly lastFinish = new Map<string, number>();
  private readonly lastPost = new Map<string, number>();
  private readonly usedToday = new Map<string, number>();
  private writing = 0;
  private sweptAt = -Infinity;

  /** @param longestCooldownMs entries older than this can no longer refuse anyone, so they are dropped */
  constructor(private readonly longestCooldownMs: number) {}

  /** Entries held, for tests and metrics: a bot that runs for months must not grow. */
  get size(): number {
    return this.pendingByUser.size + this.lastFinish.size + this.lastPost.size + this.usedToday.size;
  }

  /** Drops what can no longer decide anything: finishes and posts past the longest cooldown, other days' counts. */
  forget(now: number): void {
    if (now - this.sweptAt < SWEEP_EVERY_MS) return;
    this.sweptAt = now;
    for (const map of [this.lastFinish, this.lastPost]) {
      for (const [key, at] of map) if (now - at > this.longestCooldownMs) map.delete(key);
    }
    const today = dayPrefix(now);
    for (const key of this.usedToday.keys()) if (!key.startsWith(today)) this.usedToday.delete(key);
  }

  /** When this user last had a stored image posted in this server (U buttons: no job, their own cooldown). */
  lastPostAt(owner: JobOwner): number | undefined {
    return this.lastPost.get(userGuild(owner));
  }

  notePost(owner: JobOwner, now: number): void {
    this.lastPost.set(userGuild(owner), now);
  }

  /** Queued + running + being-submitted jobs of this user, in all servers (the 'pending' limit). */
  pending(userId: string): number {
    return this.pendingByUser.get(userId) ?? 0;
  }

  /** When this user's latest job in this server finished (done, failed or cancelled). */
  lastFinishedAt(owner: JobOwner): number | undefined {
    return this.lastFinish.get(userGuild(owner));
  }

  noteFinished(owner: JobOwner, at: number): void {
    const key = userGuild(owner);
    if ((this.lastFinish.get(key) ?? -Infinity) < at) this.lastFinish.set(key, at);
  }

  used(key: string): number {
    return this.usedToday.get(key) ?? 0;
  }

  /** Accepted submits whose records are not stored yet: they count against the queue's cap already. */
  get inFlight(): number {
    return this.writing;
  }

  addPending(userId: string, delta: number): void {
    const n = this.pending(userId) + delta;
    if (n <= 0) this.pendingByUser.delete(userId);
    else this.pendingByUser.set(userId, n);
  }

  /** Charges the owner for a submit before its record is written, so that two submits cannot both slip under a limit. */
  reserve(owner: JobOwner, key: string): Reservation {
    const usedBefore = this.used(key);
    this.addPending(owner.userId, 1);
    this.writing++;
    this.usedToday.set(key, usedBefore + 1);
    let open = true;
    const close = (): boolean => {
      if (!open) return false;
      open = false;
      this.writing--;
      return true;
    };
    return {
      release: () => void close(),
      undo: () => {
        if (!close()) return;
        this.addPending(owner.userId, -1);
        this.usedToday.set(key, this.used(key) - 1);
      },
    };
  }

  /** A stored job seen at startup: an active one is pending, a finished one may still hold its owner's cooldown. */
  restoreJob(job: JobRecord, active: boolean): void {
    if (active) this.addPending(job.owner.userId, 1);
    else if (job.finishedAt !== undefined) this.noteFinished(job.owner, job.finishedAt);
  }

  /** A stored daily count seen at startup; counts of other days are ignored. */
  restoreUsage(key: string, value: unknown, now: number): void {
    if (key.startsWith(dayPrefix(now)) && typeof value === 'number') this.usedToday.set(key, value);
  }
}

function userGuild(owner: JobOwner): string {
  return `${owner.guildId}:${owner.userId}`;
}
