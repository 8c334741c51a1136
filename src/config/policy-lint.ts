/**
 * Checks that need more than one route (duplicate ids, ambiguous matches, one discovery URL per
 * issuer) and warnings about valid but risky settings. Runs on routes that passed the schema.
 */
import type { CompiledRoute } from '../policy/route.ts';
import { findRouteConflicts } from '../policy/route-conflicts.ts';
import { formatPath } from './policy-diagnostics.ts';
import type { Locator, PathSegment, PolicyDiagnostic } from './policy-diagnostics.ts';

/** A route that passed the schema, with what is needed to place messages about it. */
export interface LintedRoute {
  readonly route: CompiledRoute;
  /** Locator of the route's file; paths are relative to the file (`['routes', 0, 'id']`). */
  readonly locate: Locator;
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/;

function isPlainHttpRemote(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'http:' && !LOOPBACK.test(parsed.hostname);
}

function diagnostic(
  entry: LintedRoute,
  path: readonly PathSegment[],
  message: string,
  severity: PolicyDiagnostic['severity'],
  key = false,
): PolicyDiagnostic {
  const full = ['routes', entry.route.source.index, ...path];
  return {
    file: entry.route.source.file,
    ...entry.locate(full, key),
    path: formatPath(full),
    message,
    severity,
  };
}

function where(entry: LintedRoute, path: readonly PathSegment[]): string {
  const { line, column } = entry.locate(['routes', entry.route.source.index, ...path]);
  return `${entry.route.source.file}:${line}:${column}`;
}

/** Per-route warnings: valid, but the admin should know what they opened. */
function routeWarnings(entry: LintedRoute): PolicyDiagnostic[] {
  const { route } = entry;
  const out: PolicyDiagnostic[] = [];
  if (route.auth.kind === 'anonymous') {
    out.push(
      diagnostic(
        entry,
        ['anonymous'],
        'anonymous route: requests are forwarded without any token check',
        'warning',
      ),
    );
  } else {
    const jwt = route.auth.jwt;
    if (jwt.audiences === 'any') {
      out.push(
        diagnostic(
          entry,
          ['validateJwt', 'anyAudience'],
          'any audience accepted — tokens issued for other clients of the realm will pass',
          'warning',
        ),
      );
    }
    if (!jwt.requireExpiration) {
      out.push(
        diagnostic(
          entry,
          ['validateJwt', 'requireExpiration'],
          'tokens without exp are accepted and never expire',
          'warning',
        ),
      );
    }
    if (isPlainHttpRemote(jwt.discoveryUrl)) {
      out.push(
        diagnostic(
          entry,
          ['validateJwt'],
          `discovery and keys are fetched over plain http (${jwt.discoveryUrl}); anyone on the path could substitute signing keys`,
          'warning',
        ),
      );
    }
  }
  if (route.forwardToken) {
    out.push(
      diagnostic(
        entry,
        ['forwardToken'],
        "the caller's token is forwarded; the upstream can replay it",
        'warning',
      ),
    );
  }
  if (route.upstream.credential !== undefined && isPlainHttpRemote(route.upstream.origin)) {
    out.push(
      diagnostic(entry, ['upstream', 'url'], 'the upstream credential is sent over plain http', 'warning'),
    );
  }
  return out;
}

/**
 * Cross-route errors and per-route warnings.
 *
 * @param entries every route that passed the schema, in load order (file name, then index).
 */
export function lintRouteSet(entries: readonly LintedRoute[]): PolicyDiagnostic[] {
  const out: PolicyDiagnostic[] = [];
  const byId = new Map<string, LintedRoute>();
  const byIssuer = new Map<string, LintedRoute>();
  const byRoute = new Map<CompiledRoute, LintedRoute>();
  for (const entry of entries) {
    byRoute.set(entry.route, entry);
    const first = byId.get(entry.route.id);
    if (first === undefined) {
      byId.set(entry.route.id, entry);
    } else {
      out.push(
        diagnostic(
          entry,
          ['id'],
          `duplicate route id "${entry.route.id}"; first defined at ${where(first, ['id'])}`,
          'error',
        ),
      );
    }
    if (entry.route.auth.kind === 'jwt') {
      const { issuer, discoveryUrl } = entry.route.auth.jwt;
      const other = byIssuer.get(issuer);
      if (other === undefined) byIssuer.set(issuer, entry);
      else if (other.route.auth.kind === 'jwt' && other.route.auth.jwt.discoveryUrl !== discoveryUrl) {
        out.push(
          diagnostic(
            entry,
            ['validateJwt'],
            `issuer ${issuer} has discovery URL ${discoveryUrl} here but ${other.route.auth.jwt.discoveryUrl} at ${where(other, ['validateJwt'])}; one issuer has one discovery document`,
            'error',
          ),
        );
      }
    }
    out.push(...routeWarnings(entry));
  }
  for (const conflict of findRouteConflicts(entries.map((e) => e.route))) {
    const first = byRoute.get(conflict.first);
    const second = byRoute.get(conflict.second);
    if (first === undefined || second === undefined) continue;
    out.push(
      diagnostic(
        second,
        ['match'],
        `route "${second.route.id}" is ambiguous with route "${first.route.id}" at ${where(first, ['match'])}: ${conflict.reason}`,
        'error',
      ),
    );
  }
  return out;
}
