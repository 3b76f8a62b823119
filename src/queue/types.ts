// Job records are plain JSON so another backend (Redis, BullMQ) can hold them unchanged.
import type { GenerateRequest } from '../engine/types.ts';

export interface JobOwner {
  userId: string;
  guildId: string;
  channelId: string;
}

export type JobKind = 'new' | 'reroll' | 'variation' | 'pick';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';

export interface JobResult {
  /** PNG files, one per image, absolute paths under DATA_DIR. */
  images: string[];
  /** 2x2 grid PNG when count > 1. */
  grid?: string;
  seeds: number[];
  model: string;
  elapsedMs: number;
}

export interface JobRecord {
  id: string;
  owner: JobOwner;
  request: GenerateRequest;
  kind: JobKind;
  parentId?: string;
  state: JobState;
  createdAt: number;
  /** Submission order within this store (createdAt can tie within a millisecond); set by the queue. */
  seq?: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: { step: number; total: number };
  result?: JobResult;
  error?: string;
  /** Opaque to the queue: what the front end needs to deliver the result (e.g. an interaction token). */
  delivery?: Record<string, string | number | boolean>;
}
