// One dispatched interaction as the test sees it: its payload, acknowledgement, original response,
// follow-ups and every write made with its token; plus the payload builders for slash commands
// and button clicks (shaped like Discord's, with what discord.js 14 needs).
import type { EventEmitter } from 'node:events';
import { snowflake, randomToken } from './snowflake.ts';
import {
  allChannels,
  allMembers,
  allRoles,
  apiChannel,
  apiMember,
  apiRole,
  apiUser,
  guildOf,
  memberPermissions,
  type FakeChannel,
  type FakeUser,
  type World,
} from './world.ts';
import {
  apiAttachment,
  type MessageStore,
  type MessageWrite,
  type StoredAttachment,
  type StoredMessage,
} from './messages.ts';
import type { RegisteredCommand, BuiltOptions } from './commands.ts';
import { waitUntil } from './waiting.ts';

type Json = Record<string, unknown>;

export const InteractionType = { ApplicationCommand: 2, MessageComponent: 3, Autocomplete: 4, ModalSubmit: 5 } as const;

export const CallbackType = {
  Pong: 1,
  ChannelMessageWithSource: 4,
  DeferredChannelMessageWithSource: 5,
  DeferredUpdateMessage: 6,
  UpdateMessage: 7,
  ApplicationCommandAutocompleteResult: 8,
  Modal: 9,
} as const;

export interface Acknowledgement {
  /** The callback type (4, 5, 6, 7, 9). */
  type: number;
  at: number;
  /** Milliseconds from dispatch to the callback's arrival. */
  latencyMs: number;
}

export interface AnsweredError {
  at: number;
  method: string;
  path: string;
  status: number;
  code: number;
  message: string;
}

/** What an InteractionHandle needs from the server. */
export interface HandleHost {
  messages: MessageStore;
  events: EventEmitter;
  waitTimeoutMs: number;
}

export class InteractionHandle {
  readonly id = snowflake();
  readonly token = randomToken('aW50ZXJhY3Rpb24');
  readonly dispatchedAt = Date.now();
  readonly expiresAt: number;
  ack: Acknowledgement | null = null;
  /** The message `@original` refers to (the response, or the clicked message after type 6/7). */
  originalId: string | null = null;
  readonly followUpIds: string[] = [];
  /** Every write made with this interaction's token, oldest first (the creating one included). */
  readonly edits: MessageWrite[] = [];
  /** Error answers given to requests made with this interaction's token. */
  readonly errors: AnsweredError[] = [];
  /** Callback requests received but not answered yet. */
  callbacksInFlight = 0;
  /** Set once the missed-3-s-window violation was recorded. */
  lateRecorded = false;
  /** The modal this interaction was answered with (callback type 9), as sent. */
  modal: Json | null = null;
  /** The choices an autocomplete interaction was answered with (callback type 8). */
  choices: { name: string; value: string | number }[] | null = null;

  constructor(
    readonly host: HandleHost,
    readonly type: number,
    readonly user: FakeUser,
    readonly channelId: string,
    readonly payload: Json,
    tokenLifetimeMs: number,
    /** For button clicks: the message the button sits on. */
    readonly sourceMessageId?: string,
  ) {
    this.expiresAt = this.dispatchedAt + tokenLifetimeMs;
    payload.id = this.id;
    payload.token = this.token;
  }

  /** "/imagine" or "button custom_id", for messages. */
  /** The guild the interaction happened in (its channel's). */
  get guildId(): string {
    return (this.payload.guild_id as string) ?? '';
  }

  get label(): string {
    const data = this.payload.data as Json;
    if (this.type === InteractionType.ModalSubmit) return `modal "${data.custom_id}"`;
    if (this.type === InteractionType.Autocomplete) return `autocomplete /${data.name}`;
    return this.type === InteractionType.ApplicationCommand ? `/${data.name}` : `button "${data.custom_id}"`;
  }

  /** The current `@original` message, or null before a response created one. */
  get original(): StoredMessage | null {
    return this.originalId ? (this.host.messages.get(this.originalId) ?? null) : null;
  }

  get followUps(): StoredMessage[] {
    return this.followUpIds.map((id) => this.host.messages.get(id)).filter((m): m is StoredMessage => m !== undefined);
  }

