/**
 * The whole request chain in one readable order:
 *   /healthz, /readyz   reserved, answered here, never proxied
 *   everything else     path → route → client IP → ipFilter → bearer token → forward upstream
 * Hono routes the reserved paths and renders their JSON; the proxy stage works on the raw Node
 * request/response (see gateway-handler.ts) and tells @hono/node-server it has answered itself.
 */
import { Hono } from 'hono';
import type { HttpBindings } from '@hono/node-server';
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
