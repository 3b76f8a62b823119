// Shared by the interaction, webhook and channel routes: enforce the message rules, apply a write,
// and record it.
import type { ApiRequest } from './http.ts';
import type { InteractionHandle } from './interactions.ts';
import { snapshot, type MessageWrite, type StoredMessage } from './messages.ts';
import { checkMessagePayload } from './rules.ts';
import type { ServerState } from './state.ts';

/** Throws Discord's answer (and records violations) when the payload breaks a message rule. */
export function enforceMessageRules(
  state: ServerState,
  request: ApiRequest,
  what: string,
  payload: unknown,
  creating: boolean,
  attachmentSizeLimit: number,
): void {
  const check = checkMessagePayload(payload, request.files, { attachmentSizeLimit, creating });
  if (!check) return;
  for (const violation of check.violations) state.violation(`${request.method} ${what}: ${violation}`);
  throw check.error;
}

export function applyWrite(
  state: ServerState,
  message: StoredMessage,
  request: ApiRequest,
  payload: unknown,
  editing: boolean,
  via: MessageWrite['via'],
  handle?: InteractionHandle,
): MessageWrite {
  state.messages.apply(message, payload, request.files, editing);
  const write: MessageWrite = {
    at: request.receivedAt,
    messageId: message.id,
    via,
    method: request.method,
    message: snapshot(message),
  };
  state.writes.push(write);
  state.messageEvent(editing ? 'update' : 'create', message);
  handle?.edits.push(write);
  state.changed();
  return write;
}
