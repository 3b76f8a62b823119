// What the front end does with images the model's safety checker flagged: the mode of the job's channel
// (src/queue/safety-modes.ts owns the rule), the notice that replaces a blocked image, the spoiler a
// spoilered one goes behind. Flagged previews are never shown: the final says what happened.
import { DEFAULT_SETTINGS, safetyModeFor, type JobRecord, type SafetyMode } from '../queue/index.ts';
import type { Logger, SettingsPort } from './ports.ts';
import { UserFacingError } from './errors.ts';
import type { MessagePayload } from './render.ts';

export const BLOCKED_NOTICE =
  '🛡 The safety checker flagged this image, so it is not posted in this channel. (Moderators: `/settings safety`.)';
const SPOILER_WARNING =
  '⚠ The safety checker flagged this image; it is behind a spoiler. Open it at your own discretion.';

/** Whether image `index` (0-based; any image when left out) of a finished job was flagged. */
export function isFlagged(job: JobRecord, index?: number): boolean {
  const flags = job.result?.flagged;
  if (!flags) return false;
  return index === undefined ? flags.some(Boolean) : flags[index] === true;
}

/** The mode for this job's channel, from its server's settings (defaults when none are at hand). */
export async function safetyModeOf(settings: SettingsPort | undefined, job: JobRecord): Promise<SafetyMode> {
  const saved = settings ? await settings.get(job.owner.guildId) : DEFAULT_SETTINGS;
  return safetyModeFor(saved, job.owner.channelId, job.extras?.ageRestricted === true);
}

/** A message with its files behind a spoiler (Discord hides a file named SPOILER_...) and the warning. */
export function spoilered(payload: MessagePayload): MessagePayload {
  return {
    ...payload,
    content: `${payload.content}\n${SPOILER_WARNING}`.slice(0, 2000),
    files: payload.files.map((f) => ({ ...f, name: f.name.startsWith('SPOILER_') ? f.name : `SPOILER_${f.name}` })),
  };
}

export class FlaggedImageError extends UserFacingError {
  constructor() {
    super('flagged', 'The safety checker flagged that image, so I cannot post it (or anything made from it) here.');
  }
}

/**
 * For posting image `index` (0-based) of a finished job again: the channel's mode when it may be shown
 * (`off`, or `spoiler` when `spoilerOk`), else FlaggedImageError. Unflagged images are always 'off'.
 */
export async function showableMode(
  settings: SettingsPort | undefined,
  job: JobRecord,
  index: number | undefined,
  spoilerOk: boolean,
): Promise<SafetyMode> {
  if (!isFlagged(job, index)) return 'off';
  const mode = await safetyModeOf(settings, job);
  if (mode === 'block' || (mode === 'spoiler' && !spoilerOk)) throw new FlaggedImageError();
  return mode;
}

/** The mode a job's final is delivered under ('off' for one with nothing flagged); a flag is logged with its action. */
export async function finalSafety(
  settings: SettingsPort | undefined,
  job: JobRecord,
  logger: Logger,
): Promise<SafetyMode> {
  if (!isFlagged(job)) return 'off';
  const mode = await safetyModeOf(settings, job);
  const action = mode === 'off' ? 'posted' : mode === 'spoiler' ? 'spoilered' : 'blocked';
  const { id: jobId, owner } = job;
  logger.warn(
    { jobId, guildId: owner.guildId, flagged: job.result?.flagged, action },
    'safety checker flagged a result',
  );
  return mode;
}
