// Delivery: everything shown in a job's message after submit — queue position, live previews, the
// final image with its buttons — driven by queue events and the job record alone (delivery data
// lives in JobRecord.delivery), so a restarted bot picks up where the old one stopped.
// One ReplyUpdater per message keeps at most one edit in flight. A job's record says
// `delivery.delivered: false` until its final message landed; resume() at start delivers the finals owed
// (jobs that ended while no bot was running) and refreshes what waiting jobs' messages show.
import { encodePreview } from '../engine/images.ts';
import type { RawImage } from '../engine/types.ts';
import type { JobProgressEvent, JobRecord } from '../queue/index.ts';
import { progressPayload, queuedPayload, type MessagePayload } from './render.ts';
import { ReplyUpdater, systemClock, type Clock } from './updater.ts';
import { classifyRestError, retrying, TokenExpiredError, type Transport } from './transport.ts';
import type { Logger, QueuePort, SettingsPort } from './ports.ts';
import { finalSafety } from './safety.ts';
import { attachmentLimitOf } from './display-image.ts';
import { finalMessage } from './final-message.ts';
import { failureText } from './failure.ts';

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
  if (
    !d ||
    typeof d.applicationId !== 'string' ||
    typeof d.token !== 'string' ||
    typeof d.createdAt !== 'number' ||
    typeof d.channelId !== 'string'
  )
    return undefined;
  return { applicationId: d.applicationId, token: d.token, createdAt: d.createdAt, channelId: d.channelId };
}

export interface DelivererOptions {
  queue: QueuePort;
  /** Each server's settings: what a flagged image becomes in a channel (defaults when absent). */
  settings?: SettingsPort;
  transport: Transport;
  logger: Logger;
  /** Only jobs submitted through this application are ours. */
  applicationId: string;
  /** Base gap between preview edits. Default 1500 ms. */
  previewIntervalMs?: number;
  /** How long an interaction token works (Discord: 15 min; tests shorten it). */
  tokenLifetimeMs?: number;
  /** How often finals that could not be sent are tried again (by then perhaps as a channel post). Default 60 s. */
  retryOwedMs?: number;
  /** Tries for one final edit (and one channel post) before it waits for the sweep. Default 8 (6 for posts). */
  finalAttempts?: number;
  /** Short side results are shown at (display-image.ts). Default 512. */
  displaySide?: number;
  clock?: Clock;
}

type Render = () => Promise<MessagePayload>;

interface Tracked {
  updater: ReplyUpdater<Render>;
  info: DeliveryInfo;
  /** A preview with an image has been handed to the updater. */
  previewShown: boolean;
}

