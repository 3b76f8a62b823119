// Taking jobs in: a submit passes every limit and is persisted before it joins its owner's line; a post
// without a job passes the channel rules and its own cooldown; a cancel takes a queued job out (or aborts
// a running one) for its owner or a moderator.
import type { GenerateRequest } from '../engine/types.ts';
import type { JobKind, JobOwner, JobRecord } from './types.ts';
import type { GuildSettingsStore } from './settings.ts';
import { checkChannel, checkCooldown, checkSubmit, type UsageSnapshot } from './limits.ts';
import { USAGE_TTL_MS, usageKey } from './usage.ts';
import { newJobId } from './job-id.ts';
import { fitDefaults, policyFor, type GivenFields } from './request-policy.ts';
import { JobCancelledError, JobNotFoundError, JobStateError, PermissionError, SubmitError } from './errors.ts';
import { jobKey, type QueueState } from './queue-state.ts';

const JOB_KINDS: readonly JobKind[] = [
  'new',
  'reroll',
  'variation',
  'pick',
  'timelapse',
  'diffusion',
  'remix',
  'upscale',
  'recipe',
];

export interface SubmitInput {
  owner: JobOwner;
  /** Stored exactly as given and run as is: pick the seed before submitting. */
  request: GenerateRequest;
  /** Default 'new'. */
  kind?: JobKind;
  /** The job whose parameters this one derives from (reroll, variation, pick). */
  parentId?: string;
  /** Opaque to the queue; kept in the record for the front end (e.g. interaction token, message id). */
  delivery?: JobRecord['delivery'];
  /** --video, attachment limit, image index. */
  extras?: JobRecord['extras'];
  /** Which values the user chose; the others are defaults, fitted under the server's policy first. */
  given?: GivenFields;
}

export interface CancelBy {
  userId: string;
  /** The caller decides (Discord permissions, settings.moderatorRoleIds). */
  isModerator: boolean;
}

function checkInput(input: SubmitInput): JobKind {
  const { owner, request } = input;
  for (const k of ['userId', 'guildId', 'channelId'] as const) {
    if (typeof owner?.[k] !== 'string' || owner[k] === '') {
      throw new SubmitError(`expected owner.${k} to be a non-empty string, got ${JSON.stringify(owner?.[k])}`);
    }
  }
  const kind = input.kind ?? 'new';
  if (!JOB_KINDS.includes(kind))
    throw new SubmitError(`expected kind to be one of ${JOB_KINDS.join(', ')}, got ${JSON.stringify(kind)}`);
  if (request === null || typeof request !== 'object')
    throw new SubmitError(`expected a request object, got ${JSON.stringify(request)}`);
  return kind;
}

/** Checks every limit, persists the new record, then queues it and emits 'queued'. */
export async function submitJob(
  state: QueueState,
  settingsStore: GuildSettingsStore,
  maxQueued: number,
  input: SubmitInput,
): Promise<JobRecord> {
  const kind = checkInput(input);
  const { owner } = input;
  // The one settings read of a submit: defaults are fitted and limits checked against the same values.
  const settings = await settingsStore.get(owner.guildId);
  const request = input.given ? fitDefaults(input.request, input.given, policyFor(settings)) : input.request;

  // From here to the reservation nothing awaits, so two submits cannot both slip under a limit.
  const now = state.clock();
  const { ledger } = state;
  ledger.forget(now);
  const usage = usageKey(owner, now);
  const snapshot: UsageSnapshot = {
    pending: ledger.pending(owner.userId),
    pendingFreesAt: state.pendingFreesAt(owner.userId, now),
    lastFinishedAt: ledger.lastFinishedAt(owner),
    usedToday: ledger.used(usage),
    queued: state.fair.size + ledger.inFlight,
    maxQueued,
    queueFreesAt: state.queueFreesAt(now),
  };
  checkSubmit(settings, owner, request, snapshot, now);

  const job: JobRecord = {
    id: newJobId(),
    owner: { userId: owner.userId, guildId: owner.guildId, channelId: owner.channelId },
    request: structuredClone(request),
    kind,
    ...(input.parentId !== undefined ? { parentId: input.parentId } : {}),
    state: 'queued',
    createdAt: now,
    seq: ++state.lastSeq,
    ...(input.delivery !== undefined ? { delivery: structuredClone(input.delivery) } : {}),
    ...(input.extras !== undefined ? { extras: structuredClone(input.extras) } : {}),
  };
  const reservation = ledger.reserve(owner, usage);
  const [jobWrite, usageWrite] = await Promise.allSettled([
    state.writer.set(jobKey(job.id), job),
    state.writer.set(usage, snapshot.usedToday + 1, USAGE_TTL_MS),
  ]);
  if (jobWrite.status === 'rejected' || usageWrite.status === 'rejected') {
    // Refused by the store: the user is not charged, and neither half of the pair stays stored (best effort:
    // the store may still be refusing). The count written back is the ledger's, which keeps concurrent submits.
    reservation.undo();
    await Promise.allSettled([
      jobWrite.status === 'fulfilled' ? state.writer.delete(jobKey(job.id)) : undefined,
      state.writer.set(usage, ledger.used(usage), USAGE_TTL_MS),
    ]);
    throw jobWrite.status === 'rejected' ? jobWrite.reason : (usageWrite as PromiseRejectedResult).reason;
  }
  reservation.release();
  state.fair.add(job, 'back');
  state.emit('queued', structuredClone(job));
  state.wake();
  return structuredClone(job);
}

/** The channel rules and the post cooldown; records the post when it may go ahead. */
export async function admitPost(state: QueueState, settingsStore: GuildSettingsStore, owner: JobOwner): Promise<void> {
  const settings = await settingsStore.get(owner.guildId);
  const now = state.clock();
  state.ledger.forget(now);
  checkChannel(settings, owner.channelId);
  checkCooldown(settings, state.ledger.lastPostAt(owner), now);
  state.ledger.notePost(owner, now);
}

/** A queued job is cancelled at once; a running one is aborted, and this waits until its worker stopped it. */
export async function cancelJob(
  state: QueueState,
  stored: JobRecord | undefined,
  jobId: string,
  by: CancelBy,
): Promise<JobRecord> {
  const queued = state.fair.get(jobId);
  const job = queued ?? state.running.get(jobId)?.job ?? stored;
  if (!job) throw new JobNotFoundError(jobId);
  if (job.owner.userId !== by.userId && !by.isModerator) {
    throw new PermissionError(`only the job's owner or a moderator can cancel job ${jobId}`);
  }
  if (queued && state.fair.get(jobId) === queued) {
    state.fair.remove(queued);
    queued.state = 'cancelled';
    queued.finishedAt = state.clock();
    state.ledger.addPending(queued.owner.userId, -1);
    state.noteFinished(queued);
    await state.writer.set(jobKey(jobId), queued);
    const copy = structuredClone(queued);
    state.emit('cancelled', copy);
    return structuredClone(copy);
  }
  const entry = state.running.get(jobId);
  if (entry && !entry.done && !entry.controller.signal.aborted) entry.controller.abort(new JobCancelledError(jobId));
  if (entry) return structuredClone(await entry.settled);
  throw new JobStateError(jobId, job.state, 'cancel');
}
