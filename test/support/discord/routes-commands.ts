// Application command registration: global and per guild, listed, replaced in bulk, or one by one.
import type { ApiRequest, Router } from './http.ts';
import type { ServerState } from './state.ts';
import { unknownApplication, unknownCommand, unknownGuild } from './errors.ts';

export function addCommandRoutes(router: Router, state: ServerState): void {
  const { world, commands } = state;
  const scope = ({ method, path, params }: ApiRequest): string | undefined => {
    if (params.app !== world.applicationId) {
      state.violation(`${method} ${path}: application id ${params.app} is not this bot's (${world.applicationId})`);
      throw unknownApplication();
    }
    if (params.guild !== undefined && !world.guilds.some((g) => g.id === params.guild)) {
      state.violation(`${method} ${path}: the bot is not in guild ${params.guild}`);
      throw unknownGuild();
    }
    return params.guild;
  };
  const refused = (req: ApiRequest, error: unknown): never => {
    state.violation(
      `${req.method} ${req.path}: command registration refused (${(error as Error).message}): ${JSON.stringify((error as { errors?: unknown }).errors ?? {}).slice(0, 400)}`,
    );
    throw error;
  };

  for (const base of ['/applications/:app/commands', '/applications/:app/guilds/:guild/commands']) {
    const major = (p: Record<string, string>) => p.guild ?? p.app;
    router.add({
      method: 'GET',
      template: base,
      auth: true,
      major,
      handle: (req) => ({ status: 200, body: commands.list(scope(req)) }),
    });
    router.add({
      method: 'PUT',
      template: base,
      auth: true,
      major,
      handle: (req) => {
        const guildId = scope(req);
        try {
          return { status: 200, body: commands.overwrite(req.json, guildId) };
        } catch (error) {
          return refused(req, error);
        }
      },
    });
    router.add({
      method: 'POST',
      template: base,
      auth: true,
      major,
      handle: (req) => {
        const guildId = scope(req);
        try {
          const { command, created } = commands.upsert(req.json, guildId);
          return { status: created ? 201 : 200, body: command };
        } catch (error) {
          return refused(req, error);
        }
      },
    });
    router.add({
      method: 'GET',
      template: `${base}/:command`,
      auth: true,
      major,
      handle: (req) => {
        const command = commands.get(req.params.command, scope(req));
        if (!command) throw unknownCommand();
        return { status: 200, body: command };
      },
    });
    router.add({
      method: 'PATCH',
      template: `${base}/:command`,
      auth: true,
      major,
      handle: (req) => {
        const command = commands.edit(req.params.command, req.json, scope(req));
        if (!command) throw unknownCommand();
        return { status: 200, body: command };
      },
    });
    router.add({
      method: 'DELETE',
      template: `${base}/:command`,
      auth: true,
      major,
      handle: (req) => {
        if (!commands.remove(req.params.command, scope(req))) throw unknownCommand();
        state.changed();
        return { status: 204 };
      },
    });
  }
}
