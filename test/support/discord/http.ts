// The REST front door: matches /api/v10 routes, applies injected failures, bot authentication and
// rate-limit buckets, parses bodies, and turns thrown DiscordHttpErrors into Discord's answers.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { DiscordHttpError, methodNotAllowed, notFound, unauthorized } from './errors.ts';
import { parseBody, BodyParseError, type UploadedFile } from './multipart.ts';
import {
  Injector,
  RateLimiter,
  bucketHash,
  rateLimitHeaders,
  type InjectOptions,
  type RateLimitPolicy,
} from './ratelimit.ts';
import type { InteractionHandle } from './interactions.ts';
import type { ServerState } from './state.ts';

export const API_PREFIX = '/api/v10';

export interface ApiRequest {
  method: string;
  /** Path below /api/v10. */
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  json: unknown;
  files: UploadedFile[];
  receivedAt: number;
}

export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface Route {
  method: string;
  /** e.g. /webhooks/:app/:token/messages/:message */
  template: string;
  /** Needs `Authorization: Bot <token>` (interaction callbacks and webhooks do not). */
  auth: boolean;
  /** The bucket's major parameter (default: none, one bucket per route). */
  major?: (params: Record<string, string>) => string;
  /** Which limit the bucket enforces: the per-token edit limit, or the default one. */
  policy?: 'edit';
  /** The message an edit targets, for the edits-in-flight count. */
  editTarget?: (params: Record<string, string>) => string | undefined;
  /** Called when the request arrives, before its body is read or any check runs. */
  onArrival?: (params: Record<string, string>, receivedAt: number) => void;
  /** Called once the request has been answered. */
  onDone?: (params: Record<string, string>) => void;
  /** The interaction whose token the request uses, to file error answers under it. */
  interaction?: (params: Record<string, string>) => InteractionHandle | undefined;
  handle(request: ApiRequest): Reply | Promise<Reply>;
}

interface CompiledRoute extends Route {
  pattern: RegExp;
  names: string[];
}

export class Router {
  readonly #routes: CompiledRoute[] = [];
  readonly #limiter = new RateLimiter();
  readonly injector = new Injector();

  constructor(readonly state: ServerState) {}

  add(route: Route): void {
    const names: string[] = [];
    const source = route.template.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:(\w+)/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.#routes.push({ ...route, pattern: new RegExp(`^${source}$`), names });
  }

  inject(options: InjectOptions) {
    return this.injector.add(options);
  }

  async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const receivedAt = Date.now();
    const url = new URL(req.url ?? '/', 'http://local');
    const method = (req.method ?? 'GET').toUpperCase();
    if (method === 'GET' && url.pathname.startsWith('/attachments/')) {
      await readAll(req);
      return this.#serveAttachment(url.pathname, res);
    }

    // discord.js sends @original as %40original: match and report decoded paths.
    const pathname = safeDecode(url.pathname);
    const path = pathname.startsWith(API_PREFIX) ? pathname.slice(API_PREFIX.length) : null;
    const match = path === null ? undefined : this.#match(method, path);
    const record = (status: number, injected = false) => {
      this.state.requests.push({
        at: receivedAt,
        method,
        path: redact(path ?? url.pathname, match),
        status,
        durationMs: Date.now() - receivedAt,
        ...(injected ? { injected } : {}),
      });
      this.state.log(`${method} ${redact(path ?? url.pathname, match)} -> ${status}${injected ? ' (injected)' : ''}`);
    };
    if (path === null || !match) {
      await readAll(req);
      const known = path !== null && this.#routes.some((r) => r.pattern.test(path));
      const error = known ? methodNotAllowed() : notFound();
      this.state.violation(
        `${method} ${url.pathname}: this server does not implement that ${known ? 'method' : 'route'} (extend test/support/discord/routes.ts if Discord has it)`,
      );
      send(res, error.status, error.body());
      record(error.status);
      return;
    }

