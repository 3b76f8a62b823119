// Read-only routes discord.js calls on login or when it needs an object it has not cached.
import type { Router } from './http.ts';
import type { ServerState } from './state.ts';
import { unknownChannel, unknownGuild, unknownMember, unknownApplication, DiscordHttpError } from './errors.ts';
import {
  allChannels,
  allMembers,
  allRoles,
  apiChannel,
  apiGuild,
  apiMember,
  apiRole,
  apiUser,
  findChannel,
  findGuild,
  type FakeGuild,
} from './world.ts';

export function addInfoRoutes(router: Router, state: ServerState, gatewayUrl: () => string): void {
  const { world } = state;
  const ok = (body: unknown) => ({ status: 200, body });

  router.add({
    method: 'GET',
    template: '/gateway/bot',
    auth: true,
    handle: () =>
      ok({
        url: gatewayUrl(),
        shards: 1,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 86_400_000, max_concurrency: 1 },
      }),
  });
  router.add({ method: 'GET', template: '/gateway', auth: false, handle: () => ok({ url: gatewayUrl() }) });
  router.add({
    method: 'GET',
    template: '/users/@me',
    auth: true,
    handle: () => ok({ ...apiUser(world.bot), verified: true, mfa_enabled: false }),
  });
  router.add({
    method: 'GET',
    template: '/users/:user',
    auth: true,
    major: (p) => p.user,
    handle: ({ params }) => {
      const user = state.user(params.user);
      if (!user) throw new DiscordHttpError(404, 10013, 'Unknown User');
      return ok(apiUser(user));
    },
  });
  const application = () => ({
    id: world.applicationId,
    name: world.bot.username,
    icon: null,
    description: '',
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    flags: 0,
    owner: apiUser(world.guilds[0].users.owner),
    bot: apiUser(world.bot),
    team: null,
    approximate_guild_count: world.guilds.length,
  });
  router.add({ method: 'GET', template: '/applications/@me', auth: true, handle: () => ok(application()) });
  router.add({
    method: 'GET',
    template: '/applications/:app',
    auth: true,
    handle: ({ params }) => {
      if (params.app !== world.applicationId) throw unknownApplication();
      return ok(application());
    },
  });

  /** Answers with `body(guild)` for a guild of the world, 10004 Unknown Guild for any other id. */
  const inGuild = (id: string, body: (guild: FakeGuild) => unknown) => {
    const guild = findGuild(world, id);
    if (!guild) throw unknownGuild();
    return ok(body(guild));
  };
  router.add({
    method: 'GET',
    template: '/guilds/:guild',
    auth: true,
    major: (p) => p.guild,
    handle: ({ params }) => inGuild(params.guild, (g) => apiGuild(g)),
  });
  router.add({
    method: 'GET',
    template: '/guilds/:guild/roles',
    auth: true,
    major: (p) => p.guild,
    handle: ({ params }) => inGuild(params.guild, (g) => allRoles(g).map(apiRole)),
  });
  router.add({
    method: 'GET',
    template: '/guilds/:guild/channels',
    auth: true,
    major: (p) => p.guild,
    handle: ({ params }) => inGuild(params.guild, (g) => allChannels(g).map(apiChannel)),
  });
  router.add({
    method: 'GET',
    template: '/guilds/:guild/members/:user',
    auth: true,
    major: (p) => p.guild,
    handle: ({ params }) =>
      inGuild(params.guild, (g) => {
        const user = allMembers(world, g).find((u) => u.id === params.user);
        if (!user) throw unknownMember();
        return apiMember(world, g, user);
      }),
  });
  router.add({
    method: 'GET',
    template: '/guilds/:guild/members',
    auth: true,
    major: (p) => p.guild,
    handle: ({ params }) => inGuild(params.guild, (g) => allMembers(world, g).map((u) => apiMember(world, g, u))),
  });
  router.add({
    method: 'GET',
    template: '/channels/:channel',
    auth: true,
    major: (p) => p.channel,
    handle: ({ params }) => {
      const channel = findChannel(world, params.channel);
      if (!channel) throw unknownChannel();
      return ok(apiChannel(channel));
    },
  });
}
