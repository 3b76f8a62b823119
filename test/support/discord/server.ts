// The Discord-compatible server tests start: REST under /api/v10, the gateway at /gateway, and the
// test-driving API (dispatch slash commands and clicks, inspect messages, inject failures).
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gateway, GATEWAY_PATH, type GatewayInfo } from './gateway.ts';
import { Router } from './http.ts';
import { buildOptions, SlashCommandError, type OptionValue, type RegisteredCommand } from './commands.ts';
import {
  InteractionHandle,
  InteractionType,
  autocompletePayload,
  clickPayload,
  findComponent,
  modalSubmitPayload,
  slashPayload,
} from './interactions.ts';
import {
  isEphemeral,
  type MessageWrite,
  type StoredAttachment,
  type StoredMessage,
  type UserUpload,
} from './messages.ts';
import type { InjectOptions, Injection } from './ratelimit.ts';
import { addChannelRoutes } from './routes-channels.ts';
import { addEmojiRoutes } from './routes-emojis.ts';
import { addCommandRoutes } from './routes-commands.ts';
import { addInfoRoutes } from './routes-info.ts';
import { addInteractionRoutes, recordMissedAck } from './routes-interactions.ts';
import { randomToken } from './snowflake.ts';
import { ServerState, resolveOptions, type DiscordServerOptions, type RequestRecord } from './state.ts';
import { waitUntil } from './waiting.ts';
import {
  addGuild,
  addMember,
  apiChannel,
  createWorld,
  findChannel,
  guildOf,
  isMember,
  newChannel,
  user,
  type FakeChannel,
  type FakeGuild,
  type FakeOverwrite,
  type FakeUser,
  type GuildChannels,
  type GuildUsers,
  type World,
} from './world.ts';

export interface SlashOptions {
  user: FakeUser;
  /** The command's name, without the slash. */
  command: string;
  /** Option values by name; users, channels and roles as objects with an id (or the id). */
  options?: Record<string, OptionValue | undefined>;
  /** "limits", or "group subcommand". */
  subcommand?: string;
  /** Default: the general channel of the first guild. A channel of another guild sends it from there. */
  channelId?: string;
  /** Overrides the member's permissions in the payload (a bigint or decimal string). */
  memberPermissions?: bigint | string;
  /** Skip the client-side checks (types, choices, ranges, required options) a Discord client makes. */
  unchecked?: boolean;
  locale?: string;
}

export interface ClickOptions {
  user: FakeUser;
  /** The message the component is on (a stored message or its id). */
  message: StoredMessage | string;
  customId: string;
  /** Selected values, for select menus. */
  values?: string[];
  /** Send a custom_id that is not on the message (a forged click); by default that is refused. */
  forge?: boolean;
  memberPermissions?: bigint | string;
}

export interface ModalSubmitOptions {
  user: FakeUser;
  /** The interaction the bot answered with the modal (callback type 9). */
  interaction: InteractionHandle;
  /** What the user typed, by text input custom_id (inputs left out keep their pre-filled value). */
  values?: Record<string, string>;
}

/** No bot session is connected to receive a dispatch. */
export class NoBotConnectedError extends Error {
  override name = 'NoBotConnectedError';
}

export class DiscordServer {
  readonly token = randomToken('ZmFrZS1ib3Q');
  readonly world: World = createWorld();
  readonly state: ServerState;
  readonly #http: Server;
  readonly #router: Router;
  readonly #gateway: Gateway;
  readonly #timers = new Set<NodeJS.Timeout>();
  #port = 0;

