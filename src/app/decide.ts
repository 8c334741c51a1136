/**
 * The decision a request gets, in the order of the request path: normalise the target, match a
 * route, derive the client IP, apply the route's IP filter, authenticate the bearer token. The
 * serving handler and `connector-gateway explain` both call this, so what `explain` prints is what
 * the gateway does. Every refusal is a thrown GatewayError with a stable code.
 */
import { GatewayError } from '../errors.ts';
import { rememberLast } from '../remember-last.ts';
import { authenticateNow, type Principal } from '../auth/authenticate.ts';
import type { IssuerRegistry } from '../auth/issuer-registry.ts';
import type { TokenKeyMemo } from '../auth/verified-token-cache.ts';
import { parseRequestTarget } from '../policy/request-path.ts';
import type { RouteTable } from '../policy/route-table.ts';
import type { CompiledRoute, JwtRequirements } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';

export interface DecisionInput {
  readonly method: string;
  /** The request target as received (`req.url`): origin-form or absolute-form. */
  readonly target: string;
  readonly hostHeader: string | undefined;
  /** Client IP already derived from the peer and trusted X-Forwarded-For. */
  readonly clientIp: string;
  /** All Authorization header values (Node's `headersDistinct`), so duplicates are seen. */
  readonly authorization: string[] | undefined;
  /** The connection's memo of its last token's cache key (serving path only). */
  readonly keyMemo?: TokenKeyMemo;
}

export interface DecisionContext {
  readonly table: RouteTable;
  readonly issuers: IssuerRegistry;
  readonly maxTokenBytes: number;
  /**
   * Replaces the token stage; `explain --claims` uses it to check a claims set without a
   * signature. The serving path leaves it undefined.
   */
  readonly authenticate?: (jwt: JwtRequirements, trace: TraceSink | undefined) => Promise<Principal>;
}

export interface Decision {
  readonly route: CompiledRoute;
  readonly path: string;
  readonly search: string;
  readonly principal: Principal | undefined;
}

// Kept while it repeats (`rememberLast`): every request on a connection names the same host, and
// lower-casing it and finding its port (V8 runs lastIndexOf in C++) cost ~700 instructions.
const hostOfLast = rememberLast(hostOf);

/** Lower-case host without port; `[v6]:port` keeps the brackets' content. */
export function hostOnly(authority: string | undefined): string | undefined {
  if (authority === undefined || authority === '') return undefined;
  return hostOfLast(authority);
}

function hostOf(authority: string): string {
  const lower = authority.toLowerCase();
  if (lower.startsWith('[')) {
    const end = lower.indexOf(']');
    return end === -1 ? lower : lower.slice(1, end);
  }
  const colon = lower.lastIndexOf(':');
  return colon === -1 ? lower : lower.slice(0, colon);
}

/**
 * Runs the checks before forwarding.
 * @throws GatewayError invalid_path | invalid_request | route_not_found | ip_forbidden | token_* | insufficient_scope | claim_requirement_failed | issuer_unavailable
 */
export async function decide(
  input: DecisionInput,
  ctx: DecisionContext,
  trace?: TraceSink,
  /** Filled as the checks go, so a refusal can still be logged with its route. */
  seen?: { route?: CompiledRoute; path?: string },
): Promise<Decision> {
  return decideNow(input, ctx, trace, seen);
}

/**
 * `decide` for the serving path: synchronous unless the token stage must wait (see
 * `authenticateNow`), so a request whose token is in the verified-token cache reaches the
 * forwarder without a microtask. Throws synchronously what `decide` rejects with.
 */
export function decideNow(
  input: DecisionInput,
  ctx: DecisionContext,
  trace?: TraceSink,
  seen?: { route?: CompiledRoute; path?: string },
): Decision | Promise<Decision> {
  const target = parseRequestTarget(input.target, trace);
  if (seen !== undefined) seen.path = target.path;
  // RFC 9112 §3.2.2: with an absolute-form target the authority in it replaces Host.
  const host = hostOnly(target.authority ?? input.hostHeader);
  const route = ctx.table.match(input.method, host, target.path, trace);
  if (route === undefined) {
    throw new GatewayError('route_not_found', `no route for ${input.method} ${target.path}`);
  }
  if (seen !== undefined) seen.route = route;
  if (route.ipFilter !== undefined && !route.ipFilter.allows(input.clientIp, trace)) {
    throw new GatewayError('ip_forbidden', 'client address is not allowed on this route');
  }
  if (route.auth.kind !== 'jwt') {
    trace?.step({
      stage: 'token',
      check: 'anonymous',
      ok: true,
      detail: 'route is anonymous: no token checked',
    });
    return { route, path: target.path, search: target.search, principal: undefined };
  }
  const principal =
    ctx.authenticate !== undefined
      ? ctx.authenticate(route.auth.jwt, trace)
      : authenticateNow(
          { authorization: input.authorization, query: target.search },
          route.auth.jwt,
          ctx.issuers,
          { maxTokenBytes: ctx.maxTokenBytes, keyMemo: input.keyMemo },
          trace,
        );
  if (principal instanceof Promise) {
    return principal.then((found) => ({ route, path: target.path, search: target.search, principal: found }));
  }
  return { route, path: target.path, search: target.search, principal };
}
