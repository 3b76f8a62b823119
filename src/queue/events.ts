// The queue's typed events (one listener interface, as BullMQ's QueueEvents) and a small emitter
// that keeps a throwing listener from breaking the worker.
import type { RawImage } from '../engine/types.ts';
import type { JobRecord } from './types.ts';

export interface JobProgressEvent {
  job: JobRecord;
  /** 1-based step just finished, and the job's total steps. */
  step: number;
  total: number;
  /** Small RGB preview of the predicted clean image, when the engine made one. */
  preview?: RawImage;
  /** With a safety checker: whether it flagged that preview. */
  previewFlagged?: boolean;
  /** Estimated milliseconds until this job finishes. */
  etaMs: number;
}

/** Every event the queue emits. Each listener gets its own copy of the record (safe to keep). */
export interface JobQueueEvents {
  /** Accepted and persisted. */
  queued: (job: JobRecord) => void;
  /** The worker took it (state 'running'). */
  started: (job: JobRecord) => void;
  progress: (event: JobProgressEvent) => void;
  /** Persisted as 'done' with its result before this fires. */
  done: (job: JobRecord) => void;
  /** Engine error or timeout; `job.error` says why. */
  failed: (job: JobRecord) => void;
  cancelled: (job: JobRecord) => void;
  /** A running job went back to the front of its owner's line (worker stopped with requeue). */
  requeued: (job: JobRecord) => void;
}

export type JobQueueEventName = keyof JobQueueEvents;

export class TypedEmitter<Events extends { [K in keyof Events]: (...args: never[]) => void }> {
  private readonly listeners = new Map<keyof Events, Set<Events[keyof Events]>>();

  /** Subscribes; returns the function that unsubscribes. */
  on<E extends keyof Events>(event: E, listener: Events[E]): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => this.off(event, listener);
  }

  off<E extends keyof Events>(event: E, listener: Events[E]): void {
    this.listeners.get(event)?.delete(listener);
  }

  listenerCount(event: keyof Events): number {
    return this.listeners.get(event)?.size ?? 0;
  }

  protected emit<E extends keyof Events>(event: E, ...args: Parameters<Events[E]>): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        (listener as (...a: Parameters<Events[E]>) => void)(...args);
      } catch (err) {
        // A front-end bug must not stop the GPU worker; surface it as a process warning instead.
        process.emitWarning(
          `a '${String(event)}' listener threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`,
          'JobQueueListenerWarning',
        );
      }
    }
  }
}
