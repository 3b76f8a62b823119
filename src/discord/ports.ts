// What the Discord front end needs from its surroundings, as small structural interfaces, so the
// front end can be wired to the real queue (src/queue) and tested with it, without knowing more.
import type { GenerateRequest, RawImage } from '../engine/types.ts';
import type { JobKind, JobOwner, JobRecord } from '../queue/types.ts';
import type { GuildSettings } from '../queue/settings.ts';

/** pino-compatible: the bot logs through whatever logger the wiring hands it. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug(obj: object, msg?: string): void;
}

export interface SubmitInput {
  owner: JobOwner;
  request: GenerateRequest;
  kind: JobKind;
  parentId?: string;
  delivery?: JobRecord['delivery'];
}

export interface JobEvents {
  progress: (job: JobRecord, progress: { step: number; total: number; preview?: RawImage; etaMs?: number }) => void;
  finished: (job: JobRecord) => void; // done, failed or cancelled: job.state says which
}

export interface QueuePort {
  submit(input: SubmitInput): Promise<JobRecord>;
  get(id: string): Promise<JobRecord | undefined>;
  /** Throws when the job cannot be cancelled (finished already, or not yours and not a moderator). */
  cancel(id: string, by: { userId: string; moderator: boolean }): Promise<JobRecord>;
  /** 1-based place in line for a queued job (0 when running), with an estimate of the wait. */
  position(id: string): { position: number; etaMs?: number } | undefined;
  /** This user's queued and running jobs, oldest first. */
  activeJobs(userId: string): JobRecord[];
  /** Jobs queued and running right now (all users). */
  counts(): { queued: number; running: number };
  /** Every queued or running job (to re-attach to their messages after a restart). */
  activeAll(): JobRecord[];
  on<E extends keyof JobEvents>(event: E, listener: JobEvents[E]): void;
  off<E extends keyof JobEvents>(event: E, listener: JobEvents[E]): void;
}

export interface SettingsPort {
  get(guildId: string): Promise<GuildSettings>;
  update(guildId: string, patch: Partial<GuildSettings>): Promise<GuildSettings>;
  reset(guildId: string): Promise<GuildSettings>;
}
