/**
 * Everything about forwarding that depends only on the route, compiled at its first request and
 * cached against the immutable CompiledRoute object: a policy reload builds new route objects,
 * so stale plans are simply garbage-collected with the old table.
 */
import type { Pool } from 'undici';
import type { CompiledRoute } from '../policy/route.ts';
import type { CredentialRegistry } from '../upstream/credential-registry.ts';
import type { CredentialProvider } from '../upstream/credential-provider.ts';
import { compilePathRewrite, type PathRewrite } from './path-rewrite.ts';
import { compileRequestHeaderPlan, type RequestHeaderPlan } from './upstream-headers.ts';
import type { UpstreamPools } from './upstream-pools.ts';

export interface RoutePlan {
  readonly pool: Pool;
  readonly headers: RequestHeaderPlan;
  readonly rewrite: PathRewrite;
  /** undefined = the route sends no credential. */
  readonly credential: CredentialProvider | undefined;
  /** Milliseconds to wait for response headers (undici `headersTimeout`). */
  readonly headersTimeoutMs: number;
  /** Milliseconds allowed between two response body chunks (undici `bodyTimeout`). */
  readonly bodyTimeoutMs: number;
}

export interface PlanDeps {
  readonly pools: UpstreamPools;
  readonly credentials: CredentialRegistry;
}

/** Returns `planFor(route)`, which compiles a route once and then answers from a WeakMap. */
export function createPlanCache(deps: PlanDeps): (route: CompiledRoute) => RoutePlan {
  const plans = new WeakMap<CompiledRoute, RoutePlan>();
  return function planFor(route: CompiledRoute): RoutePlan {
    let plan = plans.get(route);
    if (plan === undefined) {
      const upstream = route.upstream;
      plan = {
        pool: deps.pools.pool(upstream.origin, { connectTimeoutMs: upstream.connectTimeoutMs }),
        headers: compileRequestHeaderPlan(route),
        rewrite: compilePathRewrite(upstream.stripPrefix, upstream.basePath),
        credential: deps.credentials.forRoute(route),
        headersTimeoutMs: upstream.timeoutMs,
        // The same budget between body chunks: a stalled upstream is cut, a slow steady one is not.
        bodyTimeoutMs: upstream.timeoutMs,
      };
      plans.set(route, plan);
    }
    return plan;
  };
}