export class Deliverer {
  private readonly tracked = new Map<string, Tracked>();
  private readonly finals = new Set<Promise<void>>();
  /** Jobs whose final this process has taken on (a job ending during resume() must not be sent twice). */
  private readonly settledIds = new Set<string>();
  private readonly unsubscribe: (() => void)[] = [];
  /** Finals that failed after their retries; the sweep sends them again. */
  private readonly owed = new Map<string, JobRecord>();
  private sweepTimer?: NodeJS.Timeout;
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
    this.sweepTimer = setInterval(() => this.retryOwed(), this.options.retryOwedMs ?? 60_000);
    this.sweepTimer.unref();
  }

  /** Finals owed after a failed delivery, waiting for the next sweep. */
  get owedCount(): number {
    return this.owed.size;
  }

  /** Sends the owed finals again; once their token has expired they go to the channel instead. */
  private retryOwed(): void {
    for (const [id, job] of this.owed) {
      if (this.settledIds.has(id)) continue;
      this.owed.delete(id);
      this.settle(job);
    }
  }

  /**
   * After start(): re-attaches to what the queue says is still owed — finals of jobs that ended while no
   * bot was running (sent once), and the position or progress of every queued or running job.
   * Returns how many jobs it picked up.
   */
  async resume(): Promise<number> {
    const pending = await this.options.queue.pendingDeliveries();
    let picked = 0;
    for (const job of pending) {
      const info = deliveryInfo(job);
      if (!info || info.applicationId !== this.options.applicationId) continue;
      picked++;
      if (job.state === 'queued' || job.state === 'running') this.track(job);
      else this.settle(job);
    }
    if (picked > 0) this.options.logger.info({ jobs: picked }, 'resumed delivery of jobs from before the restart');
    return picked;
  }

  /** Stops listening and waits (bounded) for finals already under way. */
  async stop(waitMs = 5000): Promise<void> {
    for (const off of this.unsubscribe.splice(0)) off();
    clearInterval(this.sweepTimer);
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
        if (this.tokenExpired(info))
          throw new TokenExpiredError(`interaction token for job ${job.id} is older than 15 minutes`);
        const payload = await render();
        const before = updater.inFlight;
        this.maxInFlightPerMessage = Math.max(this.maxInFlightPerMessage, before);
        await this.options.transport.editOriginal(info.applicationId, info.token, payload);
      },
      classify: classifyRestError,
      intervalMs: this.options.previewIntervalMs ?? 1500,
      ...(this.options.finalAttempts ? { finalAttempts: this.options.finalAttempts } : {}),
      clock: this.clock,
      onPreviewError: (error) =>
        this.options.logger.warn({ jobId: job.id, err: describe(error) }, 'preview edit failed (dropped)'),
    });
    const tracked: Tracked = { updater, info, previewShown: false };
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
    // A flagged preview is never shown, whatever the channel allows: the final says what happened.
    const preview: RawImage | undefined = event.previewFlagged ? undefined : event.preview;
    // Encoding happens only when the slot is actually sent: dropped previews cost nothing.
    const limit = attachmentLimitOf(job);
    // The first preview with an image skips the cadence: a job faster than one edit still shows a step.
    const first = preview !== undefined && !tracked.previewShown;
    if (first) tracked.previewShown = true;
    tracked.updater.push(async () => {
      const image = preview ? await encodePreview(preview) : undefined;
      // A preview over the upload limit is left out rather than refused with the whole edit.
      return progressPayload(job, step, total, Math.max(0, etaMs), image && image.length <= limit ? image : undefined);
    }, first);
  }

  private settle(job: JobRecord): void {
    if (this.settledIds.has(job.id)) return;
    const tracked = this.ensure(job);
    if (!tracked) return;
    this.tracked.delete(job.id);
    this.settledIds.add(job.id);
    let failed = false;
    const final = this.deliverFinal(job, tracked).catch((error) => {
      failed = true;
      this.options.logger.error(
        { jobId: job.id, err: describe(error) },
        'could not deliver the result; the sweep will try again',
      );
    });
    this.finals.add(final);
    void final.finally(() => {
      this.finals.delete(final);
      if (failed) {
        // Never left at its last preview: the sweep sends it again (as a channel post once the token is gone).
        this.settledIds.delete(job.id);
        this.owed.set(job.id, job);
        return;
      }
      // Kept a while so a resume() that read the record before it was marked delivered skips it.
      setTimeout(() => this.settledIds.delete(job.id), 60_000).unref();
    });
  }

  private async deliverFinal(job: JobRecord, tracked: Tracked): Promise<void> {
    const safety = await finalSafety(this.options.settings, job, this.options.logger);
    const payload = await finalMessage(job, this.options.displaySide, safety);
    const { info, updater } = tracked;
    const started = this.clock.now();
    let channelMessageId: string | undefined;
    try {
      // Known dead token: do not wait out a rate limit only to be refused.
      if (this.tokenExpired(info))
        throw new TokenExpiredError(`interaction token for job ${job.id} is older than its lifetime`);
      await updater.finish(async () => payload);
      this.maxInFlightPerMessage = Math.max(this.maxInFlightPerMessage, updater.maxInFlight);
    } catch (error) {
      updater.close();
      if (classifyRestError(error).kind !== 'fatal') throw error;
      // Token expired (or refused): a bot message in the channel, mentioning the owner.
      this.channelFallbacks++;
      const mention = {
        ...payload,
        content: `<@${job.owner.userId}> your image is ready.\n${payload.content}`.slice(0, 2000),
      };
      const messageId = await retrying(this.clock, this.options.finalAttempts ?? 6, () =>
        this.options.transport.postToChannel(info.channelId, mention, job.owner.userId),
      );
      channelMessageId = messageId;
    }
    // Recorded once the message landed, so a restart neither loses nor repeats it.
    const owed = job.delivery?.delivered === false;
    if (channelMessageId !== undefined || owed) {
      const record: Record<string, string | number | boolean> = { ...job.delivery };
      if (owed) record.delivered = true;
      if (channelMessageId !== undefined) record.channelMessageId = channelMessageId;
      await this.options.queue
        .setDelivery(job.id, record)
        .catch((error) =>
          this.options.logger.warn({ jobId: job.id, err: describe(error) }, 'could not record the delivery'),
        );
    }
    if (job.state === 'failed' && !this.tokenExpired(info)) {
      await this.options.transport
        .ephemeralFollowUp(
          info.applicationId,
          info.token,
          `Your image could not be made: ${failureText(job)}. Try again, perhaps with fewer steps or a smaller size; if it keeps failing, tell a moderator.`,
        )
        .catch((error) =>
          this.options.logger.warn({ jobId: job.id, err: describe(error) }, 'failure follow-up not sent'),
        );
    }
    this.options.logger.info(
      { jobId: job.id, state: job.state, deliveryMs: this.clock.now() - started },
      'result delivered',
    );
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
