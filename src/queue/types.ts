// Job records are plain JSON so another backend (Redis, BullMQ) can hold them unchanged.
import type { GenerateRequest } from '../engine/types.ts';

export interface JobOwner {
  userId: string;
  guildId: string;
  channelId: string;
}

// 'timelapse' (🎞: the film of a re-run) and 'diffusion' (/diffusion strip) make one file, not images.
export type JobKind =
  | 'new'
  | 'reroll'
  | 'variation'
  | 'pick'
  | 'timelapse'
  | 'diffusion'
  | 'remix'
  | 'upscale'
  | 'recipe';
export type JobState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled';
/**
 * Why a job failed, for the message its user sees (the details are in `error` and the log): it ran too
 * long, the engine refused or broke, the engine's thread kept dying, this bot cannot make that kind of
 * job, something of ours (saving, a worker's answer), or its model (MODELS_DIR) could not be loaded.
 */
export const FAILURE_CODES = ['timeout', 'engine', 'engine_crash', 'unavailable', 'internal', 'model'] as const;
export type FailureCode = (typeof FAILURE_CODES)[number];

export interface JobResult {
  /** PNG files, one per image, absolute paths under DATA_DIR. */
  images: string[];
  /** 2x2 grid PNG when count > 1. */
  grid?: string;
  seeds: number[];
  model: string;
  elapsedMs: number;
  /** Timelapse WebP or diffusion strip (images is empty for 'timelapse' and 'diffusion' jobs). */
  media?: JobMedia;
  /** The model's safety checker's verdict, one per image (absent when the model has none). */
  flagged?: boolean[];
}

/** Optional extras of a job (--video, the attachment limit, an image index); absent when none applies. */
export interface JobExtras {
  /** --video: also film this job's own run and post it with the image. */
  video?: boolean;
  /** Largest attachment in bytes (the interaction's attachment_size_limit); default 10 MiB. */
  attachmentLimit?: number;
  /** 0-based image of the request a timelapse or diffusion job shows (default: all / the first). */
  index?: number;
  /** The picture an image-to-image job starts from, as the user named it (the file is `request.init`). */
  source?: { name: string };
  /** The job was asked for in a channel Discord marks age-restricted (what its safety mode may allow). */
  ageRestricted?: boolean;
  /** The server style /imagine applied (its template is already in the prompt). */
  style?: string;
}

/** A file made besides (or instead of) the PNGs: the timelapse WebP or the diffusion strip. */
export interface JobMedia {
  /** Absolute path in the job's results folder (pruned with the job). */
  path: string;
  name: string;
  /** Plain-language text posted with it. */
  caption: string;
}

/** What running a job needs: no owner, no delivery data (a remote GPU worker gets exactly this). */
export type RunnableJob = Pick<JobRecord, 'id' | 'kind' | 'request' | 'extras'>;

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
  /** Set with `error` when the job failed. */
  failure?: FailureCode;
  /** Opaque to the queue: what the front end needs to deliver the result (e.g. an interaction token). */
  delivery?: Record<string, string | number | boolean>;
  extras?: JobExtras;
}
