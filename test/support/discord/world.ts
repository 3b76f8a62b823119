// The fake Discord world: any number of guilds, each with its own channels, roles and members, and the
// bot in all of them. The first guild is the default one (server.guildId, server.users, ...).
import { snowflake } from './snowflake.ts';
import { ALL_PERMISSIONS, EVERYONE_PERMISSIONS, Permission } from './permissions.ts';

export interface FakeUser {
  id: string;
  username: string;
  globalName: string;
  bot: boolean;
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
}

/** A channel permission overwrite: type 0 = role (the guild id is @everyone), 1 = member. */
export interface FakeOverwrite {
  id: string;
  type: 0 | 1;
  allow: bigint;
  deny: bigint;
}

export interface FakeChannel {
  id: string;
  name: string;
  position: number;
  guildId: string;
  /** Discord's age-restricted flag. */
  nsfw: boolean;
  overwrites: FakeOverwrite[];
}

export interface GuildUsers {
  /** Guild owner: every permission. */
  owner: FakeUser;
  /** Holds the Moderator role (Manage Server, Manage Messages). */
  moderator: FakeUser;
  alice: FakeUser;
  bob: FakeUser;
}

export interface GuildChannels {
  general: FakeChannel;
  art: FakeChannel;
  quiet: FakeChannel;
}

export interface FakeGuild {
  id: string;
  name: string;
  ownerId: string;
  users: GuildUsers;
  roles: { everyone: FakeRole; moderator: FakeRole; bot: FakeRole };
  channels: GuildChannels;
  /** Channels added with DiscordServer.addChannel. */
  extraChannels: FakeChannel[];
  /** Every member's role ids in this guild (besides @everyone), the bot included. */
  memberRoles: Map<string, string[]>;
  /** Custom emoji uploaded with POST /guilds/:guild/emojis, and how many the guild may have (50 unboosted). */
  emojis: FakeEmoji[];
  emojiLimit: number;
}

export interface FakeEmoji {
  id: string;
  name: string;
  /** The decoded image as uploaded. */
  data: Buffer;
  contentType: string;
}

export interface World {
  applicationId: string;
  bot: FakeUser;
  /** Every person known to the server, by id (members of any guild). */
  people: Map<string, FakeUser>;
  guilds: FakeGuild[];
  createdAt: number;
}

export function createWorld(): World {
  const bot = user('emojiforge', true);
  const world: World = {
    applicationId: snowflake(),
    bot,
    people: new Map([[bot.id, bot]]),
    guilds: [],
    createdAt: Date.now(),
  };
  addGuild(world, 'Test Guild');
  return world;
}

/** A new guild with its own owner, moderator, alice and bob (`suffix` tells them apart from other guilds'). */
export function addGuild(world: World, name: string, suffix = ''): FakeGuild {
  const id = snowflake();
  const roles = {
    everyone: { id, name: '@everyone', permissions: EVERYONE_PERMISSIONS, position: 0 },
    moderator: {
      id: snowflake(),
      name: 'Moderator',
      permissions: EVERYONE_PERMISSIONS | Permission.ManageGuild | Permission.ManageMessages | Permission.KickMembers,
      position: 2,
    },
    bot: { id: snowflake(), name: 'EmojiForge', permissions: EVERYONE_PERMISSIONS, position: 1 },
  };
  const users: GuildUsers = {
    owner: user(`owner${suffix}`),
    moderator: user(`moderator${suffix}`),
    alice: user(`alice${suffix}`),
    bob: user(`bob${suffix}`),
  };
  const channel = (name: string, position: number): FakeChannel => ({
    id: snowflake(),
    name,
    position,
    guildId: id,
    nsfw: false,
    overwrites: [],
  });
  const guild: FakeGuild = {
    id,
    name,
    ownerId: users.owner.id,
    users,
    roles,
    channels: { general: channel('general', 0), art: channel('art', 1), quiet: channel('quiet', 2) },
    extraChannels: [],
    memberRoles: new Map(),
    emojis: [],
    emojiLimit: 50,
  };
  world.guilds.push(guild);
  addMember(world, guild, world.bot, [roles.bot.id]);
  addMember(world, guild, users.owner);
  addMember(world, guild, users.moderator, [roles.moderator.id]);
  addMember(world, guild, users.alice);
  addMember(world, guild, users.bob);
  return guild;
}

/** Makes `member` a member of `guild` with these role ids (a person may be in several guilds). */
export function addMember(world: World, guild: FakeGuild, member: FakeUser, roleIds: string[] = []): FakeUser {
  world.people.set(member.id, member);
  guild.memberRoles.set(member.id, roleIds);
  return member;
}

/** A text channel of `guild` (not added to it: DiscordServer.addChannel does that). */
export function newChannel(
  guild: FakeGuild,
  name: string,
  options: { overwrites?: FakeOverwrite[]; nsfw?: boolean } = {},
): FakeChannel {
  return {
    id: snowflake(),
    name,
    position: allChannels(guild).length,
    guildId: guild.id,
    nsfw: options.nsfw ?? false,
    overwrites: options.overwrites ?? [],
  };
}

export function user(username: string, bot = false): FakeUser {
  return { id: snowflake(), username, globalName: username[0].toUpperCase() + username.slice(1), bot };
}