  constructor(options: DiscordServerOptions = {}) {
    this.state = new ServerState(resolveOptions(options), this.world, this.token);
    this.#router = new Router(this.state);
    this.#gateway = new Gateway(this.state, () => this.gatewayUrl);
    addInfoRoutes(this.#router, this.state, () => this.gatewayUrl);
    addCommandRoutes(this.#router, this.state);
    addInteractionRoutes(this.#router, this.state);
    addChannelRoutes(this.#router, this.state);
    addEmojiRoutes(this.#router, this.state);
    this.#http = createServer((req, res) => {
      this.#router.serve(req, res).catch((error: Error) => {
        this.state.violation(`the fake Discord server failed on ${req.method} ${req.url}: ${error.stack}`);
        if (!res.headersSent) res.writeHead(500).end();
      });
    });
    this.#http.keepAliveTimeout = 60_000;
    this.#gateway.attach(this.#http);
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.#http.once('error', reject);
      this.#http.listen(0, '127.0.0.1', () => resolve());
    });
    this.#port = (this.#http.address() as AddressInfo).port;
    this.state.baseUrl = `http://127.0.0.1:${this.#port}`;
    return this;
  }

  /** Pass as `new Client({ rest: { api: server.apiUrl } })` (discord.js appends /v10). */
  get apiUrl(): string {
    return `http://127.0.0.1:${this.#port}/api`;
  }
  get gatewayUrl(): string {
    return `ws://127.0.0.1:${this.#port}${GATEWAY_PATH}`;
  }
  get applicationId(): string {
    return this.world.applicationId;
  }
  /** The first guild (the default one for slash(), click() and the getters below). */
  get guild(): FakeGuild {
    return this.world.guilds[0];
  }
  get guildId(): string {
    return this.guild.id;
  }
  get users(): GuildUsers {
    return this.guild.users;
  }
  get botUser(): FakeUser {
    return this.world.bot;
  }
  get channels(): GuildChannels {
    return this.guild.channels;
  }
  get roles(): FakeGuild['roles'] {
    return this.guild.roles;
  }
  get guilds(): readonly FakeGuild[] {
    return this.world.guilds;
  }
  /** Rule violations so far (tests assert this stays empty). */
  get violations(): readonly string[] {
    return this.state.violations;
  }
  /** Every REST request answered, oldest first. */
  get requests(): readonly RequestRecord[] {
    return this.state.requests;
  }
  /** Every message write (creation or edit), oldest first. */
  get writes(): readonly MessageWrite[] {
    return this.state.writes;
  }
  get gateway(): Readonly<GatewayInfo> {
    return this.#gateway.info;
  }
  get interactions(): InteractionHandle[] {
    return [...this.state.interactions.values()];
  }

  /** Adds a member to `guild` (default the first; a plain member unless given role ids, e.g. server.roles.moderator.id). */
  addUser(username: string, options: { roles?: string[]; guild?: FakeGuild } = {}): FakeUser {
    return addMember(this.world, options.guild ?? this.guild, user(username), options.roles ?? []);
  }

  /** Makes an existing person a member of another guild too (with that guild's role ids). */
  addMember(guild: FakeGuild, member: FakeUser, roles: string[] = []): FakeUser {
    addMember(this.world, guild, member, roles);
    return member;
  }

  /**
   * Another guild with its own owner, moderator, alice and bob (names end in `suffix`, default "-2",
   * "-3", ...), channels and roles. The bot is in it: connected sessions get its GUILD_CREATE.
   */
  addGuild(name = `Guild ${this.world.guilds.length + 1}`, suffix = `-${this.world.guilds.length + 1}`): FakeGuild {
    const guild = addGuild(this.world, name, suffix);
    this.#gateway.guildJoined(guild);
    this.state.changed();
    return guild;
  }

  /** A text channel added to `guild`, with permission overwrites (e.g. hidden from @everyone). */
  addChannel(
    guild: FakeGuild,
    name: string,
    options: { overwrites?: FakeOverwrite[]; nsfw?: boolean } = {},
  ): FakeChannel {
    const channel = newChannel(guild, name, options);
    guild.extraChannels.push(channel);
    this.#gateway.dispatch('CHANNEL_CREATE', apiChannel(channel));
    return channel;
  }

  /** Milliseconds from dispatch to first callback, for every acknowledged interaction so far. */
  ackLatencies(): number[] {
    return this.interactions.flatMap((i) => (i.ack ? [i.ack.latencyMs] : []));
  }

  /** Returns the violations so far and forgets them (for tests that break rules on purpose). */
  takeViolations(): string[] {
    return this.state.violations.splice(0);
  }

  /** Resolves once a bot session has identified (READY and GUILD_CREATE sent). */
  waitForBot(timeoutMs = this.state.options.waitTimeoutMs): Promise<void> {
    return waitUntil(
      this.state.events,
      () => (this.#gateway.liveSessions().length > 0 ? true : undefined),
      timeoutMs,
      () => `a bot to connect to the gateway (${this.#gateway.info.identifies} identifies so far)`,
    ).then(() => undefined);
  }

  /** Dispatches INTERACTION_CREATE for a slash command, as a member typing it in Discord. */
  slash(options: SlashOptions): InteractionHandle {
    const channel = this.#channel(options.channelId);
    const guild = guildOf(this.world, channel);
    if (!isMember(guild, options.user))
      throw new Error(`${options.user.username} is not a member of ${guild.name}; server.addMember(guild, user) first`);
    const command = this.state.commands.resolve(options.command, guild.id);
    if (!command) {
      const known = [...this.state.commands.list(), ...this.state.commands.list(guild.id)].map((c) => c.name);
      throw new SlashCommandError(
        `/${options.command} is not registered (registered: [${known.join(', ')}]); the bot must register it first`,
      );
    }
    const values = Object.fromEntries(
      Object.entries(options.options ?? {}).filter(([, v]) => v !== undefined),
    ) as Record<string, OptionValue>;
    const built = buildOptions(command, options.subcommand, values, options.unchecked);
    const payload = slashPayload(
      this.#context(options.user, channel, options.memberPermissions, options.locale),
      command,
      built,
    );
    return this.#dispatch(
      new InteractionHandle(
        this.state,
        InteractionType.ApplicationCommand,
        options.user,
        channel.id,
        payload,
        this.state.options.tokenLifetimeMs,
      ),
    );
  }

  /**
   * Dispatches INTERACTION_CREATE type 4, as a Discord client does while `focused` is being typed: the
   * options so far (unchecked, as partial input is), the bot answers with choices (`handle.choices`).
   */
  autocomplete(options: SlashOptions & { focused: string }): InteractionHandle {
    const channel = this.#channel(options.channelId);
    const command = this.state.commands.resolve(options.command, guildOf(this.world, channel).id);
    if (!command) throw new SlashCommandError(`/${options.command} is not registered`);
    const values = Object.fromEntries(
      Object.entries(options.options ?? {}).filter(([, v]) => v !== undefined),
    ) as Record<string, OptionValue>;
    const built = buildOptions(command, options.subcommand, values, true);
    const payload = autocompletePayload(this.#context(options.user, channel), command, built, options.focused);
    return this.#dispatch(
      new InteractionHandle(
        this.state,
        InteractionType.Autocomplete,
        options.user,
        channel.id,
        payload,
        this.state.options.tokenLifetimeMs,
      ),
    );
  }

  /** Dispatches INTERACTION_CREATE for a button (or select menu) on a message the bot sent. */
  click(options: ClickOptions): InteractionHandle {
    const id = typeof options.message === 'string' ? options.message : options.message.id;
    const message = this.state.messages.get(id);
    if (!message) throw new Error(`cannot click on message ${id}: it does not exist (or was deleted)`);
    let component = findComponent(message.components, options.customId);
    if (!component) {
      if (!options.forge) {
        throw new Error(
          `message ${id} has no component with custom_id ${JSON.stringify(options.customId)}; pass forge: true to send it anyway`,
        );
      }
      component = { type: 2, style: 1, custom_id: options.customId };
    }
    if (component.disabled)
      throw new Error(
        `component ${JSON.stringify(options.customId)} on message ${id} is disabled; Discord does not let a user click it`,
      );
    const channel = this.#channel(message.channelId);
    if (!isMember(guildOf(this.world, channel), options.user))
      throw new Error(`${options.user.username} is not a member of the guild of message ${id}`);
    const payload = clickPayload(
      this.#context(options.user, channel, options.memberPermissions),
      this.state.apiMessage(message),
      component,
      options.values,
    );
    return this.#dispatch(
      new InteractionHandle(
        this.state,
        InteractionType.MessageComponent,
        options.user,
        channel.id,
        payload,
        this.state.options.tokenLifetimeMs,
        message.id,
      ),
    );
  }

  /**
   * A file a user attaches to a slash command (pass `{ id }` as the attachment option's value); served
   * at its `url` like every attachment, with `redirectTo` / `delayMs` to play a misbehaving CDN.
   */
  upload(upload: UserUpload, channelId: string = this.channels.general.id): StoredAttachment {
    return this.state.messages.upload(channelId, upload);
  }

  /** Dispatches INTERACTION_CREATE type 5: the user submits the modal the bot opened for `interaction`. */
  submitModal(options: ModalSubmitOptions): InteractionHandle {
    const opened = options.interaction;
    if (!opened.modal)
      throw new Error(`${opened.label} was not answered with a modal (ack: ${opened.ack?.type ?? 'none'})`);
    const channel = this.#channel(opened.channelId);
    const source = opened.sourceMessageId ? this.state.messages.get(opened.sourceMessageId) : undefined;
    const payload = modalSubmitPayload(
      this.#context(options.user, channel),
      opened.modal,
      options.values ?? {},
      source ? this.state.apiMessage(source) : undefined,
    );
    return this.#dispatch(
      new InteractionHandle(
        this.state,
        InteractionType.ModalSubmit,
        options.user,
        channel.id,
        payload,
        this.state.options.tokenLifetimeMs,
        source?.id,
      ),
    );
  }

  /** Messages in a channel, oldest first, ephemeral ones excluded (what members would see). */
  channelMessages(channelId: string = this.channels.general.id): StoredMessage[] {
    return this.state.messages.inChannel(channelId).filter((m) => !isEphemeral(m));
  }

  /** Resolves with the first channel message for which `predicate` holds. */
  waitForChannelMessage(
    channelId: string,
    predicate: (message: StoredMessage) => boolean,
    timeoutMs = this.state.options.waitTimeoutMs,
  ): Promise<StoredMessage> {
    return waitUntil(
      this.state.events,
      () => this.channelMessages(channelId).find(predicate),
      timeoutMs,
      () =>
        `a message in channel ${channelId} matching ${predicate.toString().slice(0, 200)} (${this.channelMessages(channelId).length} messages there)`,
    );
  }

  /** Waits until `check` returns something other than undefined/false, re-checking on every server change. */
  waitFor<T>(
    check: () => T | undefined | false,
    description: string,
    timeoutMs = this.state.options.waitTimeoutMs,
  ): Promise<T> {
    return waitUntil(
      this.state.events,
      () => check() || undefined,
      timeoutMs,
      () => description,
    ) as Promise<T>;
  }

  message(id: string): StoredMessage | undefined {
    return this.state.messages.get(id);
  }

  registeredCommands(guildId?: string): RegisteredCommand[] {
    return this.state.commands.list(guildId);
  }

  /** Makes matching requests fail (429 / 5xx) or slow down; see InjectOptions. */
  inject(options: InjectOptions): Injection {
    return this.#router.inject(options);
  }

  /** The most PATCHes ever in flight at once to one message (or to any message). */
  maxEditsInFlight(messageId?: string): number {
    if (messageId) return this.state.maxEditsInFlight.get(messageId) ?? 0;
    return Math.max(0, ...this.state.maxEditsInFlight.values());
  }

  /** Sends op 7 RECONNECT to connected bots (they should resume). */
  requestReconnect(): void {
    this.#gateway.requestReconnect();
  }

  /** Cuts every gateway connection without a close frame (they should resume). */
  dropConnections(): void {
    this.#gateway.dropConnections();
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.state.events.emit('close');
    this.#gateway.close();
    this.#http.closeAllConnections();
    await new Promise<void>((resolve) => this.#http.close(() => resolve()));
  }

  #channel(id?: string): FakeChannel {
    const channel = id === undefined ? this.channels.general : findChannel(this.world, id);
    if (!channel)
      throw new Error(`no channel ${id} in any guild of the world; use server.channels.*.id or guild.channels.*.id`);
    return channel;
  }

  #context(user: FakeUser, channel: FakeChannel, memberPermissions?: bigint | string, locale?: string) {
    return {
      world: this.world,
      user,
      channel,
      attachmentSizeLimit: this.state.options.attachmentSizeLimit,
      attachment: (id: string) => this.state.messages.attachment(id),
      ...(memberPermissions !== undefined ? { memberPermissions } : {}),
      ...(locale ? { locale } : {}),
    };
  }

  #dispatch(handle: InteractionHandle): InteractionHandle {
    if (this.#gateway.dispatch('INTERACTION_CREATE', handle.payload) === 0) {
      throw new NoBotConnectedError(
        `no bot session is connected to receive ${handle.label}; await server.waitForBot() first`,
      );
    }
    this.state.interactions.set(handle.id, handle);
    this.state.byToken.set(handle.token, handle);
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      // A callback still being answered is judged by its arrival time when it completes.
      if (handle.callbacksInFlight === 0) recordMissedAck(this.state, handle);
    }, this.state.options.ackWindowMs);
    timer.unref();
    this.#timers.add(timer);
    this.state.log(`dispatched ${handle.label} by ${handle.user.username} (interaction ${handle.id})`);
    this.state.changed();
    return handle;
  }
}

export async function startDiscordServer(options: DiscordServerOptions = {}): Promise<DiscordServer> {
  return new DiscordServer(options).listen();
}
