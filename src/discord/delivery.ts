// Delivery: everything shown in a job's message after submit — queue position, live previews, the
// final image with its buttons — driven by queue events and the job record alone (delivery data
// lives in JobRecord.delivery), so a restarted bot picks up where the old one stopped.
// One ReplyUpdater per message keeps at most one edit in flight.
import { readFile } from 'node:fs/promises';
import { encodePreview } from '../engine/images.ts';
import type { RawImage } from '../engine/types.ts';
import type { JobProgressEvent, JobRecord } from '../queue/index.ts';
import { endedPayload, finalPayload, progressPayload, queuedPayload, type MessagePayload } from './render.ts';
import { ReplyUpdater, systemClock, type Clock } from './updater.ts';
import { classifyRestError, TokenExpiredError, type Transport } from './transport.ts';
import type { Logger, QueuePort } from './ports.ts';

/** Interaction tokens live 15 minutes; we stop using one a little before, to be safe. */
export const TOKEN_LIFETIME_MS = 15 * 60 * 1000;
const TOKEN_MARGIN_MS = 20_000;

export interface DeliveryInfo {
  applicationId: string;
  token: string;
  createdAt: number;
  channelId: string;
}

export function deliveryInfo(job: JobRecord): DeliveryInfo | undefined {
  const d = job.delivery;
  if (!d || typeof d.applicationId !== 'string' || typeof d.token !== 'string' || typeof d.createdAt !== 'number' || typeof d.channelId !== 'string') return undefined;
  return { applicationId: d.applicationId, token: d.token, createdAt: d.createdAt, channelId: d.channelId };
}

export interface DelivererOptions {
  queue: QueuePort;
  transport: Transport;
  logger: Logger;
  /** Only jobs submitted through this application are ours. */
  applicationId: string;
  /** Base gap between preview edits. Default 1500 ms. */
  previewIntervalMs?: number;
  /** How long an interaction token works (Discord: 15 min; tests shorten it). */
  tokenLifetimeMs?: number;
  clock?: Clock;
}

type Render = () => Promise<MessagePayload>;

interface Tracked {
  updater: ReplyUpdater<Render>;
  info: DeliveryInfo;
}

export class Deliverer {
  private readonly tracked = new Map<string, Tracked>();
  private readonly finals = new Set<Promise<void>>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly clock: Clock;
  /** Largest number of edits ever in flight on one message (bench and tests read it). */
  maxInFlightPerMessage = 0;
  /** Finals that went to the channel because the token had expired or was refused. */
  channelFallbacks = 0;

  constructor(private readonly options: DelivererOptions) {
    this.clock = options.clock ?? systemClock;
  }

  start(): void {
    const q = this.options.queue;
    this.unsubscribe.push(
      q.on('progress', (e) => this.onProgress(e)),
      q.on('done', (job) => this.settle(job)),
      q.on('failed', (job) => this.settle(job)),
      q.on('cancelled', (job) => this.settle(job)),
    );
  }

