// Gateway v10 over WebSocket (JSON, uncompressed): HELLO, IDENTIFY -> READY + GUILD_CREATE,
// heartbeats, RESUME with replay of missed dispatches, and dispatching INTERACTION_CREATE.
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomBytes } from 'node:crypto';
import { WebSocketServer, WebSocket } from 'ws';
import type { ServerState } from './state.ts';
import type { StoredMessage } from './messages.ts';
import { apiGuildCreate, apiMember, apiUser, findGuild } from './world.ts';

export const Op = {
  Dispatch: 0,
  Heartbeat: 1,
  Identify: 2,
  PresenceUpdate: 3,
  VoiceStateUpdate: 4,
  Resume: 6,
  Reconnect: 7,
  RequestGuildMembers: 8,
  InvalidSession: 9,
  Hello: 10,
  HeartbeatAck: 11,
} as const;

export const GATEWAY_PATH = '/gateway';

const GUILDS = 1 << 0;
const GUILD_MESSAGES = 1 << 9;

interface Session {
  id: string;
  seq: number;
  /** Dispatches sent, kept for RESUME replay. */
  sent: { s: number; t: string; d: unknown }[];
  socket: WebSocket | null;
  ready: boolean;
  intents: number;
}

export interface GatewayInfo {
  identifies: number;
  resumes: number;
  heartbeats: number;
  /** Sessions with a live, identified socket. */
  connected: number;
  /** Connections closed (4009) because heartbeats stopped coming. */
  timeouts: number;
}

export class Gateway {
  readonly #wss = new WebSocketServer({ noServer: true });
  readonly #sessions = new Map<string, Session>();
  readonly info: GatewayInfo = { identifies: 0, resumes: 0, heartbeats: 0, connected: 0, timeouts: 0 };

  constructor(
    readonly state: ServerState,
    readonly url: () => string,
  ) {
    state.events.on('message', (kind: 'create' | 'update' | 'delete', message: StoredMessage) => {
      const t = kind === 'create' ? 'MESSAGE_CREATE' : kind === 'update' ? 'MESSAGE_UPDATE' : 'MESSAGE_DELETE';
      const d =
        kind === 'delete'
          ? { id: message.id, channel_id: message.channelId, guild_id: message.guildId }
          : {
              ...state.apiMessage(message),
              member: apiMember(state.world, findGuild(state.world, message.guildId)!, state.world.bot),
            };
      for (const session of this.#sessions.values()) {
        if (session.ready && session.intents & GUILD_MESSAGES) this.#send(session, t, d);
      }
    });
  }

