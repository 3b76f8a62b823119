// The bot side's Redis plumbing for the Dispatcher: opening its connections, adding a job to BullMQ, and
// collecting a finished job's images from Redis into the bot's results folder. A worker is another
// machine, so what it sends is checked like any input before it shapes a record.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { MAX_SEED } from '../../engine/noise.ts';
import type { JobRecord, JobResult } from '../types.ts';
import { writeMediaFile } from '../media-jobs.ts';
import { cancelChannel, cancelKey, JOB_NAME, resultKey, wireJob, type WireJob, type WireResult } from './protocol.ts';

/** The BullMQ backend could not take a job. */
export class DispatchError extends Error {
  override name = 'DispatchError';
}

/** A command connection, the BullMQ queue and its event reader, all ready (rejects with DispatchError). */
export async function connect(
  redisUrl: string,
  queueName: string,
  prefix: string,
): Promise<{ redis: Redis; bull: Queue; events: QueueEvents }> {
  const connection = { url: redisUrl };
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  let bull: Queue | undefined;
  let events: QueueEvents | undefined;
  try {
    await redis.connect();
    // Read events from the stream's current end, fixed now: '$' would be taken when the first read
    // is issued, and a job finished between this open and that read would never be heard of.
    const [last] = await redis.xrevrange(`${prefix}:${queueName}:events`, '+', '-', 'COUNT', 1);
    bull = new Queue(queueName, { connection, prefix });
    events = new QueueEvents(queueName, {
      connection: { ...connection },
      prefix,
      autorun: false,
      lastEventId: last?.[0] ?? '0',
    });
    await Promise.all([bull.waitUntilReady(), events.waitUntilReady()]);
    return { redis, bull, events };
  } catch (err) {
    await Promise.allSettled([bull?.close(), events?.close(), redis.quit()]);
    throw new DispatchError(
      `could not reach Redis for the BullMQ queue: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
}

/**
 * Adds the job under our id (a re-add after a bot restart is a no-op on a job BullMQ already has) and
 * says where it is; a finished one comes with its stored outcome.
 */
export async function addToBull(
  bull: Queue,
  job: JobRecord,
  keepFinishedMs: number,
): Promise<{ state: string; returnvalue?: WireResult; failedReason?: string }> {
  const data: WireJob = { job: wireJob(job) };
  if (job.request.init) data.initPng = (await readFile(job.request.init.imagePath)).toString('base64');
  const keep = { age: Math.ceil(keepFinishedMs / 1000) };
  const added = await bull.add(JOB_NAME, data, {
    jobId: job.id,
    attempts: 1,
    removeOnComplete: keep,
    removeOnFail: keep,
  });
  const state = await added.getState();
  if (state !== 'completed' && state !== 'failed') return { state };
  const stored = await bull.getJob(job.id);
  return { state, returnvalue: stored?.returnvalue as WireResult | undefined, failedReason: stored?.failedReason };
}

/**
 * Marks the job cancelled (the key first: a worker that takes it after this point skips it), then
 * removes it from the wait list when it waits there, else tells the worker running it through pub/sub.
 */
export async function cancelInBull(
  redis: Redis,
  bull: Queue,
  where: { prefix: string; queueName: string; keepMs: number },
  jobId: string,
  waiting: boolean,
): Promise<'removed' | 'signalled'> {
  await redis.set(cancelKey(where.prefix, jobId), '1', 'PX', where.keepMs);
  if (waiting && (await bull.remove(jobId).catch(() => 0)) === 1) return 'removed';
  await redis.publish(cancelChannel(where.prefix, where.queueName), jobId);
  return 'signalled';
}

/** Workers announce themselves with an expiry score; the ones not expired are live. */
export async function countLiveWorkers(redis: Redis, key: string): Promise<number> {
  const replies = await redis.multi().zremrangebyscore(key, '-inf', Date.now()).zcard(key).exec();
  return Number(replies?.[1]?.[1] ?? 0);
}

function checkWire(wire: WireResult | undefined): asserts wire is WireResult {
  const show = (v: unknown) => JSON.stringify(v)?.slice(0, 200);
  if (!wire || !Number.isInteger(wire.images) || wire.images < 0 || wire.images > 16) {
    throw new DispatchError(`expected a result description from the worker, got ${show(wire)}`);
  }
  if (!Array.isArray(wire.seeds) || !wire.seeds.every((s) => Number.isInteger(s) && s >= 0 && s <= MAX_SEED)) {
    throw new DispatchError(`expected the worker's seeds as whole numbers, got ${show(wire.seeds)}`);
  }
  if (
    wire.flagged !== undefined &&
    !(
      Array.isArray(wire.flagged) &&
      wire.flagged.length === wire.images &&
      wire.flagged.every((f) => typeof f === 'boolean')
    )
  )
    throw new DispatchError(`expected one safety flag per image from the worker, got ${show(wire.flagged)}`);
  if (typeof wire.model !== 'string' || wire.model.length > 200)
    throw new DispatchError('expected the worker to name its model in at most 200 characters');
}

/** Copies the worker's PNGs (and media) from Redis into `dir`; the caller deletes `keys` once 'done' is stored. */
export async function collectResults(
  redis: Redis,
  prefix: string,
  dir: string,
  jobId: string,
  wire: WireResult | undefined,
): Promise<{ result: JobResult; keys: string[] }> {
  checkWire(wire);
  const names = [...Array.from({ length: wire.images }, (_, i) => String(i)), ...(wire.grid ? ['grid'] : [])];
  const keys = names.map((n) => resultKey(prefix, jobId, n));
  const buffers = await Promise.all(keys.map((k) => redis.getBuffer(k)));
  const missing = names.filter((_, i) => !buffers[i]);
  if (missing.length > 0)
    throw new DispatchError(`images ${missing.join(', ')} of job ${jobId} are not in Redis (expired?)`);
  await mkdir(dir, { recursive: true });
  const paths = names.map((n) => join(dir, `${n}.png`));
  await Promise.all(paths.map((p, i) => writeFile(p, buffers[i]!)));
  const result: JobResult = {
    images: paths.slice(0, wire.images),
    ...(wire.grid ? { grid: paths[wire.images] } : {}),
    seeds: wire.seeds,
    model: wire.model,
    elapsedMs: Math.round(wire.engineMs),
    ...(wire.flagged ? { flagged: wire.flagged } : {}),
  };
  if (wire.media) {
    // The timelapse WebP or diffusion strip, kept with the job like its PNGs.
    const key = resultKey(prefix, jobId, 'media');
    const data = await redis.getBuffer(key);
    if (!data) throw new DispatchError(`the ${wire.media.name} of job ${jobId} is not in Redis (expired?)`);
    result.media = await writeMediaFile(dir, { data, name: wire.media.name, caption: wire.media.caption });
    keys.push(key);
  }
  return { result, keys };
}