    const { route, params } = match;
    route.onArrival?.(params, receivedAt);
    const raw = await readAll(req);
    const editTarget = route.editTarget?.(params);
    if (editTarget) this.state.editStarted(editTarget);
    try {
      const reply = await this.#answer(route, params, method, path, url, req, raw, receivedAt);
      send(res, reply.status, reply.body, reply.headers);
      record(reply.status, reply.headers?.['X-Injected'] === '1');
      if (reply.status >= 400) {
        const body = (reply.body ?? {}) as { code?: number; message?: string };
        route.interaction?.(params)?.errors.push({
          at: receivedAt,
          method,
          path: redact(path, match),
          status: reply.status,
          code: body.code ?? 0,
          message: body.message ?? '',
        });
      }
    } finally {
      if (editTarget) this.state.editFinished(editTarget);
      route.onDone?.(params);
      this.state.changed();
    }
  }

  async #answer(
    route: CompiledRoute,
    params: Record<string, string>,
    method: string,
    path: string,
    url: URL,
    req: IncomingMessage,
    raw: Buffer,
    receivedAt: number,
  ): Promise<Reply> {
    const injected = this.injector.take(method, path);
    if (injected?.delayMs) await sleep(injected.delayMs);
    if (injected?.status) return injectedFailure(injected, route.template);

    if (route.auth && req.headers.authorization !== `Bot ${this.state.token}`) {
      this.state.violation(`${method} ${route.template}: missing or wrong bot token in the Authorization header`);
      const error = unauthorized();
      return { status: error.status, body: error.body() };
    }

    const policy: RateLimitPolicy | null =
      route.policy === 'edit' ? this.state.options.editRateLimit : this.state.options.defaultRateLimit;
    let headers: Record<string, string> = {};
    if (policy) {
      const bucket = this.#limiter.take(
        route.template,
        `${route.template}:${route.major?.(params) ?? ''}`,
        policy,
        receivedAt,
      );
      headers = rateLimitHeaders(bucket, receivedAt);
      if (bucket.exceeded) {
        const retryAfter = Math.max(0, bucket.resetAt - receivedAt) / 1000;
        this.state.log(`rate limited ${method} ${route.template}: ${bucket.limit} per ${policy.windowMs} ms`);
        return {
          status: 429,
          body: { message: 'You are being rate limited.', retry_after: retryAfter, global: false },
          headers: { ...headers, 'Retry-After': retryAfter.toFixed(3), 'X-RateLimit-Scope': 'user' },
        };
      }
    }

    try {
      const { json, files } = await parseBody(req.headers['content-type'], raw);
      const reply = await route.handle({ method, path, params, query: url.searchParams, json, files, receivedAt });
      return { ...reply, headers: { ...headers, ...reply.headers } };
    } catch (error) {
      if (error instanceof DiscordHttpError) return { status: error.status, body: error.body(), headers };
      if (error instanceof BodyParseError) {
        this.state.violation(`${method} ${route.template}: ${error.message}`);
        return { status: 400, body: { message: 'The request body contains invalid JSON.', code: 50109 }, headers };
      }
      this.state.violation(
        `${method} ${route.template}: the fake Discord server itself failed: ${(error as Error).stack ?? error}`,
      );
      return { status: 500, body: { message: '500: Internal Server Error', code: 0 }, headers };
    }
  }

  #match(method: string, path: string): { route: CompiledRoute; params: Record<string, string> } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      const found = route.pattern.exec(path);
      if (!found) continue;
      const params: Record<string, string> = {};
      route.names.forEach((name, i) => (params[name] = found[i + 1]));
      return { route, params };
    }
    return undefined;
  }

  async #serveAttachment(pathname: string, res: ServerResponse): Promise<void> {
    const [, , , id] = pathname.split('/');
    const attachment = this.state.messages.attachment(id ?? '');
    if (!attachment) {
      send(res, 404, { message: '404: Not Found', code: 0 });
      return;
    }
    if (attachment.delayMs) await new Promise((r) => setTimeout(r, attachment.delayMs));
    if (res.destroyed) return;
    if (attachment.redirectTo) {
      res.writeHead(302, { location: attachment.redirectTo });
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': attachment.contentType, 'content-length': attachment.size });
    res.end(attachment.data);
  }
}

function injectedFailure(options: InjectOptions, routeTemplate: string): Reply {
  if (options.status === 429) {
    const retryAfter = (options.retryAfterMs ?? 100) / 1000;
    const resetAt = Date.now() + retryAfter * 1000;
    return {
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: retryAfter, global: options.global ?? false },
      headers: {
        'X-Injected': '1',
        'Retry-After': retryAfter.toFixed(3),
        'X-RateLimit-Scope': options.global ? 'global' : 'user',
        ...(options.global
          ? { 'X-RateLimit-Global': 'true' }
          : {
              'X-RateLimit-Limit': '5',
              'X-RateLimit-Remaining': '0',
              'X-RateLimit-Reset': (resetAt / 1000).toFixed(3),
              'X-RateLimit-Reset-After': retryAfter.toFixed(3),
              'X-RateLimit-Bucket': bucketHash(routeTemplate),
            }),
      },
    };
  }
  const status = options.status ?? 500;
  return { status, body: { message: `${status}: Internal Server Error`, code: 0 }, headers: { 'X-Injected': '1' } };
}

function redact(path: string, match: { route: CompiledRoute; params: Record<string, string> } | undefined): string {
  if (!match) return path;
  return match.route.template.replace(/:(\w+)/g, (_, name: string) =>
    name === 'token' ? ':token' : match.params[name],
  );
}

function send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
  const { 'X-Injected': _injected, ...visible } = headers;
  if (status === 204 || body === undefined) {
    res.writeHead(status, visible);
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { ...visible, 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

function safeDecode(pathname: string): string {
  try {
    return decodeURIComponent(pathname);
  } catch {
    return pathname;
  }
}

function readAll(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
