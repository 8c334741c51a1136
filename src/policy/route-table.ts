/**
 * Route matching: built once per policy load, then `match` runs on every request without building
 * a regex or splitting the path.
 *
 * Precedence, most specific first (the order of the Kubernetes Gateway API's HTTPRoute):
 * 1. host: a route naming the request's host beats one without `host`;
 * 2. path: exact `path` > `pattern` (more literal segments, then fixed-length before `/**`, then
 *    more segments) > `pathPrefix` (longest first);
 * 3. methods: a route listing the request's method beats one without `methods`.
 * A route whose path matches but whose `methods` do not is skipped, and the next one is tried.
 * Two routes that could match one request at the same rank make the table ambiguous: the
 * constructor throws, so a policy set never depends on file order.
 */
import { ConfigError } from '../errors.ts';
import { comparePatterns, matchesPattern, normalizePrefix } from './path-pattern.ts';
import type { PathPattern } from './path-pattern.ts';
import { describeRoute, findRouteConflicts, patternOf } from './route-conflicts.ts';
import type { CompiledRoute } from './route.ts';
import type { TraceSink } from './trace.ts';

/** Routes sharing one path: those listing methods (by method) and at most one for any method. */
interface Entry {
  readonly byMethod: Map<string, CompiledRoute>;
  any: CompiledRoute | undefined;
}

interface PathTable {
  readonly exact: Map<string, Entry>;
  /** Sorted most specific first; a pattern's method-listing routes before its any-method one. */
  readonly patterns: { readonly pattern: PathPattern; readonly entry: Entry }[];
  /** Sorted longest first; `prefix` has no trailing slash (`''` for `/`). */
  readonly prefixes: { readonly prefix: string; readonly entry: Entry }[];
}

/**
 * Lower-cases a Host header value and drops its port and any trailing dot (RFC 9110 §7.2).
 * IPv6 literals lose their brackets (`[::1]:8443` → `::1`); already-normalised input is returned
 * unchanged, so callers may normalise first.
 */
export function normalizeHost(host: string): string {
  let start = 0;
  let end = host.length;
  if (host.startsWith('[')) {
    const close = host.indexOf(']');
    if (close !== -1) {
      start = 1;
      end = close;
    }
  } else {
    const colon = host.indexOf(':');
    // One colon: host:port. More: a bare IPv6 literal, which has no port.
    if (colon !== -1 && colon === host.lastIndexOf(':')) end = colon;
  }
  if (end > start && host.charCodeAt(end - 1) === 46) end--;
  return (start === 0 && end === host.length ? host : host.slice(start, end)).toLowerCase();
}

function newEntry(): Entry {
  return { byMethod: new Map(), any: undefined };
}

function addToEntry(entry: Entry, route: CompiledRoute): void {
  if (route.match.methods === undefined) entry.any = route;
  else for (const method of route.match.methods) entry.byMethod.set(method, route);
}

function buildPathTable(routes: readonly CompiledRoute[], cache: Map<string, PathPattern>): PathTable {
  const exact = new Map<string, Entry>();
  const patternEntries = new Map<string, Entry>();
  const prefixEntries = new Map<string, Entry>();
  for (const route of routes) {
    const m = route.match;
    let map = prefixEntries;
    let key = normalizePrefix(m.pathPrefix ?? '/');
    if (m.path !== undefined) {
      map = exact;
      key = m.path;
    } else if (m.pattern !== undefined) {
      // Method-listing and any-method routes of one pattern get separate slots so that another
      // pattern of the same rank with listed methods is tried before this pattern's catch-all.
      map = patternEntries;
      key = `${m.methods === undefined ? 'any' : 'methods'} ${m.pattern}`;
      patternOf(route, cache);
    }
    let entry = map.get(key);
    if (entry === undefined) map.set(key, (entry = newEntry()));
    addToEntry(entry, route);
  }
  const patterns = [...patternEntries].map(([key, entry]) => ({
    pattern: cache.get(key.slice(key.indexOf(' ') + 1)) as PathPattern,
    entry,
    methodsFirst: key.startsWith('methods') ? 0 : 1,
  }));
  patterns.sort((a, b) => comparePatterns(a.pattern, b.pattern) || a.methodsFirst - b.methodsFirst);
  const prefixes = [...prefixEntries].map(([prefix, entry]) => ({ prefix, entry }));
  prefixes.sort((a, b) => b.prefix.length - a.prefix.length);
  return { exact, patterns, prefixes };
}

