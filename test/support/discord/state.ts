// Everything the server knows: the world, registered commands, messages, interactions, and the
// record of rule violations. Routes and the gateway read and change it; tests inspect it.
import { EventEmitter } from 'node:events';
import { CommandRegistry } from './commands.ts';
import { MessageStore, apiMessage, type MessageWrite, type StoredMessage } from './messages.ts';
import type { InteractionHandle } from './interactions.ts';
import type { RateLimitPolicy } from './ratelimit.ts';
import type { FakeUser, World } from './world.ts';

export interface DiscordServerOptions {
  /** Time allowed from dispatch to the first interaction callback (Discord: 3 s). */
  ackWindowMs?: number;
  /** How long an interaction token works for webhook edits and follow-ups (Discord: 15 min). */
  tokenLifetimeMs?: number;
  /** Largest attachment accepted, sent to the bot as `attachment_size_limit` (Discord: 10 MiB). */
  attachmentSizeLimit?: number;
  /** Edits (PATCH) per interaction token; over it the server answers 429. null: unlimited. */
  editRateLimit?: RateLimitPolicy | null;
  /** The bucket every other route reports (and enforces) per route and major parameter. */
  defaultRateLimit?: RateLimitPolicy;
  /** Concurrent PATCHes to one message above this are a violation (issue 5: at most one). */
  maxEditsInFlight?: number;
  /** HELLO's heartbeat_interval. */
  heartbeatIntervalMs?: number;
  /** Default timeout of the handle's wait helpers. */
  waitTimeoutMs?: number;
  /** Receives one line per request and gateway event (the token never appears). */
  log?: (line: string) => void;
}

export type ResolvedOptions = Required<Omit<DiscordServerOptions, 'log'>> & Pick<DiscordServerOptions, 'log'>;

export function resolveOptions(options: DiscordServerOptions): ResolvedOptions {
  return {
    ackWindowMs: 3000,
    tokenLifetimeMs: 15 * 60 * 1000,
    attachmentSizeLimit: 10 * 1024 * 1024,
    editRateLimit: { limit: 5, windowMs: 5000 },
    defaultRateLimit: { limit: 50, windowMs: 1000 },
    maxEditsInFlight: 1,
    heartbeatIntervalMs: 41250,
    waitTimeoutMs: 10_000,
    ...options,
  };
}

export interface RequestRecord {
  at: number;
  method: string;
  /** Path below /api/v10 (interaction and webhook tokens replaced by ":token"). */
  path: string;
  status: number;
  durationMs: number;
  /** Set when the answer came from inject(). */
  injected?: boolean;
}

export class ServerState {
  readonly events = new EventEmitter();
  readonly commands: CommandRegistry;
  readonly messages: MessageStore;
  readonly interactions = new Map<string, InteractionHandle>();
  readonly byToken = new Map<string, InteractionHandle>();
  readonly violations: string[] = [];
  readonly requests: RequestRecord[] = [];
  /** Every message write (creation or edit) by any route, oldest first. */
  readonly writes: MessageWrite[] = [];
  /** PATCHes currently being answered, per message id. */
  readonly editsInFlight = new Map<string, number>();
  /** The most concurrent PATCHes ever seen, per message id. */
  readonly maxEditsInFlight = new Map<string, number>();
  baseUrl = '';

  constructor(
    readonly options: ResolvedOptions,
    readonly world: World,
    readonly token: string,
  ) {
    this.events.setMaxListeners(0);
    this.commands = new CommandRegistry(world.applicationId);
    this.messages = new MessageStore(() => this.baseUrl);
  }

  /** Tells the gateway a visible message appeared, changed or went away (MESSAGE_* dispatches). */
  messageEvent(kind: 'create' | 'update' | 'delete', message: StoredMessage): void {
    if (message.flags & 64) return; // ephemeral messages produce no gateway events
    this.events.emit('message', kind, message);
  }

  violation(text: string): void {
    this.violations.push(text);
    this.log(`VIOLATION ${text}`);
    this.changed();
  }

  changed(): void {
    this.events.emit('change');
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  user(id: string): FakeUser | undefined {
    return this.world.people.get(id);
  }

  interactionFor(message: StoredMessage): InteractionHandle | undefined {
    return message.interactionId ? this.interactions.get(message.interactionId) : undefined;
  }

  apiMessage(message: StoredMessage): Record<string, unknown> {
    const interaction = this.interactionFor(message);
    return apiMessage(message, {
      author: this.world.bot,
      applicationId: this.world.applicationId,
      ...(interaction && message.kind === 'interaction-response'
        ? { interaction: { id: interaction.id, type: interaction.type, user: interaction.user } }
        : {}),
    });
  }

  get waitTimeoutMs(): number {
    return this.options.waitTimeoutMs;
  }

  editStarted(messageId: string): void {
    const now = (this.editsInFlight.get(messageId) ?? 0) + 1;
    this.editsInFlight.set(messageId, now);
    const max = Math.max(now, this.maxEditsInFlight.get(messageId) ?? 0);
    this.maxEditsInFlight.set(messageId, max);
    if (now > this.options.maxEditsInFlight) {
      this.violation(
        `${now} edits in flight at once to message ${messageId}, at most ${this.options.maxEditsInFlight} allowed`,
      );
    }
  }

  editFinished(messageId: string): void {
    this.editsInFlight.set(messageId, Math.max(0, (this.editsInFlight.get(messageId) ?? 1) - 1));
  }
}
