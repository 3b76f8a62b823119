// Bot-authenticated channel messages: how a result reaches the channel once the interaction token
// has expired.
import type { ApiRequest, Router } from './http.ts';
import type { ServerState } from './state.ts';
import { unknownChannel, unknownMessage } from './errors.ts';
import { isEphemeral, type StoredMessage } from './messages.ts';
import { findChannel } from './world.ts';
import { applyWrite, enforceMessageRules } from './writes.ts';

export function addChannelRoutes(router: Router, state: ServerState): void {
  const major = (p: Record<string, string>) => p.channel;
  const channel = (req: ApiRequest) => {
    const found = findChannel(state.world, req.params.channel);
    if (!found) {
      state.violation(`${req.method} /channels/${req.params.channel}/messages: no such channel`);
      throw unknownChannel();
    }
    return found;
  };
  // Reading a message that is gone is an ordinary question (Discord answers 10008); writing to one is a bug.
  const message = (req: ApiRequest, reading = false): StoredMessage => {
    channel(req);
    const found = state.messages.get(req.params.message);
    if (!found || found.channelId !== req.params.channel || isEphemeral(found)) {
      if (reading) throw unknownMessage();
      state.violation(
        `${req.method} /channels/${req.params.channel}/messages/${req.params.message}: no such message in that channel`,
      );
      throw unknownMessage();
    }
    return found;
  };

  router.add({
    method: 'POST',
    template: '/channels/:channel/messages',
    auth: true,
    major,
    handle: (req) => {
      const target = channel(req);
      enforceMessageRules(
        state,
        req,
        `message to channel ${req.params.channel}`,
        req.json,
        true,
        state.options.attachmentSizeLimit,
      );
      const created = state.messages.create({
        channelId: req.params.channel,
        guildId: target.guildId,
        authorId: state.world.bot.id,
        kind: 'channel',
      });
      applyWrite(state, created, req, req.json, false, 'channel');
      return { status: 200, body: state.apiMessage(created) };
    },
  });
  router.add({
    method: 'GET',
    template: '/channels/:channel/messages',
    auth: true,
    major,
    handle: (req) => {
      channel(req);
      const limit = Math.min(100, Number(req.query.get('limit') ?? 50));
      const list = state.messages
        .inChannel(req.params.channel)
        .filter((m) => !isEphemeral(m))
        .reverse()
        .slice(0, limit);
      return { status: 200, body: list.map((m) => state.apiMessage(m)) };
    },
  });
  router.add({
    method: 'GET',
    template: '/channels/:channel/messages/:message',
    auth: true,
    major,
    handle: (req) => ({ status: 200, body: state.apiMessage(message(req, true)) }),
  });
  router.add({
    method: 'PATCH',
    template: '/channels/:channel/messages/:message',
    auth: true,
    major,
    editTarget: (p) => p.message,
    handle: (req) => {
      const found = message(req);
      enforceMessageRules(
        state,
        req,
        `edit of channel message ${found.id}`,
        req.json,
        false,
        state.options.attachmentSizeLimit,
      );
      applyWrite(state, found, req, req.json, true, 'channel');
      return { status: 200, body: state.apiMessage(found) };
    },
  });
  router.add({
    method: 'DELETE',
    template: '/channels/:channel/messages/:message',
    auth: true,
    major,
    handle: (req) => {
      const found = message(req);
      state.messages.delete(found);
      state.messageEvent('delete', found);
      state.changed();
      return { status: 204 };
    },
  });
}
