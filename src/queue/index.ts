// The queue's public API. The front end (commands/, discord/) imports from here only.
//
//   const store = await openStore({ dataDir, redisUrl });
//   const settings = new GuildSettingsStore(store);
//   const queue = await JobQueue.open({ store, settings, maxQueued });
//   const worker = new Worker(queue, engine, { resultsDir, jobTimeoutMs });
//   worker.start();
//   queue.on('progress', ({ job, step, total, preview, etaMs }) => ...);
//   const job = await queue.submit({ owner, request, kind: 'new', delivery });   // throws LimitError
//   ...
//   await worker.stop({ requeue: true }); await queue.close(); await store.close();
export { MAX_JOB_ID_LENGTH, isJobId, newJobId } from './job-id.ts';
export type {
  FailureCode,
  JobExtras,
  JobKind,
  JobMedia,
  JobOwner,
  JobRecord,
  JobResult,
  JobState,
  RunnableJob,
} from './types.ts';
export { DEFAULT_ATTACHMENT_LIMIT, isMediaJob, MediaUnavailableError } from './media-jobs.ts';
export {
  openStore,
  StoreError,
  SQLITE_FILE_NAME,
  type Store,
  type StoreBackend,
  type OpenStoreOptions,
} from './store.ts';
export {
  GuildSettingsStore,
  SettingsError,
  validateSettings,
  DEFAULT_SETTINGS,
  HARD_MAX_STEPS,
  HARD_MAX_COUNT,
  INT_RANGES,
  type GuildSettings,
  type SettingsChange,
} from './settings.ts';
export { findBannedWord, normalizeForMatching } from './moderation.ts';
export { SAFETY_MODES, safetyModeFor, type SafetyMode } from './safety-modes.ts';
export { MAX_STYLES, MAX_TEMPLATE_CHARS, STYLE_NAME, type Style } from './styles.ts';
export {
  fitDefaults,
  MAX_NEGATIVE_CHARS,
  MAX_PROMPT_CHARS,
  outOfRange,
  paramProblem,
  policyFor,
  REQUEST_RANGES,
  type GivenFields,
  type RequestPolicy,
} from './request-policy.ts';
export {
  DAY_MS,
  LimitError,
  checkSubmit,
  checkParams,
  checkChannel,
  utcDay,
  nextUtcMidnight,
  type LimitCode,
  type UsageSnapshot,
} from './limits.ts';
export type { JobQueueEvents, JobQueueEventName, JobProgressEvent } from './events.ts';
export { PermissionError, JobNotFoundError, JobStateError, JobCancelledError, SubmitError } from './errors.ts';
export {
  JobQueue,
  type JobQueueOptions,
  type SubmitInput,
  type CancelBy,
  type JobPosition,
  type QueueStats,
  type JobLease,
} from './queue.ts';
export { Worker, JobTimeoutError, type WorkerOptions } from './worker.ts';
export { writeResultFiles } from './result-files.ts';
