// The one definition of a job id: what the queue makes, what it looks up, and what a button's
// custom_id may carry ("ef:<action>:<jobId>[:<n>]" stays well under Discord's 100 characters).
import { randomBytes } from 'node:crypto';

/** Longest job id anyone accepts (queue lookups, custom_ids). New ids are 16 characters. */
export const MAX_JOB_ID_LENGTH = 64;

const JOB_ID = new RegExp(`^[A-Za-z0-9_-]{1,${MAX_JOB_ID_LENGTH}}$`);

/** True for 1 to MAX_JOB_ID_LENGTH url-safe characters (letters, digits, _ and -). */
export function isJobId(value: string): boolean {
  return JOB_ID.test(value);
}

/** 16 url-safe random characters. */
export function newJobId(): string {
  return randomBytes(12).toString('base64url');
}
