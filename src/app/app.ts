/**
 * The whole request chain in one readable order:
 *   /healthz, /readyz   reserved, answered here, never proxied
 *   everything else     path → route → client IP → ipFilter → bearer token → forward upstream
 * Hono routes the reserved paths and renders their JSON; the proxy stage works on the raw Node
 * request/response (see gateway-handler.ts). `createRequestListener` sends ordinary origin-form
 * requests straight to the proxy stage: going through Hono's Node adapter (a Request facade, a
 * context and a route lookup per request) cost about a quarter of the gateway's CPU per proxied
 * request (docs/performance.md), and the proxy stage reads none of it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Hono } from 'hono';
import { getRequestListener, type HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { GatewayError } from '../errors.ts';
import { errorBody, errorHeaders } from './error-response.ts';
import type { GatewayHandler } from './gateway-handler.ts';

export interface ReadinessReport {
  readonly ready: boolean;
  readonly [detail: string]: unknown;
}

export interface AppDeps {
  readonly handler: GatewayHandler;
  readonly readiness: () => ReadinessReport;
}

export type AppEnv = { Bindings: HttpBindings };

export const RESERVED_PATHS = ['/healthz', '/readyz'] as const;

export function createApp(deps: AppDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, { 'cache-control': 'no-store' }));
  app.get('/readyz', (c) => {
    const report = deps.readiness();
    return c.json({ status: report.ready ? 'ready' : 'not_ready', ...report }, report.ready ? 200 : 503, {
      'cache-control': 'no-store',
    });
  });
  for (const path of RESERVED_PATHS) {
    app.all(path, (c) => {
      const err = new GatewayError('method_not_allowed', `${path} answers GET and HEAD only`);
      return c.json(errorBody(err, '-'), 405, { ...errorHeaders(err, '-'), allow: 'GET, HEAD' });
    });
  }

  app.all('*', async function proxy(c) {
    await deps.handler(c.env.incoming, c.env.outgoing);
    return RESPONSE_ALREADY_SENT;
  });
  return app;
}

/** True when the target's path is exactly one of the reserved paths (any query). */
function isReserved(target: string): boolean {
  for (const path of RESERVED_PATHS) {
    if (target.startsWith(path) && (target.length === path.length || target.charCodeAt(path.length) === 63)) {
      return true;
    }
  }
  return false;
}

/**
 * The server's request listener: reserved paths and anything not in origin-form (absolute-form,
 * `*`) go through the Hono app; every other request goes straight to the proxy stage.
 */
export function createRequestListener(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const app = createApp(deps);
  const viaHono = getRequestListener(app.fetch, { autoCleanupIncoming: false });
  return function route(req, res) {
    const target = req.url ?? '/';
    if (target.charCodeAt(0) === 47 && !isReserved(target)) void deps.handler(req, res);
    else void viaHono(req, res);
  };
}
