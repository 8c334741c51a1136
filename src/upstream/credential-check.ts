/**
 * `connector-gateway check` without the CLI: for each route, obtain its upstream credential the
 * way the gateway would (Key Vault read, token request) and, when the route names a `healthPath`,
 * call it with that credential — the `validate_credentials` step of connector SDKs, for our
 * routes. Rows never contain a secret or a token.
 */
import { request } from 'undici';
import type { CompiledRoute } from '../policy/route.ts';
import type { CredentialState } from './credential-provider.ts';
import type { CredentialRegistry } from './credential-registry.ts';

export type CheckOutcome = 'ok' | 'expiring' | 'failed';

export interface CheckRow {
  readonly route: string;
  /** The upstream's origin. */
  readonly upstream: string;
  /** `apiKey`, `bearer`, `clientCredentials`, or `none`. */
  readonly type: string;
  /** The credential source (reference or token endpoint); `-` without a credential. */
  readonly source: string;
  readonly outcome: CheckOutcome;
  readonly state?: CredentialState;
  /** ISO 8601 expiry of the secret or token in use, when known. */
  readonly expiresAt?: string;
  readonly version?: string;
  /** The health call's status, when one was made. */
  readonly healthStatus?: number;
  /** What failed, or what was checked. */
  readonly detail: string;
}

export interface CheckOptions {
  /** Milliseconds per route for obtaining the credential and for the health call. Default 15000. */
  readonly timeoutMs?: number;
  /** Call each route's healthPath. Default true. */
  readonly health?: boolean;
}

/** Checks every route (in parallel); never rejects. */
export async function checkRoutes(
  routes: readonly CompiledRoute[],
  registry: CredentialRegistry,
  options: CheckOptions = {},
): Promise<CheckRow[]> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  return Promise.all(routes.map((route) => checkRoute(route, registry, timeoutMs, options.health ?? true)));
}

async function checkRoute(
  route: CompiledRoute,
  registry: CredentialRegistry,
  timeoutMs: number,
  health: boolean,
): Promise<CheckRow> {
  const base = { route: route.id, upstream: route.upstream.origin };
  const provider = registry.forRoute(route);
  let header: [string, string] | undefined;
  if (provider === undefined) {
    if (!health || route.upstream.healthPath === undefined) {
      return { ...base, type: 'none', source: '-', outcome: 'ok', detail: 'no upstream credential' };
    }
  } else {
    try {
      header = [provider.header, await withTimeout(provider.value(), timeoutMs)];
    } catch (error) {
      const status = provider.status?.();
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
      return {
        ...base,
        type: provider.type,
        source: provider.source,
        outcome: 'failed',
        ...(status?.state === undefined ? {} : { state: status.state }),
        detail: status?.reason ?? cause ?? (error instanceof Error ? error.message : String(error)),
      };
    }
  }
  const status = provider?.status?.();
  const described = {
    ...base,
    type: provider?.type ?? 'none',
    source: provider?.source ?? '-',
    ...(status?.state === undefined ? {} : { state: status.state }),
    ...(status?.expiresAt === undefined ? {} : { expiresAt: status.expiresAt }),
    ...(status?.version === undefined ? {} : { version: status.version }),
  };
  const outcome: CheckOutcome = status?.state === 'expiring' ? 'expiring' : 'ok';
  const obtained =
    status?.state === 'expiring' ? (status.reason ?? 'credential expires soon') : 'credential obtained';
  const path = route.upstream.healthPath;
  if (!health || path === undefined) return { ...described, outcome, detail: obtained };

  const url = `${route.upstream.origin}${route.upstream.basePath}${path}`;
  try {
    const response = await request(url, {
      method: 'GET',
      headers: header === undefined ? {} : { [header[0]]: header[1] },
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.body.dump();
    const code = response.statusCode;
    if (code >= 200 && code < 300) {
      return {
        ...described,
        outcome,
        healthStatus: code,
        detail: `${obtained}; GET ${path} answered ${code}`,
      };
    }
    const why =
      code === 401 || code === 403 ? 'the upstream rejected the credential' : 'the health check failed';
    return {
      ...described,
      outcome: 'failed',
      healthStatus: code,
      detail: `${why}: GET ${path} answered ${code}`,
    };
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code;
    const why = typeof code === 'string' ? code : error instanceof Error ? error.name : 'error';
    return { ...described, outcome: 'failed', detail: `GET ${path} failed (${why})` };
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no credential within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