  /** Resolves with the first acknowledgement (rejects after the timeout). */
  acknowledged(timeoutMs = this.host.waitTimeoutMs): Promise<Acknowledgement> {
    return waitUntil(
      this.host.events,
      () => this.ack ?? undefined,
      timeoutMs,
      () => `${this.label} to be acknowledged; ${this.describe()}`,
    );
  }

  /** Resolves with the original message once `predicate` holds for it. */
  waitFor(predicate: (message: StoredMessage) => boolean, timeoutMs = this.host.waitTimeoutMs): Promise<StoredMessage> {
    return waitUntil(
      this.host.events,
      () => {
        const message = this.original;
        return message && predicate(message) ? message : undefined;
      },
      timeoutMs,
      () => `${this.label}'s original response to match ${predicate.toString().slice(0, 200)}; ${this.describe()}`,
    );
  }

  /** Resolves with the first follow-up for which `predicate` holds. */
  waitForFollowUp(
    predicate: (message: StoredMessage) => boolean = () => true,
    timeoutMs = this.host.waitTimeoutMs,
  ): Promise<StoredMessage> {
    return waitUntil(
      this.host.events,
      () => this.followUps.find(predicate),
      timeoutMs,
      () => `a follow-up to ${this.label} matching ${predicate.toString().slice(0, 200)}; ${this.describe()}`,
    );
  }

  /** A one-line summary of the state, for failure messages. */
  describe(): string {
    const show = (m: StoredMessage) =>
      `${JSON.stringify(m.content.slice(0, 160))}${m.flags & 64 ? ' (ephemeral)' : ''}, ${m.attachments.length} attachment(s), ${m.components.length} row(s), ${m.version} edit(s)`;
    const stored = this.originalId ? this.host.messages.getEvenDeleted(this.originalId) : undefined;
    const original = !stored
      ? 'no original response'
      : stored.deleted
        ? `original deleted (was ${show(stored)})`
        : `original: ${show(stored)}`;
    const followUps = this.followUpIds
      .map((id) => this.host.messages.getEvenDeleted(id))
      .filter((m): m is StoredMessage => m !== undefined)
      .map((m) => `${m.deleted ? '(deleted) ' : ''}${show(m)}`);
    const errors = this.errors.length
      ? `; errors: ${this.errors.map((e) => `${e.status}/${e.code} ${e.method} ${e.path}`).join(', ')}`
      : '';
    return `ack ${this.ack ? `type ${this.ack.type} after ${this.ack.latencyMs} ms` : 'none'}; ${original}; follow-ups: [${followUps.join('; ')}]${errors}`;
  }
}

export interface PayloadContext {
  world: World;
  user: FakeUser;
  channel: FakeChannel;
  /** Overrides the member's computed permissions (a bigint or its decimal string). */
  memberPermissions?: bigint | string;
  attachmentSizeLimit: number;
  locale?: string;
  /** Uploads by id, for the attachment options of a slash command. */
  attachment?: (id: string) => StoredAttachment | undefined;
}

function basePayload(type: number, context: PayloadContext, data: Json): Json {
  const { world, user, channel } = context;
  const guild = guildOf(world, channel);
  // Discord sends the member's permissions in this channel (overwrites applied).
  const permissions =
    context.memberPermissions === undefined
      ? memberPermissions(guild, user, channel)
      : BigInt(context.memberPermissions);
  return {
    id: '',
    application_id: world.applicationId,
    type,
    data,
    guild_id: guild.id,
    guild: { id: guild.id, locale: 'en-US', features: [] },
    channel_id: channel.id,
    channel: { ...apiChannel(channel), permissions: permissions.toString() },
    member: apiMember(world, guild, user, permissions),
    token: '',
    version: 1,
    app_permissions: memberPermissions(guild, world.bot, channel).toString(),
    locale: context.locale ?? 'en-US',
    guild_locale: 'en-US',
    entitlements: [],
    authorizing_integration_owners: { '0': guild.id },
    context: 0,
    attachment_size_limit: context.attachmentSizeLimit,
  };
}

/** An autocomplete request: the options typed so far, `focused` marking the one being typed. */
export function autocompletePayload(
  context: PayloadContext,
  command: RegisteredCommand,
  built: BuiltOptions,
  focused: string,
): Json {
  const mark = (options: Json[]): Json[] =>
    options.map((o) =>
      Array.isArray(o.options)
        ? { ...o, options: mark(o.options as Json[]) }
        : o.name === focused
          ? { ...o, focused: true }
          : o,
    );
  const payload = slashPayload(context, command, built);
  const data = payload.data as Json;
  return {
    ...payload,
    type: InteractionType.Autocomplete,
    data: { ...data, options: mark((data.options as Json[]) ?? []) },
  };
}