function pick(entry: Entry, method: string, trace: TraceSink | undefined): CompiledRoute | undefined {
  const route = entry.byMethod.get(method) ?? entry.any;
  if (route === undefined && trace !== undefined) {
    const listed = [...new Set(entry.byMethod.values())].map((r) => r.id).join(', ');
    trace.step({
      stage: 'route',
      check: 'method',
      ok: false,
      detail: `${listed}: path matches, ${method} not listed`,
    });
  }
  return route;
}

function matchPath(table: PathTable, method: string, path: string, trace: TraceSink | undefined) {
  const exact = table.exact.get(path);
  const exactRoute = exact === undefined ? undefined : pick(exact, method, trace);
  if (exactRoute !== undefined) return exactRoute;
  for (const { pattern, entry } of table.patterns) {
    if (!matchesPattern(pattern, path)) continue;
    const route = pick(entry, method, trace);
    if (route !== undefined) return route;
  }
  for (const { prefix, entry } of table.prefixes) {
    // Segment boundary: `/a/b` matches `/a/b` and `/a/b/c`, not `/a/bc`.
    if (!path.startsWith(prefix) || (path.length !== prefix.length && path.charCodeAt(prefix.length) !== 47))
      continue;
    const route = pick(entry, method, trace);
    if (route !== undefined) return route;
  }
  return undefined;
}

export class RouteTable {
  /** The routes as given (policy order). */
  readonly routes: readonly CompiledRoute[];
  readonly #byHost: Map<string, PathTable>;
  readonly #anyHost: PathTable;

  /** Compiles the table; throws ConfigError listing every ambiguous pair. */
  constructor(routes: readonly CompiledRoute[]) {
    const conflicts = findRouteConflicts(routes);
    if (conflicts.length > 0) {
      const problems = conflicts.map(
        ({ first, second, reason }) =>
          `${describeRoute(second)} is ambiguous with ${describeRoute(first)}: ${reason}`,
      );
      throw new ConfigError(`${conflicts.length} ambiguous route pair(s)`, problems);
    }
    this.routes = Object.freeze([...routes]);
    const cache = new Map<string, PathPattern>();
    const hosts = new Map<string, CompiledRoute[]>();
    for (const route of routes) {
      const host = route.match.host;
      if (host === undefined) continue;
      const list = hosts.get(host) ?? [];
      list.push(route);
      hosts.set(host, list);
    }
    this.#byHost = new Map([...hosts].map(([host, list]) => [host, buildPathTable(list, cache)]));
    this.#anyHost = buildPathTable(
      routes.filter((r) => r.match.host === undefined),
      cache,
    );
  }

  /**
   * Finds the route for a request.
   *
   * @param method request method as received (upper case for standard methods).
   * @param host Host header or absolute-form authority; port, case and a trailing dot are ignored.
   * @param path canonical path from `parseRequestTarget` (still percent-encoded).
   * @param trace optional decision trace (stage `route`).
   * @returns the most specific matching route, or undefined (→ `route_not_found`).
   */
  match(
    method: string,
    host: string | undefined,
    path: string,
    trace?: TraceSink,
  ): CompiledRoute | undefined {
    let route: CompiledRoute | undefined;
    if (this.#byHost.size > 0 && host !== undefined) {
      const table = this.#byHost.get(normalizeHost(host));
      if (table !== undefined) route = matchPath(table, method, path, trace);
    }
    route ??= matchPath(this.#anyHost, method, path, trace);
    if (trace !== undefined) {
      trace.step(
        route === undefined
          ? {
              stage: 'route',
              check: 'match',
              ok: false,
              detail: `no route for ${method} ${host ?? '-'} ${path}`,
            }
          : { stage: 'route', check: 'match', ok: true, detail: describeRoute(route) },
      );
    }
    return route;
  }
}
