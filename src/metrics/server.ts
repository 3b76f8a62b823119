// The optional HTTP side door: GET /healthz for orchestrators, GET /metrics for Prometheus.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Metrics } from './metrics.ts';

export interface Health {
  ready: boolean;
  /** Each part of the bot and whether it is up, e.g. { store: true, engine: true, discord: false }. */
  checks: Record<string, boolean>;
}

export interface MetricsServerOptions {
  host: string;
  /** 0 picks a free port; the bound one is on the result. */
  port: number;
  metrics: Metrics;
  /** Asked on every /healthz request; it may check its parts for real (a store ping). */
  health: () => Health | Promise<Health>;
}

export interface MetricsServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/healthz') {
      Promise.resolve()
        .then(() => options.health())
        .then(
          (health) => {
            const body = JSON.stringify({ status: health.ready ? 'ok' : 'not ready', checks: health.checks });
            response.writeHead(health.ready ? 200 : 503, { 'content-type': 'application/json' }).end(body);
          },
          () =>
            response
              .writeHead(503, { 'content-type': 'application/json' })
              .end(JSON.stringify({ status: 'not ready', checks: {} })),
        );
      return;
    }
    if (path === '/metrics') {
      options.metrics.render().then(
        ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) =>
          response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`),
      );
      return;
    }
    response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  // Scrapers keep connections alive; do not let them hold shutdown open.
  server.keepAliveTimeout = 5000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    port,
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
