// Everything a submit can be refused for, checked in one pass before anything changes.
// Values come from settings.ts (per server) and the queue's own cap; this file only decides.
import type { GenerateRequest } from '../engine/types.ts';
import { paramProblem, policyFor } from './request-policy.ts';
import type { JobOwner } from './types.ts';
import type { GuildSettings } from './settings.ts';
import { findBannedWord } from './moderation.ts';
import { containsSlur } from './slur-filter.ts';

export type LimitCode = 'pending' | 'cooldown' | 'daily_quota' | 'queue_full' | 'param' | 'banned_word' | 'channel';

/** A refused submit. `message` is written for the end user; `resetsAt` (ms epoch) says when trying again can work. */
export class LimitError extends Error {
  override name = 'LimitError';
  constructor(
    readonly code: LimitCode,
    message: string,
    readonly resetsAt?: number,
    /** For 'param': which request field; for 'banned_word': the banned word as configured. */
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** What the queue knows about the submitter and itself at the moment of the submit. */
export interface UsageSnapshot {
  /** This user's queued + running jobs (all servers). */
  pending: number;
  /** When the user's earliest pending job should finish (estimate), for `pending` refusals. */
  pendingFreesAt?: number;
  /** When this user's latest job in this server finished (ms epoch): the cooldown runs from there. */
  lastFinishedAt?: number;
  /** Accepted submits by this user in this server since the start of the current UTC day. */
  usedToday: number;
  /** Jobs queued right now (all users), and the cap. */
  queued: number;
  maxQueued: number;
  /** When the running job should finish (estimate), for `queue_full` refusals. */
  queueFreesAt?: number;
}

/** Throws the first LimitError that applies; returns normally when the submit may go ahead. */
export function checkSubmit(
  settings: GuildSettings,
  owner: JobOwner,
  request: GenerateRequest,
  usage: UsageSnapshot,
  now: number,
): void {
  checkChannel(settings, owner.channelId);
  checkParams(settings, request);
  // Every text the user supplied is shown with the result, so each is checked.
  for (const [field, text] of [
    ['prompt', request.prompt],
    ['negative prompt', request.negativePrompt],
  ] as const) {
    if (text === undefined) continue;
    if (settings.slurFilter && containsSlur(text))
      throw new LimitError(
        'banned_word',
        `Your ${field} contains a slur, which this bot refuses. Please rephrase it.`,
        undefined,
        '(slur)',
      );
    const banned = findBannedWord(text, settings.bannedWords);
    if (banned !== undefined) {
      throw new LimitError(
        'banned_word',
        `Your ${field} contains a word this server does not allow ("${banned}"). Please rephrase it.`,
        undefined,
        banned,
      );
    }
  }
  if (usage.queued >= usage.maxQueued) {
    throw new LimitError(
      'queue_full',
      `The queue is full (${usage.maxQueued} jobs waiting). Please try again in a little while.`,
      usage.queueFreesAt,
    );
  }
  if (usage.pending >= settings.maxPending) {
    throw new LimitError(
      'pending',
      `You already have ${usage.pending} job${usage.pending === 1 ? '' : 's'} waiting or running (the limit is ${settings.maxPending}). Wait for one to finish or cancel one.`,
      usage.pendingFreesAt,
    );
  }
  checkCooldown(settings, usage.lastFinishedAt, now);
  if (usage.usedToday >= settings.dailyQuota) {
    throw new LimitError(
      'daily_quota',
      `You have used today's ${settings.dailyQuota} images in this server. The quota resets at 00:00 UTC.`,
      nextUtcMidnight(now),
    );
  }
}

export function checkCooldown(settings: GuildSettings, lastAt: number | undefined, now: number): void {
  if (lastAt === undefined || settings.cooldownSeconds <= 0) return;
  const resetsAt = lastAt + settings.cooldownSeconds * 1000;
  if (now < resetsAt) {
    const wait = Math.ceil((resetsAt - now) / 1000);
    throw new LimitError(
      'cooldown',
      `Please wait ${wait} more second${wait === 1 ? '' : 's'} before your next request (this server's cooldown is ${settings.cooldownSeconds} s).`,
      resetsAt,
    );
  }
}

export function checkChannel(settings: GuildSettings, channelId: string): void {
  if (
    settings.deniedChannels.includes(channelId) ||
    (settings.allowedChannels.length > 0 && !settings.allowedChannels.includes(channelId))
  ) {
    throw new LimitError('channel', 'Image requests are not allowed in this channel.', undefined, channelId);
  }
}

/** The request under the server's policy (request-policy.ts); a problem is a LimitError 'param'. */
export function checkParams(settings: GuildSettings, r: GenerateRequest): void {
  const problem = paramProblem(policyFor(settings), r);
  if (problem) throw new LimitError('param', problem.message, undefined, problem.field);
  if (r.model !== undefined && settings.allowedModels.length > 0 && !settings.allowedModels.includes(r.model))
    throw new LimitError(
      'param',
      `the ${r.model} model is not allowed in this server; it allows ${settings.allowedModels.join(', ')}`,
      undefined,
      'model',
    );
}

export const DAY_MS = 24 * 60 * 60 * 1000;

/** The UTC day a timestamp falls in, as YYYY-MM-DD (quota bucket). */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function nextUtcMidnight(ms: number): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1);
}

function _isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v);
}
