// Interaction callbacks and the interaction webhook (edits of @original, follow-ups), with the
// timing rules: first response within the ack window, one acknowledgement, token lifetime.
import type { ApiRequest, Router } from './http.ts';
import type { ServerState } from './state.ts';
import { CallbackType, InteractionType, type InteractionHandle } from './interactions.ts';
import { MessageFlags, isLoading, type StoredMessage } from './messages.ts';
import {
  alreadyAcknowledged,
  invalidFormBody,
  invalidWebhookToken,
  unknownInteraction,
  unknownMessage,
  unknownWebhook,
} from './errors.ts';
import { applyWrite, enforceMessageRules } from './writes.ts';

type Json = Record<string, unknown>;

const CREATION_FLAGS = MessageFlags.Ephemeral | MessageFlags.SuppressEmbeds | MessageFlags.IsComponentsV2;

export function addInteractionRoutes(router: Router, state: ServerState): void {
  router.add({
    method: 'POST',
    template: '/interactions/:interaction/:token/callback',
    auth: false,
    major: (p) => p.interaction,
    interaction: (p) => state.interactions.get(p.interaction),
    onArrival: (p) => {
      const handle = state.interactions.get(p.interaction);
      if (handle) handle.callbacksInFlight++;
    },
    onDone: (p) => {
      const handle = state.interactions.get(p.interaction);
      if (!handle) return;
      handle.callbacksInFlight--;
      // The window closed while this callback was in flight, and it was refused: now it is late.
      if (
        !handle.ack &&
        handle.callbacksInFlight === 0 &&
        Date.now() > handle.dispatchedAt + state.options.ackWindowMs
      ) {
        recordMissedAck(state, handle);
      }
    },
    handle: (req) => callback(state, req),
  });

  const byToken = (p: Record<string, string>) => state.byToken.get(p.token);
  const webhook = { auth: false, major: (p: Record<string, string>) => `${p.app}/${p.token}`, interaction: byToken };

  router.add({ ...webhook, method: 'POST', template: '/webhooks/:app/:token', handle: (req) => followUp(state, req) });
  router.add({
    ...webhook,
    method: 'GET',
    template: '/webhooks/:app/:token/messages/:message',
    handle: (req) => {
      const handle = tokenHandle(state, req);
      return { status: 200, body: state.apiMessage(webhookMessage(state, req, handle)) };
    },
  });
  router.add({
    ...webhook,
    method: 'PATCH',
    template: '/webhooks/:app/:token/messages/:message',
    policy: 'edit',
    editTarget: (p) => (p.message === '@original' ? (byToken(p)?.originalId ?? undefined) : p.message),
    handle: (req) => {
      const handle = tokenHandle(state, req);
      const message = webhookMessage(state, req, handle);
      enforceMessageRules(
        state,
        req,
        `${handle.label} edit of message ${req.params.message}`,
        req.json,
        false,
        limitOf(handle),
      );
      applyWrite(state, message, req, req.json, true, 'webhook', handle);
      return { status: 200, body: state.apiMessage(message) };
    },
  });
  router.add({
    ...webhook,
    method: 'DELETE',
    template: '/webhooks/:app/:token/messages/:message',
    handle: (req) => {
      const handle = tokenHandle(state, req);
      const message = webhookMessage(state, req, handle);
      state.messages.delete(message);
      state.messageEvent('delete', message);
      state.changed();
      return { status: 204 };
    },
  });
}

function limitOf(handle: InteractionHandle): number {
  return handle.payload.attachment_size_limit as number;
}

/** Discord's modal limits: title 1–45, custom_id 1–100, 1–5 rows of one text input each (label 1–45, value ≤ 4000). */
function enforceModalRules(state: ServerState, what: string, data: Json | undefined): void {
  const problems: string[] = [];
  const title = data?.title;
  if (typeof title !== 'string' || title.length < 1 || title.length > 45)
    problems.push('title must be 1–45 characters');
  const id = data?.custom_id;
  if (typeof id !== 'string' || id.length < 1 || id.length > 100) problems.push('custom_id must be 1–100 characters');
  const rows = Array.isArray(data?.components) ? (data.components as Json[]) : [];
  if (rows.length < 1 || rows.length > 5) problems.push(`expected 1–5 rows, got ${rows.length}`);
  const ids = new Set<string>();
  for (const row of rows) {
    const inputs = Array.isArray(row.components) ? (row.components as Json[]) : [];
    if (row.type !== 1 || inputs.length !== 1 || inputs[0].type !== 4) {
      problems.push('each row must hold exactly one text input (type 4)');
      continue;
    }
    const input = inputs[0];
    const label = input.label;
    if (typeof label !== 'string' || label.length < 1 || label.length > 45)
      problems.push('a label must be 1–45 characters');
    if (input.style !== 1 && input.style !== 2) problems.push('a text input style must be 1 or 2');
    if (typeof input.custom_id !== 'string' || ids.has(input.custom_id))
      problems.push('input custom_ids must be unique');
    else ids.add(input.custom_id);
    if (typeof input.value === 'string' && input.value.length > 4000)
      problems.push('a value must be at most 4000 characters');
    const max = input.max_length;
    if (max !== undefined && (typeof max !== 'number' || max < 1 || max > 4000))
      problems.push('max_length must be 1–4000');
    if (typeof input.value === 'string' && typeof max === 'number' && input.value.length > max)
      problems.push('a pre-filled value must fit max_length');
  }
  if (problems.length === 0) return;
  state.violation(`${what}: invalid modal: ${problems.join('; ')}`);
  throw invalidFormBody(problems.map((message) => ({ path: 'data', code: 'BASE_TYPE_INVALID', message })));
}

