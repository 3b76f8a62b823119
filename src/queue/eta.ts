// Step-time estimates for positions and ETAs: an exponential moving average of measured
// milliseconds per step (whole job time / steps, so encoding and decoding are included), per image count.

import type { JobRecord } from './types.ts';

export class StepTimes {
  private readonly perCount = new Map<number, number>();

  /** `defaultStepMs` is used until the first job of any count has been measured. */
  constructor(
    private readonly defaultStepMs = 250,
    private readonly alpha = 0.3,
  ) {}

  record(count: number, steps: number, elapsedMs: number): void {
    if (!(steps > 0) || !(elapsedMs >= 0)) return;
    const sample = elapsedMs / steps;
    const old = this.perCount.get(count);
    this.perCount.set(count, old === undefined ? sample : old + this.alpha * (sample - old));
  }

  /** Estimated ms per step for a job of `count` images; scales a measured count linearly when this one is unseen. */
  stepMs(count: number): number {
    const own = this.perCount.get(count);
    if (own !== undefined) return own;
    let best: [number, number] | undefined;
    for (const [c, ms] of this.perCount) if (!best || Math.abs(c - count) < Math.abs(best[0] - count)) best = [c, ms];
    return best ? (best[1] * count) / best[0] : this.defaultStepMs * count;
  }

  /** Estimated ms for the whole job. */
  estimateMs(job: Pick<JobRecord, 'request'>): number {
    return job.request.steps * this.stepMs(job.request.count);
  }

  /** Estimated ms the job still needs: by its progress, and never more than its estimate less the time it has run. */
  remainingMs(job: Pick<JobRecord, 'request' | 'startedAt' | 'progress'>, now: number): number {
    const total = this.estimateMs(job);
    const elapsed = job.startedAt !== undefined ? now - job.startedAt : 0;
    const byProgress = job.progress
      ? ((job.progress.total - job.progress.step) / Math.max(1, job.progress.total)) * total
      : total;
    return Math.max(0, Math.min(byProgress, total - elapsed) || byProgress);
  }

  /** Measured averages, for stats. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.perCount].map(([c, ms]) => [String(c), Math.round(ms * 10) / 10]));
  }
}
