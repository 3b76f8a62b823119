// The queue's own errors, one class per answer the front end gives differently. Limits are limits.ts' LimitError.
import type { JobState } from './types.ts';

/** Cancel (or another action) by someone who is neither the owner nor a moderator. */
export class PermissionError extends Error {
  override name = 'PermissionError';
}

/** No job with that id (never existed, or pruned after retention). */
export class JobNotFoundError extends Error {
  override name = 'JobNotFoundError';
  constructor(readonly jobId: string) {
    super(`no job with id ${jobId} (it may have expired)`);
  }
}

/** The job is not in a state that allows the action, e.g. cancelling a finished job. */
export class JobStateError extends Error {
  override name = 'JobStateError';
  constructor(
    readonly jobId: string,
    readonly state: JobState,
    action: string,
  ) {
    super(`cannot ${action} job ${jobId}: expected it queued or running, it is ${state}`);
  }
}

/** The malformed-input error for submit (missing owner ids, unknown kind). Limits are LimitError. */
export class SubmitError extends Error {
  override name = 'SubmitError';
}

/** Why a running job's signal was aborted by the queue. */
export class JobCancelledError extends Error {
  override name = 'JobCancelledError';
  constructor(readonly jobId: string) {
    super(`job ${jobId} was cancelled`);
  }
}