function callback(state: ServerState, req: ApiRequest): { status: number; body?: unknown } {
  const handle = state.interactions.get(req.params.interaction);
  if (!handle || handle.token !== req.params.token) {
    state.violation(`callback for unknown interaction ${req.params.interaction} (or a token that is not its own)`);
    throw unknownInteraction();
  }
  const body = (req.json ?? {}) as Json;
  const type = body.type as number;
  const data = body.data as Json | undefined;
  const elapsed = req.receivedAt - handle.dispatchedAt;
  if (handle.ack) {
    state.violation(
      `${handle.label}: callback type ${type} after the interaction was already acknowledged with type ${handle.ack.type}`,
    );
    throw alreadyAcknowledged();
  }
  if (elapsed > state.options.ackWindowMs) {
    if (!handle.lateRecorded) {
      handle.lateRecorded = true;
      state.violation(
        `${handle.label}: first response came ${elapsed} ms after dispatch, over the ${state.options.ackWindowMs} ms window`,
      );
    }
    throw unknownInteraction();
  }
  const allowed: number[] =
    handle.type === InteractionType.Autocomplete
      ? [CallbackType.ApplicationCommandAutocompleteResult]
      : handle.type === InteractionType.ModalSubmit
        ? [
            CallbackType.ChannelMessageWithSource,
            CallbackType.DeferredChannelMessageWithSource,
            ...(handle.sourceMessageId ? [CallbackType.DeferredUpdateMessage, CallbackType.UpdateMessage] : []),
          ]
        : handle.type === InteractionType.MessageComponent
          ? [
              CallbackType.ChannelMessageWithSource,
              CallbackType.DeferredChannelMessageWithSource,
              CallbackType.DeferredUpdateMessage,
              CallbackType.UpdateMessage,
              CallbackType.Modal,
            ]
          : [CallbackType.ChannelMessageWithSource, CallbackType.DeferredChannelMessageWithSource, CallbackType.Modal];
  if (!allowed.includes(type)) {
    state.violation(
      `${handle.label}: callback type ${type} is not valid for interaction type ${handle.type} (allowed: ${allowed.join(', ')})`,
    );
    throw invalidFormBody([
      {
        path: 'type',
        code: 'INTERACTION_RESPONSE_TYPE_INVALID',
        message: `Interaction response type ${type} is not valid here.`,
      },
    ]);
  }
  const what = `${handle.label} callback type ${type}`;
  const base = {
    channelId: handle.channelId,
    guildId: handle.guildId,
    authorId: state.world.bot.id,
    interactionId: handle.id,
  };

  switch (type) {
    case CallbackType.ChannelMessageWithSource: {
      enforceMessageRules(state, req, what, data, true, limitOf(handle));
      const message = state.messages.create({
        ...base,
        kind: 'interaction-response',
        flags: Number(data?.flags ?? 0) & CREATION_FLAGS,
      });
      handle.originalId = message.id;
      applyWrite(state, message, req, data, false, 'callback', handle);
      break;
    }
    case CallbackType.DeferredChannelMessageWithSource: {
      const flags = MessageFlags.Loading | (Number(data?.flags ?? 0) & MessageFlags.Ephemeral);
      const message = state.messages.create({ ...base, kind: 'interaction-response', flags });
      handle.originalId = message.id;
      state.messageEvent('create', message);
      break;
    }
    case CallbackType.DeferredUpdateMessage:
      handle.originalId = handle.sourceMessageId ?? null;
      break;
    case CallbackType.UpdateMessage: {
      const source = handle.sourceMessageId ? state.messages.get(handle.sourceMessageId) : undefined;
      if (!source) {
        state.violation(`${what}: the clicked message no longer exists`);
        throw unknownMessage();
      }
      enforceMessageRules(state, req, what, data, false, limitOf(handle));
      handle.originalId = source.id;
      applyWrite(state, source, req, data, true, 'callback', handle);
      break;
    }
    case CallbackType.ApplicationCommandAutocompleteResult: {
      const choices = Array.isArray(data?.choices) ? (data.choices as { name: string; value: string | number }[]) : [];
      const bad =
        choices.length > 25 ||
        choices.some((c) => typeof c.name !== 'string' || c.name.length < 1 || c.name.length > 100);
      if (bad) {
        state.violation(
          `${what}: expected at most 25 choices named 1-100 characters, got ${JSON.stringify(choices).slice(0, 200)}`,
        );
        throw invalidFormBody([
          { path: 'data.choices', code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 25 or fewer.' },
        ]);
      }
      handle.choices = choices;
      break;
    }
    case CallbackType.Modal:
      enforceModalRules(state, what, data);
      handle.modal = data ?? null;
      break;
  }
  handle.ack = { type, at: req.receivedAt, latencyMs: elapsed };
  state.changed();

  if (req.query.get('with_response') !== 'true') return { status: 204 };
  const original = handle.original;
  return {
    status: 200,
    body: {
      interaction: {
        id: handle.id,
        type: handle.type,
        ...(original
          ? {
              response_message_id: original.id,
              response_message_loading: isLoading(original),
              response_message_ephemeral: (original.flags & MessageFlags.Ephemeral) !== 0,
            }
          : {}),
      },
      resource: {
        type,
        ...(original && type !== CallbackType.DeferredUpdateMessage ? { message: state.apiMessage(original) } : {}),
      },
    },
  };
}

/** Records, once, that an interaction got no acknowledgement inside the window. */
export function recordMissedAck(state: ServerState, handle: InteractionHandle): void {
  if (handle.ack || handle.lateRecorded) return;
  handle.lateRecorded = true;
  state.violation(
    `${handle.label} by ${handle.user.username}: not acknowledged within ${state.options.ackWindowMs} ms`,
  );
}

/** The interaction behind a webhook request, refusing unknown and expired tokens like Discord. */
function tokenHandle(state: ServerState, req: ApiRequest): InteractionHandle {
  const where = `${req.method} /webhooks/:app/:token${req.params.message ? `/messages/${req.params.message}` : ''}`;
  if (req.params.app !== state.world.applicationId) {
    state.violation(`${where}: application id ${req.params.app} is not this bot's (${state.world.applicationId})`);
    throw unknownWebhook();
  }
  const handle = state.byToken.get(req.params.token);
  if (!handle) {
    state.violation(`${where}: unknown interaction token`);
    throw invalidWebhookToken();
  }
  const age = req.receivedAt - handle.dispatchedAt;
  if (req.receivedAt > handle.expiresAt) {
    state.violation(
      `${where} for ${handle.label}: token used ${age} ms after dispatch; it expires after ${state.options.tokenLifetimeMs} ms (send a channel message instead)`,
    );
    throw invalidWebhookToken();
  }
  return handle;
}

function webhookMessage(state: ServerState, req: ApiRequest, handle: InteractionHandle): StoredMessage {
  const id = req.params.message;
  const where = `${req.method} /webhooks/:app/:token/messages/${id} for ${handle.label}`;
  if (id === '@original') {
    const original = handle.original;
    if (!original) {
      state.violation(
        `${where}: there is no original response (${handle.ack ? 'it was deleted' : 'the interaction was not acknowledged yet'})`,
      );
      throw unknownMessage();
    }
    return original;
  }
  const message = state.messages.get(id);
  if (!message || (handle.originalId !== id && !handle.followUpIds.includes(id))) {
    state.violation(`${where}: no such message among this interaction's responses`);
    throw unknownMessage();
  }
  return message;
}

function followUp(state: ServerState, req: ApiRequest): { status: number; body?: unknown } {
  const handle = tokenHandle(state, req);
  const what = `follow-up to ${handle.label}`;
  if (!handle.ack) {
    state.violation(`${what}: sent before the interaction was acknowledged`);
    throw unknownWebhook();
  }
  const body = (req.json ?? {}) as Json;
  enforceMessageRules(state, req, what, body, true, limitOf(handle));
  const original = handle.original;
  let message: StoredMessage;
  if (handle.ack.type === CallbackType.DeferredChannelMessageWithSource && original && isLoading(original)) {
    // Discord: the first follow-up after a deferral edits the "thinking" message, keeping its ephemerality.
    const { flags: _flags, ...rest } = body;
    message = original;
    applyWrite(state, message, req, rest, true, 'webhook', handle);
  } else {
    message = state.messages.create({
      channelId: handle.channelId,
      guildId: handle.guildId,
      authorId: state.world.bot.id,
      kind: 'follow-up',
      interactionId: handle.id,
      flags: Number(body.flags ?? 0) & CREATION_FLAGS,
    });
    handle.followUpIds.push(message.id);
    applyWrite(state, message, req, body, false, 'webhook', handle);
  }
  return req.query.get('wait') === 'true' ? { status: 200, body: state.apiMessage(message) } : { status: 204 };
}
