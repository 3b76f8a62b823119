// The fake Discord world: one guild with a few channels, roles and members, plus the bot user.
import { snowflake } from './snowflake.ts';
import { ALL_PERMISSIONS, EVERYONE_PERMISSIONS, Permission } from './permissions.ts';

export interface FakeUser {
  id: string;
  username: string;
  globalName: string;
  bot: boolean;
  /** Role ids this user holds in the guild (besides @everyone). */
  roles: string[];
}

export interface FakeRole {
  id: string;
  name: string;
  permissions: bigint;
  position: number;
}

export interface FakeChannel {
  id: string;
  name: string;
  position: number;
}

export interface World {
  applicationId: string;
  guildId: string;
  guildName: string;
  ownerId: string;
  bot: FakeUser;
  users: {
    /** Guild owner: every permission. */
    owner: FakeUser;
    /** Holds the Moderator role (Manage Server, Manage Messages). */
    moderator: FakeUser;
    alice: FakeUser;
    bob: FakeUser;
  };
  /** Members added with DiscordServer.addUser. */
  others: FakeUser[];
  roles: { everyone: FakeRole; moderator: FakeRole; bot: FakeRole };
  channels: { general: FakeChannel; art: FakeChannel; quiet: FakeChannel };
  createdAt: number;
}

export function createWorld(): World {
  const guildId = snowflake();
  const roles = {
    everyone: { id: guildId, name: '@everyone', permissions: EVERYONE_PERMISSIONS, position: 0 },
    moderator: {
      id: snowflake(),
      name: 'Moderator',
      permissions: EVERYONE_PERMISSIONS | Permission.ManageGuild | Permission.ManageMessages | Permission.KickMembers,
      position: 2,
    },
    bot: { id: snowflake(), name: 'EmojiForge', permissions: EVERYONE_PERMISSIONS, position: 1 },
  };
  const owner = user('owner');
  return {
    applicationId: snowflake(),
    guildId,
    guildName: 'Test Guild',
    ownerId: owner.id,
    bot: user('emojiforge', [roles.bot.id], true),
    users: { owner, moderator: user('moderator', [roles.moderator.id]), alice: user('alice'), bob: user('bob') },
    others: [],
    roles,
    channels: {
      general: { id: snowflake(), name: 'general', position: 0 },
      art: { id: snowflake(), name: 'art', position: 1 },
      quiet: { id: snowflake(), name: 'quiet', position: 2 },
    },
    createdAt: Date.now(),
  };
}

export function user(username: string, roleIds: string[] = [], bot = false): FakeUser {
  return { id: snowflake(), username, globalName: username[0].toUpperCase() + username.slice(1), bot, roles: roleIds };
}

export function allRoles(world: World): FakeRole[] {
  return Object.values(world.roles);
}

export function allChannels(world: World): FakeChannel[] {
  return Object.values(world.channels);
}

export function allMembers(world: World): FakeUser[] {
  return [world.bot, ...Object.values(world.users), ...world.others];
}

/** Guild-level permissions of a member, as Discord computes them (owner and Administrator get all). */
export function memberPermissions(world: World, user: FakeUser): bigint {
  if (user.id === world.ownerId) return ALL_PERMISSIONS;
  let bits = world.roles.everyone.permissions;
  for (const role of allRoles(world)) if (user.roles.includes(role.id)) bits |= role.permissions;
  return bits & Permission.Administrator ? ALL_PERMISSIONS : bits;
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

export function apiMember(world: World, user: FakeUser, withPermissions?: bigint): Record<string, unknown> {
  return {
    user: apiUser(user),
    nick: null,
    avatar: null,
    roles: user.roles,
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

export function apiChannel(world: World, channel: FakeChannel): Record<string, unknown> {
  return {
    id: channel.id,
    type: 0, // GUILD_TEXT
    guild_id: world.guildId,
    name: channel.name,
    position: channel.position,
    permission_overwrites: [],
    parent_id: null,
    topic: null,
    nsfw: false,
    last_message_id: null,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

export function apiGuild(world: World): Record<string, unknown> {
  return {
    id: world.guildId,
    name: world.guildName,
    icon: null,
    splash: null,
    discovery_splash: null,
    owner_id: world.ownerId,
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: allRoles(world).map(apiRole),
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    application_id: null,
    system_channel_id: world.channels.general.id,
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
export function apiGuildCreate(world: World): Record<string, unknown> {
  return {
    ...apiGuild(world),
    joined_at: new Date(world.createdAt).toISOString(),
    large: false,
    unavailable: false,
    member_count: allMembers(world).length,
    voice_states: [],
    members: allMembers(world).map((u) => apiMember(world, u)),
    channels: allChannels(world).map((c) => apiChannel(world, c)),
    threads: [],
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}