  /** Stops listening and waits (bounded) for finals already under way. */
  async stop(waitMs = 5000): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    for (const t of this.tracked.values()) t.updater.close();
    // Edits still in flight settle first, so a restarted bot never overlaps its first edit with ours.
    const pending = Promise.allSettled([...this.finals, ...[...this.tracked.values()].map((t) => t.updater.idle())]);
    await Promise.race([pending, new Promise((r) => setTimeout(r, waitMs).unref())]);
    this.tracked.clear();
  }

  /** A job we just submitted: show where it stands in line. */
  track(job: JobRecord): void {
    const tracked = this.ensure(job);
    if (!tracked) return;
    const position = this.options.queue.position(job.id);
    if (position && position.position > 0) {
      tracked.updater.push(async () => queuedPayload(job, position.position, position.startsInMs));
    } else if (position) {
      tracked.updater.push(async () => progressPayload(job, 0, job.request.steps, position.etaMs));
    }
  }

  private ensure(job: JobRecord): Tracked | undefined {
    const existing = this.tracked.get(job.id);
    if (existing) return existing;
    const info = deliveryInfo(job);
    if (!info || info.applicationId !== this.options.applicationId) return undefined;
    const updater = new ReplyUpdater<Render>({
      edit: async (render) => {
        if (this.tokenExpired(info)) throw new TokenExpiredError(`interaction token for job ${job.id} is older than 15 minutes`);
        const payload = await render();
        const before = updater.inFlight;
        this.maxInFlightPerMessage = Math.max(this.maxInFlightPerMessage, before);
        await this.options.transport.editOriginal(info.applicationId, info.token, payload);
      },
      classify: classifyRestError,
      intervalMs: this.options.previewIntervalMs ?? 1500,
      clock: this.clock,
      onPreviewError: (error) => this.options.logger.warn({ jobId: job.id, err: describe(error) }, 'preview edit failed (dropped)'),
    });
    const tracked = { updater, info };
    this.tracked.set(job.id, tracked);
    return tracked;
  }

  private tokenExpired(info: DeliveryInfo): boolean {
    const lifetime = this.options.tokenLifetimeMs ?? TOKEN_LIFETIME_MS;
    return this.clock.now() > info.createdAt + lifetime - Math.min(TOKEN_MARGIN_MS, lifetime / 10);
  }

  private onProgress(event: JobProgressEvent): void {
    const tracked = this.ensure(event.job);
    if (!tracked || this.tokenExpired(tracked.info)) return;
    const { job, step, total, etaMs } = event;
    const preview: RawImage | undefined = event.preview;
    // Encoding happens only when the slot is actually sent: dropped previews cost nothing.
    tracked.updater.push(async () => progressPayload(job, step, total, Math.max(0, etaMs), preview ? await encodePreview(preview) : undefined));
  }

  private settle(job: JobRecord): void {
    const tracked = this.ensure(job);
    if (!tracked) return;
    this.tracked.delete(job.id);
    const final = this.deliverFinal(job, tracked).catch((error) => {
      this.options.logger.error({ jobId: job.id, err: describe(error) }, 'could not deliver the result');
    });
    this.finals.add(final);
    void final.finally(() => this.finals.delete(final));
  }

  private async deliverFinal(job: JobRecord, tracked: Tracked): Promise<void> {
    const payload = await this.finalFor(job);
    const { info, updater } = tracked;
    const started = this.clock.now();
    try {
      // Known dead token: do not wait out a rate limit only to be refused.
      if (this.tokenExpired(info)) throw new TokenExpiredError(`interaction token for job ${job.id} is older than its lifetime`);
      await updater.finish(async () => payload);
      this.maxInFlightPerMessage = Math.max(this.maxInFlightPerMessage, updater.maxInFlight);
    } catch (error) {
      updater.close();
      if (classifyRestError(error).kind !== 'fatal') throw error;
      // Token expired (or refused): a bot message in the channel, mentioning the owner.
      this.channelFallbacks++;
      const mention = { ...payload, content: `<@${job.owner.userId}> your image is ready.\n${payload.content}`.slice(0, 2000) };
      const messageId = await this.retrying(() => this.options.transport.postToChannel(info.channelId, mention, job.owner.userId));
      await this.options.queue.setDelivery(job.id, { ...job.delivery, channelMessageId: messageId }).catch(() => undefined);
    }
    if (job.state === 'failed' && !this.tokenExpired(info)) {
      await this.options.transport
        .ephemeralFollowUp(info.applicationId, info.token, `Your image could not be made: ${job.error ?? 'unknown error'}. Try again, perhaps with fewer steps or a smaller size; if it keeps failing, tell a moderator.`)
        .catch((error) => this.options.logger.warn({ jobId: job.id, err: describe(error) }, 'failure follow-up not sent'));
    }
    this.options.logger.info({ jobId: job.id, state: job.state, deliveryMs: this.clock.now() - started }, 'result delivered');
  }

  private async finalFor(job: JobRecord): Promise<MessagePayload> {
    if (job.state === 'cancelled') return endedPayload(job, 'Cancelled.');
    if (job.state === 'failed') return endedPayload(job, `Failed: ${job.error ?? 'unknown error'}. Try again, perhaps with fewer steps or a smaller size.`);
    const result = job.result;
    if (!result || result.images.length === 0) return endedPayload(job, 'Finished, but the images are missing.');
    const path = result.grid ?? result.images[0];
    const data = await readFile(path);
    return finalPayload(job, { name: result.grid ? 'grid.png' : 'image.png', data }, result.images.length);
  }

  /** Channel posts: same backoff rules as the final edit. */
  private async retrying<T>(call: () => Promise<T>, attempts = 6): Promise<T> {
    let delay = 500;
    for (let i = 1; ; i++) {
      try {
        return await call();
      } catch (error) {
        const failure = classifyRestError(error);
        if (failure.kind === 'fatal' || i >= attempts) throw error;
        const wait = failure.kind === 'rateLimit' ? failure.retryAfterMs : delay;
        delay *= 2;
        await new Promise((r) => this.clock.setTimeout(() => r(undefined), wait));
      }
    }
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