  attach(server: Server): void {
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      const url = new URL(req.url ?? '/', 'http://local');
      if (url.pathname !== GATEWAY_PATH) {
        socket.destroy();
        return;
      }
      this.#wss.handleUpgrade(req, socket, head, (ws) => this.#open(ws, url.searchParams));
    });
  }

  /** Sessions whose socket is open and identified (or resumed). */
  liveSessions(): Session[] {
    return [...this.#sessions.values()].filter((s) => s.ready && s.socket?.readyState === WebSocket.OPEN);
  }

  /**
   * Sends a dispatch to every valid session: live ones get it now, ones whose connection dropped
   * get it on RESUME. Returns how many sessions it went to.
   */
  dispatch(t: string, d: unknown): number {
    const valid = [...this.#sessions.values()].filter((s) => s.ready);
    for (const session of valid) this.#send(session, t, d);
    return valid.length;
  }

  /** A guild the bot joined after it connected: GUILD_CREATE to sessions with the Guilds intent. */
  guildJoined(guild: Parameters<typeof apiGuildCreate>[1]): void {
    for (const session of this.#sessions.values()) {
      if (session.ready && session.intents & GUILDS)
        this.#send(session, 'GUILD_CREATE', apiGuildCreate(this.state.world, guild));
    }
  }

  /** Asks connected clients to reconnect and resume (op 7), as Discord does during maintenance. */
  requestReconnect(): void {
    for (const session of this.liveSessions()) session.socket?.send(JSON.stringify({ op: Op.Reconnect, d: null }));
  }

  /** Drops every connection without a close handshake, as a network failure would. */
  dropConnections(): void {
    for (const client of this.#wss.clients) client.terminate();
  }

  close(): void {
    for (const client of this.#wss.clients) client.close(1001, 'server closing');
    this.#wss.close();
  }

  #open(ws: WebSocket, query: URLSearchParams): void {
    if (query.get('v') !== '10' || (query.get('encoding') ?? 'json') !== 'json' || query.has('compress')) {
      this.state.violation(
        `gateway connection asked for v=${query.get('v')} encoding=${query.get('encoding')} compress=${query.get('compress')}; this server speaks v10 JSON without transport compression`,
      );
      ws.close(4012, 'Invalid API version');
      return;
    }
    let session: Session | null = null;
    this.#refresh();
    const interval = this.state.options.heartbeatIntervalMs;
    ws.send(JSON.stringify({ op: Op.Hello, d: { heartbeat_interval: interval }, s: null, t: null }));
    // Like Discord, drop a connection whose heartbeats stop (a blocked event loop looks like this).
    let lastBeat = Date.now();
    const deadline = Math.round(interval * 1.5);
    const watchdog = setInterval(
      () => {
        const silent = Date.now() - lastBeat;
        if (silent <= deadline) return;
        clearInterval(watchdog);
        this.info.timeouts++;
        this.state.violation(
          `gateway: no heartbeat for ${silent} ms (interval ${interval} ms); the bot's event loop may be blocked`,
        );
        ws.close(4009, 'Session timed out');
      },
      Math.max(50, Math.round(interval / 4)),
    );
    watchdog.unref();
    ws.on('message', (raw) => {
      let payload: { op: number; d: any };
      try {
        payload = JSON.parse(raw.toString());
      } catch {
        ws.close(4002, 'Decode error');
        return;
      }
      switch (payload.op) {
        case Op.Heartbeat:
          this.info.heartbeats++;
          lastBeat = Date.now();
          ws.send(JSON.stringify({ op: Op.HeartbeatAck, d: null }));
          this.state.changed();
          return;
        case Op.Identify:
          if (session) {
            ws.close(4005, 'Already authenticated');
            return;
          }
          session = this.#identify(ws, payload.d);
          return;
        case Op.Resume:
          if (session) {
            ws.close(4005, 'Already authenticated');
            return;
          }
          session = this.#resume(ws, payload.d);
          return;
        case Op.PresenceUpdate:
        case Op.VoiceStateUpdate:
          if (!session) ws.close(4003, 'Not authenticated');
          return;
        case Op.RequestGuildMembers:
          if (!session) ws.close(4003, 'Not authenticated');
          return;
        default:
          ws.close(4001, 'Unknown opcode');
      }
    });
    ws.on('close', (code) => {
      clearInterval(watchdog);
      if (session?.socket === ws) {
        session.socket = null;
        // A clean close ends the session on Discord; anything else leaves it resumable.
        if (code === 1000 || code === 1001) session.ready = false;
      }
      this.#refresh();
    });
    ws.on('error', () => {});
  }

  #identify(ws: WebSocket, d: { token?: string; intents?: number }): Session | null {
    if (d?.token !== this.state.token && d?.token !== `Bot ${this.state.token}`) {
      this.state.log('gateway IDENTIFY with a wrong token');
      ws.close(4004, 'Authentication failed');
      return null;
    }
    if (typeof d.intents !== 'number') {
      ws.close(4013, 'Invalid intent(s)');
      return null;
    }
    this.info.identifies++;
    const session: Session = {
      id: randomBytes(16).toString('hex'),
      seq: 0,
      sent: [],
      socket: ws,
      ready: true,
      intents: d.intents,
    };
    this.#sessions.set(session.id, session);
    const { world } = this.state;
    this.#send(session, 'READY', {
      v: 10,
      user_settings: {},
      user: { ...apiUser(world.bot), verified: true, mfa_enabled: false },
      guilds: world.guilds.map((g) => ({ id: g.id, unavailable: true })),
      session_id: session.id,
      session_type: 'normal',
      resume_gateway_url: this.url(),
      shard: [0, 1],
      application: { id: world.applicationId, flags: 0 },
      presences: [],
      private_channels: [],
      relationships: [],
      geo_ordered_rtc_regions: [],
    });
    if (d.intents & GUILDS)
      for (const guild of world.guilds) this.#send(session, 'GUILD_CREATE', apiGuildCreate(world, guild));
    this.state.log(`gateway READY session ${session.id}`);
    this.#refresh();
    return session;
  }

  #resume(ws: WebSocket, d: { token?: string; session_id?: string; seq?: number }): Session | null {
    const session = d?.session_id ? this.#sessions.get(d.session_id) : undefined;
    const tokenOk = d?.token === this.state.token || d?.token === `Bot ${this.state.token}`;
    if (!session || !tokenOk) {
      ws.send(JSON.stringify({ op: Op.InvalidSession, d: false }));
      return null;
    }
    if (session.socket && session.socket !== ws) session.socket.terminate();
    session.socket = ws;
    session.ready = true;
    this.info.resumes++;
    for (const missed of session.sent.filter((e) => e.s > (d.seq ?? 0))) {
      ws.send(JSON.stringify({ op: Op.Dispatch, ...missed }));
    }
    this.#send(session, 'RESUMED', null);
    this.state.log(`gateway RESUMED session ${session.id}`);
    this.#refresh();
    return session;
  }

  #send(session: Session, t: string, d: unknown): void {
    const s = ++session.seq;
    session.sent.push({ s, t, d });
    if (session.sent.length > 1000) session.sent.shift();
    session.socket?.send(JSON.stringify({ op: Op.Dispatch, s, t, d }));
  }

  #refresh(): void {
    this.info.connected = this.liveSessions().length;
    this.state.changed();
  }
}
