// The three REST calls delivery makes, on a REST client of its own that never waits or retries by
// itself (retries: 0, rejectOnRateLimit): the reply updater decides what to drop and when to retry,
// so nothing piles up inside @discordjs/rest's queue.
import { REST, DiscordAPIError, HTTPError, RateLimitError, Routes, MessageFlags } from 'discord.js';
import type { Clock, EditFailure } from './updater.ts';
import type { MessagePayload } from './render.ts';

/** Our own check said the interaction token is too old to use (15 minutes). */
export class TokenExpiredError extends Error {
  override name = 'TokenExpiredError';
}

export interface Transport {
  editOriginal(applicationId: string, token: string, payload: MessagePayload): Promise<void>;
  /** A bot message in the channel (after the token expired); returns the message id. */
  postToChannel(channelId: string, payload: MessagePayload, mentionUserId: string): Promise<string>;
  ephemeralFollowUp(applicationId: string, token: string, content: string): Promise<void>;
}

function body(payload: MessagePayload, extra: Record<string, unknown> = {}) {
  return {
    request: {
      body: {
        content: payload.content,
        components: payload.components,
        attachments: payload.files.map((f, i) => ({ id: i, filename: f.name })),
        allowed_mentions: { parse: [] },
        ...extra,
      },
      files: payload.files.map((f, i) => ({ name: f.name, data: f.data, key: `files[${i}]` })),
    },
  };
}

export function createRestTransport(options: { token: string; apiUrl?: string; timeoutMs?: number }): Transport {
  const rest = new REST({
    ...(options.apiUrl ? { api: options.apiUrl } : {}),
    retries: 0,
    rejectOnRateLimit: () => true,
    timeout: options.timeoutMs ?? 15_000,
  }).setToken(options.token);
  return {
    async editOriginal(applicationId, token, payload) {
      await rest.patch(Routes.webhookMessage(applicationId, token, '@original'), {
        auth: false,
        ...body(payload).request,
      });
    },
    async postToChannel(channelId, payload, mentionUserId) {
      const { request } = body(payload, { allowed_mentions: { users: [mentionUserId] } });
      const message = (await rest.post(Routes.channelMessages(channelId), request)) as { id: string };
      return message.id;
    },
    async ephemeralFollowUp(applicationId, token, content) {
      await rest.post(Routes.webhook(applicationId, token), {
        auth: false,
        body: { content: content.slice(0, 2000), flags: MessageFlags.Ephemeral, allowed_mentions: { parse: [] } },
      });
    },
  };
}

/** Sorts a REST failure for the updater: back off, retry, or give up (then deliver another way). */
export function classifyRestError(error: unknown): EditFailure {
  if (error instanceof RateLimitError)
    return { kind: 'rateLimit', retryAfterMs: Math.max(error.retryAfter, error.timeToReset, 0) };
  if (error instanceof TokenExpiredError) return { kind: 'fatal' };
  if (error instanceof DiscordAPIError) {
    if (error.status === 429) return { kind: 'rateLimit', retryAfterMs: 1000 };
    return error.status >= 500 ? { kind: 'retry' } : { kind: 'fatal' };
  }
  if (error instanceof HTTPError)
    return error.status >= 500 || error.status === 429 ? { kind: 'retry' } : { kind: 'fatal' };
  // Timeouts, resets, refused connections: worth another try.
  return { kind: 'retry' };
}

/** `call` with the final edit's backoff rules: doubling waits, Discord's retry-after on a rate limit, no retry when fatal. */
export async function retrying<T>(clock: Clock, attempts: number, call: () => Promise<T>): Promise<T> {
  let delay = 500;
  for (let i = 1; ; i++) {
    try {
      return await call();
    } catch (error) {
      const failure = classifyRestError(error);
      if (failure.kind === 'fatal' || i >= attempts) throw error;
      const wait = failure.kind === 'rateLimit' ? failure.retryAfterMs : delay;
      delay *= 2;
      await new Promise((r) => clock.setTimeout(() => r(undefined), wait));
    }
  }
}
