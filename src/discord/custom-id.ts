// Button custom_ids carry an action and a job reference only ("ef:vs:<jobId>" or "ef:u:<jobId>:2");
// every parameter comes from the stored job record, so a forged id can at worst name a job that
// does not exist or an index out of range — both refused. Discord allows 1–100 characters.
import { MAX_JOB_ID_LENGTH, isJobId } from '../queue/index.ts';

export const BUTTON_ACTIONS = {
  rr: 'reroll',
  vs: 'varySubtle',
  vg: 'varyStrong',
  u: 'pick',
  v: 'variation',
  x: 'cancel',
  tl: 'timelapse',
  d: 'delete',
  rm: 'remix',
  up: 'upscale',
  i: 'recipe',
  em: 'emoji',
} as const;

export type ButtonCode = keyof typeof BUTTON_ACTIONS;
export type ButtonAction = (typeof BUTTON_ACTIONS)[ButtonCode];

export interface ButtonRef {
  action: ButtonAction;
  jobId: string;
  /** 1-based image index (U1..U4, V1..V4; also set on buttons under a picked image). */
  index?: number;
}

const PREFIX = 'ef';
const CODES = Object.fromEntries(Object.entries(BUTTON_ACTIONS).map(([code, action]) => [action, code])) as Record<
  ButtonAction,
  ButtonCode
>;

export class CustomIdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CustomIdError';
  }
}

export function encodeCustomId(ref: ButtonRef): string {
  if (!isJobId(ref.jobId))
    throw new CustomIdError(
      `expected a job id of 1–${MAX_JOB_ID_LENGTH} letters, digits, _ or -, got ${JSON.stringify(ref.jobId)}`,
    );
  if (ref.index !== undefined && !(Number.isInteger(ref.index) && ref.index >= 1 && ref.index <= 9)) {
    throw new CustomIdError(`expected an image index between 1 and 9, got ${ref.index}`);
  }
  const id = [PREFIX, CODES[ref.action], ref.jobId, ...(ref.index === undefined ? [] : [String(ref.index)])].join(':');
  if (id.length > 100) throw new CustomIdError(`custom_id must be at most 100 characters, got ${id.length}`);
  return id;
}

/** Returns null for anything that is not exactly what encodeCustomId makes (forged or foreign ids). */
export function decodeCustomId(customId: string): ButtonRef | null {
  if (customId.length > 100) return null;
  const parts = customId.split(':');
  if (parts.length < 3 || parts.length > 4 || parts[0] !== PREFIX) return null;
  const action = (BUTTON_ACTIONS as Record<string, ButtonAction | undefined>)[parts[1]];
  if (!action || !isJobId(parts[2])) return null;
  if (parts.length === 3) return { action, jobId: parts[2] };
  if (!/^[1-9]$/.test(parts[3])) return null;
  return { action, jobId: parts[2], index: Number(parts[3]) };
}
