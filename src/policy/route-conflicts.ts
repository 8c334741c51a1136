/**
 * Ambiguity: two routes that could match one request at the same rank (see the precedence in
 * `route-table.ts`). Found at load so that which route serves a request never depends on file
 * order; `policy-lint.ts` reports each pair with both positions and the table refuses to build.
 */
import { ConfigError } from '../errors.ts';
import { comparePatterns, normalizePrefix, parsePathPattern, patternsOverlap } from './path-pattern.ts';
import type { PathPattern } from './path-pattern.ts';
import type { CompiledRoute, RouteSource } from './route.ts';

export interface RouteConflict {
  readonly first: CompiledRoute;
  readonly second: CompiledRoute;
  /** What request both would match, e.g. `GET on pathPrefix /a/`. */
  readonly reason: string;
}

/** `file:line:col` (or `file routes[i]` when no position is known), for messages. */
export function describeSource(source: RouteSource): string {
  return source.line === undefined
    ? `${source.file} routes[${source.index}]`
    : `${source.file}:${source.line}:${source.column ?? 1}`;
}

function pathText(route: CompiledRoute): string {
  const m = route.match;
  if (m.path !== undefined) return `path ${m.path}`;
  if (m.pattern !== undefined) return `pattern ${m.pattern}`;
  return `pathPrefix ${m.pathPrefix ?? '/'}`;
}

/** `route id (pathPrefix /a/ host h methods GET; file:line:col)`, for messages and traces. */
export function describeRoute(route: CompiledRoute): string {
  const m = route.match;
  const host = m.host === undefined ? '' : ` host ${m.host}`;
  const methods = m.methods === undefined ? '' : ` methods ${m.methods.join(',')}`;
  return `route ${route.id} (${pathText(route)}${host}${methods}; ${describeSource(route.source)})`;
}

/** The parsed pattern of a pattern route, cached by text; throws ConfigError if invalid. */
export function patternOf(route: CompiledRoute, cache: Map<string, PathPattern>): PathPattern {
  const text = route.match.pattern ?? '';
  let pattern = cache.get(text);
  if (pattern === undefined) {
    const parsed = parsePathPattern(text);
    if ('error' in parsed) throw new ConfigError(`route ${route.id}: pattern ${text}: ${parsed.error}`);
    pattern = parsed;
    cache.set(text, pattern);
  }
  return pattern;
}

function samePathRank(a: CompiledRoute, b: CompiledRoute, cache: Map<string, PathPattern>): boolean {
  const x = a.match;
  const y = b.match;
  if (x.path !== undefined || y.path !== undefined) return x.path === y.path;
  if (x.pattern !== undefined || y.pattern !== undefined) {
    if (x.pattern === undefined || y.pattern === undefined) return false;
    const p = patternOf(a, cache);
    const q = patternOf(b, cache);
    return comparePatterns(p, q) === 0 && patternsOverlap(p, q);
  }
  return normalizePrefix(x.pathPrefix ?? '/') === normalizePrefix(y.pathPrefix ?? '/');
}

/** Methods both routes accept at the same rank, or undefined when they cannot collide. */
function sharedMethods(a: CompiledRoute, b: CompiledRoute): string | undefined {
  const x = a.match.methods;
  const y = b.match.methods;
  if (x === undefined && y === undefined) return 'any method';
  if (x === undefined || y === undefined) return undefined;
  const common = x.filter((method) => y.includes(method));
  return common.length === 0 ? undefined : common.join(',');
}

/** Every pair of routes that can match the same request at the same rank (see module comment). */
export function findRouteConflicts(routes: readonly CompiledRoute[]): RouteConflict[] {
  const cache = new Map<string, PathPattern>();
  const conflicts: RouteConflict[] = [];
  for (let i = 0; i < routes.length; i++) {
    const first = routes[i] as CompiledRoute;
    for (let j = i + 1; j < routes.length; j++) {
      const second = routes[j] as CompiledRoute;
      if (first.match.host !== second.match.host) continue;
      if (!samePathRank(first, second, cache)) continue;
      const methods = sharedMethods(first, second);
      if (methods === undefined) continue;
      const host = first.match.host === undefined ? '' : ` for host ${first.match.host}`;
      conflicts.push({ first, second, reason: `both match ${methods} on ${pathText(second)}${host}` });
    }
  }
  return conflicts;
}
