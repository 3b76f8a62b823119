// Custom emoji: POST /guilds/:guild/emojis as Discord checks it (the bot's Manage Expressions in the
// guild, a name of 2-32 letters, digits or _, an image data URI of at most 256 KiB, the guild's slots).
import type { Router } from './http.ts';
import type { ServerState } from './state.ts';
import { DiscordHttpError, invalidFormBody, unknownGuild } from './errors.ts';
import { Permission } from './permissions.ts';
import { snowflake } from './snowflake.ts';
import { apiUser, findGuild, memberPermissions } from './world.ts';

export const EMOJI_MAX_BYTES = 256 * 1024;
const DATA_URI = /^data:(image\/(?:png|jpeg|gif|webp));base64,([A-Za-z0-9+/=]+)$/;

export function addEmojiRoutes(router: Router, state: ServerState): void {
  router.add({
    method: 'POST',
    template: '/guilds/:guild/emojis',
    auth: true,
    major: (p) => p.guild,
    handle: (req) => {
      const guild = findGuild(state.world, req.params.guild);
      if (!guild) throw unknownGuild();
      const what = `POST /guilds/${guild.id}/emojis`;
      if (!(memberPermissions(guild, state.world.bot) & Permission.ManageGuildExpressions)) {
        state.violation(`${what}: the bot lacks Manage Expressions in ${guild.name} (check app_permissions first)`);
        throw new DiscordHttpError(403, 50013, 'Missing Permissions');
      }
      const body = (req.json ?? {}) as Record<string, unknown>;
      const name = body.name;
      const image = typeof body.image === 'string' ? DATA_URI.exec(body.image) : null;
      const data = image ? Buffer.from(image[2], 'base64') : undefined;
      const problems = [
        ...(typeof name === 'string' && /^[A-Za-z0-9_]{2,32}$/.test(name)
          ? []
          : [{ path: 'name', code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be 2-32 of A-Z, a-z, 0-9 and _.' }]),
        ...(data && data.length <= EMOJI_MAX_BYTES
          ? []
          : [{ path: 'image', code: 'BINARY_TYPE_MAX_SIZE', message: 'File cannot be larger than 256.0 kb.' }]),
      ];
      if (problems.length > 0) {
        state.violation(`${what}: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
        throw invalidFormBody(problems);
      }
      if (guild.emojis.length >= guild.emojiLimit)
        throw new DiscordHttpError(400, 30008, `Maximum number of emojis reached (${guild.emojiLimit})`);
      const emoji = { id: snowflake(), name: name as string, data: data!, contentType: image![1] };
      guild.emojis.push(emoji);
      state.changed();
      return {
        status: 201,
        body: {
          id: emoji.id,
          name: emoji.name,
          roles: [],
          user: apiUser(state.world.bot),
          require_colons: true,
          managed: false,
          animated: false,
          available: true,
        },
      };
    },
  });
}
