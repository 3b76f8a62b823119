// What travels through Redis between the dispatcher (bot side) and the GPU workers: BullMQ job data,
// progress and return values are plain JSON; result PNGs go to their own keys (binary, with a TTL) so
// the event stream never carries images bigger than a preview.
import type { RawImage } from '../../engine/types.ts';
import { FAILURE_CODES, type FailureCode, type JobRecord, type RunnableJob } from '../types.ts';

/** BullMQ queue name shared by the dispatcher and every worker. */
export const DEFAULT_QUEUE_NAME = 'emojiforge-generate';
/** BullMQ key prefix (the namespace in Redis). */
export const DEFAULT_PREFIX = 'emojiforge-bull';
/** With several models, each has its queue, and a worker joins the queues of the models it serves. */
export function modelQueueName(model: string): string {
  return `${DEFAULT_QUEUE_NAME}.${model}`;
}

/** The one BullMQ job name we use. */
export const JOB_NAME = 'generate';

/**
 * BullMQ job data: only what running the job takes. No owner and no delivery data (the interaction token
 * is a credential; a GPU worker needs no Discord secret), no host path (the source image travels inline).
 */
export interface WireJob {
  job: RunnableJob;
  /** Image-to-image source, inlined because the worker may be on another machine (base64 PNG). */
  initPng?: string;
}

/** job.updateProgress payload. */
export interface WireProgress {
  step: number;
  total: number;
  /** Sent at most every previewIntervalMs; RGB bytes base64. */
  preview?: { width: number; height: number; data: string };
  /** With a safety checker: its verdict on that preview. */
  flagged?: boolean;
}

/** The worker's return value; the PNG bytes are under resultKey(prefix, jobId, name). */
export interface WireResult {
  /** Number of images stored as '0', '1', ...; a grid is stored as 'grid' when `grid` is true. */
  images: number;
  grid: boolean;
  seeds: number[];
  model: string;
  engineMs: number;
  /** Worker name, for logs. */
  worker: string;
  /** The safety checker's verdict, one per image (absent without one). */
  flagged?: boolean[];
  /** Timelapse / diffusion file (the timelapse WebP or the diffusion strip), stored under resultKey(prefix, jobId, 'media'). */
  media?: { name: string; caption: string };
}

/** The wire form of a job record: what a worker runs, nothing else. */
export function wireJob(record: JobRecord): RunnableJob {
  const { init, ...request } = structuredClone(record.request);
  return {
    id: record.id,
    kind: record.kind,
    request: init ? { ...request, init: { ...init, imagePath: 'init.png' } } : request,
    ...(record.extras ? { extras: structuredClone(record.extras) } : {}),
  };
}

export function resultKey(prefix: string, jobId: string, name: string): string {
  return `${prefix}:result:${jobId}:${name}`;
}

/** Set (with a TTL) when a running job is cancelled, so a worker that picks it up later skips it. */
export function cancelKey(prefix: string, jobId: string): string {
  return `${prefix}:cancel:${jobId}`;
}

/** Sorted set of live workers (score = when their announcement expires); the dispatcher counts it. */
export function workersKey(prefix: string, queueName: string): string {
  return `${prefix}:${queueName}:workers`;
}

/** Pub/sub channel on which the dispatcher announces cancellations to every worker. */
export function cancelChannel(prefix: string, queueName: string): string {
  return `${prefix}:${queueName}:cancel`;
}

export function encodePreview(image: RawImage): WireProgress['preview'] {
  return {
    width: image.width,
    height: image.height,
    data: Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength).toString('base64'),
  };
}

export function decodePreview(wire: NonNullable<WireProgress['preview']>): RawImage {
  const bytes = Buffer.from(wire.data, 'base64');
  return {
    width: wire.width,
    height: wire.height,
    data: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
  };
}

/** A processor error that names the job's fate; the dispatcher decides by its own state, not by text. */
export const CANCELLED_REASON = 'cancelled';

/** A worker's failure as BullMQ's failedReason: the code and the details, as JSON. */
export function encodeFailure(code: FailureCode, message: string): string {
  return JSON.stringify({ code, message });
}

/** Reads encodeFailure's form; any other text (an older worker, BullMQ itself) is an engine failure with that text. */
export function decodeFailure(reason: string | undefined): { code: FailureCode; message: string } {
  try {
    const parsed = JSON.parse(reason ?? '') as { code?: unknown; message?: unknown };
    if ((FAILURE_CODES as readonly unknown[]).includes(parsed.code) && typeof parsed.message === 'string')
      return { code: parsed.code as FailureCode, message: parsed.message };
  } catch {
    // not ours
  }
  return { code: 'engine', message: reason || 'the job failed on a worker' };
}