export function allRoles(guild: FakeGuild): FakeRole[] {
  return Object.values(guild.roles);
}

export function allChannels(guild: FakeGuild): FakeChannel[] {
  return [...Object.values(guild.channels), ...guild.extraChannels];
}

export function worldChannels(world: World): FakeChannel[] {
  return world.guilds.flatMap(allChannels);
}

export function findChannel(world: World, id: string): FakeChannel | undefined {
  return worldChannels(world).find((c) => c.id === id);
}

export function findGuild(world: World, id: string): FakeGuild | undefined {
  return world.guilds.find((g) => g.id === id);
}

export function guildOf(world: World, channel: FakeChannel): FakeGuild {
  const guild = findGuild(world, channel.guildId);
  if (!guild) throw new Error(`channel ${channel.id} belongs to no guild of this world`);
  return guild;
}

export function allMembers(world: World, guild: FakeGuild): FakeUser[] {
  return [...guild.memberRoles.keys()].map((id) => world.people.get(id)!);
}

export function isMember(guild: FakeGuild, user: FakeUser): boolean {
  return guild.memberRoles.has(user.id);
}

/**
 * A member's permissions as Discord computes them: guild level (owner and Administrator get all), then,
 * in a channel, the @everyone overwrite, the role overwrites together, and the member's own overwrite.
 */
export function memberPermissions(guild: FakeGuild, member: FakeUser, channel?: FakeChannel): bigint {
  if (member.id === guild.ownerId) return ALL_PERMISSIONS;
  const roleIds = guild.memberRoles.get(member.id) ?? [];
  let bits = guild.roles.everyone.permissions;
  for (const role of allRoles(guild)) if (roleIds.includes(role.id)) bits |= role.permissions;
  if (bits & Permission.Administrator) return ALL_PERMISSIONS;
  if (!channel) return bits;
  const apply = (o: FakeOverwrite | undefined) => {
    if (o) bits = (bits & ~o.deny) | o.allow;
  };
  apply(channel.overwrites.find((o) => o.type === 0 && o.id === guild.id));
  let allow = 0n;
  let deny = 0n;
  for (const o of channel.overwrites) {
    if (o.type === 0 && roleIds.includes(o.id)) {
      allow |= o.allow;
      deny |= o.deny;
    }
  }
  bits = (bits & ~deny) | allow;
  apply(channel.overwrites.find((o) => o.type === 1 && o.id === member.id));
  return bits;
}

// --- API object shapes (Discord API v10) ---

export function apiUser(user: FakeUser): Record<string, unknown> {
  return {
    id: user.id,
    username: user.username,
    discriminator: '0',
    global_name: user.bot ? null : user.globalName,
    avatar: null,
    bot: user.bot || undefined,
    public_flags: 0,
    flags: 0,
  };
}

export function apiMember(
  world: World,
  guild: FakeGuild,
  user: FakeUser,
  withPermissions?: bigint,
): Record<string, unknown> {
  return {
    user: apiUser(user),
    nick: null,
    avatar: null,
    roles: guild.memberRoles.get(user.id) ?? [],
    joined_at: new Date(world.createdAt).toISOString(),
    premium_since: null,
    deaf: false,
    mute: false,
    flags: 0,
    pending: false,
    communication_disabled_until: null,
    ...(withPermissions === undefined ? {} : { permissions: withPermissions.toString() }),
  };
}

export function apiRole(role: FakeRole): Record<string, unknown> {
  return {
    id: role.id,
    name: role.name,
    color: 0,
    colors: { primary_color: 0, secondary_color: null, tertiary_color: null },
    hoist: false,
    icon: null,
    unicode_emoji: null,
    position: role.position,
    permissions: role.permissions.toString(),
    managed: false,
    mentionable: false,
    flags: 0,
  };
}

export function apiChannel(channel: FakeChannel): Record<string, unknown> {
  return {
    id: channel.id,
    type: 0, // GUILD_TEXT
    guild_id: channel.guildId,
    name: channel.name,
    position: channel.position,
    permission_overwrites: channel.overwrites.map((o) => ({
      id: o.id,
      type: o.type,
      allow: o.allow.toString(),
      deny: o.deny.toString(),
    })),
    parent_id: null,
    topic: null,
    nsfw: channel.nsfw,
    last_message_id: null,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

export function apiGuild(guild: FakeGuild): Record<string, unknown> {
  return {
    id: guild.id,
    name: guild.name,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: guild.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: allRoles(guild).map(apiRole),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: guild.channels.general.id,
    system_channel_flags: 0,
    rules_channel_id: null,
    max_members: 500000,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    premium_subscription_count: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    safety_alerts_channel_id: null,
  };
}

/** The GUILD_CREATE payload: the guild plus what the gateway adds to it. */
export function apiGuildCreate(world: World, guild: FakeGuild): Record<string, unknown> {
  const members = allMembers(world, guild);
  return {
    ...apiGuild(guild),
    joined_at: new Date(world.createdAt).toISOString(),
    large: false,
    unavailable: false,
    member_count: members.length,
    voice_states: [],
    members: members.map((u) => apiMember(world, guild, u)),
    channels: allChannels(guild).map(apiChannel),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