export function slashPayload(context: PayloadContext, command: RegisteredCommand, built: BuiltOptions): Json {
  const { world } = context;
  const guild = guildOf(world, context.channel);
  const resolved: Json = {};
  const users = [...new Set(built.users)];
  if (users.length) {
    const known = allMembers(world, guild);
    const found = users.map((id) => known.find((u) => u.id === id)).filter((u): u is FakeUser => u !== undefined);
    resolved.users = Object.fromEntries(found.map((u) => [u.id, apiUser(u)]));
    resolved.members = Object.fromEntries(
      found.map((u) => {
        const {
          user: _user,
          deaf: _deaf,
          mute: _mute,
          ...member
        } = apiMember(world, guild, u, memberPermissions(guild, u));
        return [u.id, member];
      }),
    );
  }
  if (built.channels.length) {
    const known = allChannels(guild);
    resolved.channels = Object.fromEntries(
      built.channels
        .map((id) => known.find((c) => c.id === id))
        .filter((c): c is FakeChannel => c !== undefined)
        .map((c) => [
          c.id,
          { id: c.id, name: c.name, type: 0, permissions: memberPermissions(guild, context.user, c).toString() },
        ]),
    );
  }
  if (built.roles.length) {
    const known = allRoles(guild);
    resolved.roles = Object.fromEntries(
      built.roles
        .map((id) => known.find((r) => r.id === id))
        .filter((r) => r !== undefined)
        .map((r) => [r.id, apiRole(r)]),
    );
  }
  if (built.attachments.length) {
    resolved.attachments = Object.fromEntries(
      built.attachments
        .map((id) => context.attachment?.(id))
        .filter((a) => a !== undefined)
        .map((a) => [a.id, apiAttachment(a)]),
    );
  }
  return basePayload(InteractionType.ApplicationCommand, context, {
    id: command.id,
    name: command.name,
    type: command.type,
    ...(command.guild_id ? { guild_id: command.guild_id } : {}),
    ...(built.options.length ? { options: built.options } : {}),
    ...(Object.keys(resolved).length ? { resolved } : {}),
  });
}

export function clickPayload(context: PayloadContext, message: Json, component: Json, values?: string[]): Json {
  const data: Json = { custom_id: component.custom_id, component_type: component.type };
  if (component.type !== 2) data.values = values ?? [];
  return { ...basePayload(InteractionType.MessageComponent, context, data), message };
}

/**
 * A modal's submission: every text input of `modal` with the value the user typed (`values` by custom_id;
 * an input left out keeps its pre-filled value). From a button's modal, Discord includes the message.
 */
export function modalSubmitPayload(
  context: PayloadContext,
  modal: Json,
  values: Record<string, string>,
  message?: Json,
): Json {
  const rows = (modal.components as Json[]).map((row) => ({
    type: 1,
    components: (row.components as Json[]).map((input) => ({
      type: 4,
      custom_id: input.custom_id,
      value: values[input.custom_id as string] ?? (input.value as string | undefined) ?? '',
    })),
  }));
  const data = { custom_id: modal.custom_id, components: rows };
  return { ...basePayload(InteractionType.ModalSubmit, context, data), ...(message ? { message } : {}) };
}

/** Finds the component with `customId` anywhere in a message's components (rows or v2 nesting). */
export function findComponent(components: Json[], customId: string): Json | undefined {
  for (const component of components) {
    if (component.custom_id === customId) return component;
    const nested = [
      ...(Array.isArray(component.components) ? (component.components as Json[]) : []),
      ...(component.accessory ? [component.accessory as Json] : []),
    ];
    const found = findComponent(nested, customId);
    if (found) return found;
  }
  return undefined;
}

/** All custom_ids in a message's components, in order. */
export function customIds(components: Json[]): string[] {
  return components.flatMap((c) => [
    ...(typeof c.custom_id === 'string' ? [c.custom_id] : []),
    ...customIds([
      ...(Array.isArray(c.components) ? (c.components as Json[]) : []),
      ...(c.accessory ? [c.accessory as Json] : []),
    ]),
  ]);
}
