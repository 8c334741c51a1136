import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRoute } from '../policy/compile.ts';
import { formatDiagnostic } from './policy-diagnostics.ts';
import type { PathSegment } from './policy-diagnostics.ts';
import { lintRouteSet } from './policy-lint.ts';
import type { LintedRoute } from './policy-lint.ts';
import { RouteSchema } from './policy-schema.ts';

/** A route from `file`; positions are fake but distinct: line = route index + 1, column = path depth. */
function linted(file: string, index: number, route: Record<string, unknown>): LintedRoute {
  const compiled = compileRoute(
    RouteSchema.parse(route),
    { file, index },
    { upstreamTimeoutMs: 1, upstreamConnectTimeoutMs: 1 },
  );
  return {
    route: compiled,
    locate: (path: readonly PathSegment[]) => ({ line: index + 1, column: path.length }),
  };
}

const jwt = (extra: object = {}) => ({ issuer: 'https://kc.example/realms/x', audiences: ['a'], ...extra });

describe('lintRouteSet', () => {
  it('refuses two discovery URLs for one issuer', () => {
    const lines = lintRouteSet([
      linted('a.yaml', 0, {
        id: 'a',
        match: { path: '/a' },
        validateJwt: jwt(),
        upstream: { url: 'https://u' },
      }),
      linted('b.yaml', 1, {
        id: 'b',
        match: { path: '/b' },
        validateJwt: jwt({ openidConfig: 'https://other/cfg' }),
        upstream: { url: 'https://u' },
      }),
    ]).map(formatDiagnostic);
    assert.deepEqual(lines, [
      'b.yaml:2:3: routes[1].validateJwt: issuer https://kc.example/realms/x has discovery URL https://other/cfg here but https://kc.example/realms/x/.well-known/openid-configuration at a.yaml:1:3; one issuer has one discovery document',
    ]);
  });

  it('warns about plain-http discovery, credentials over http and tokens without exp', () => {
    const lines = lintRouteSet([
      linted('a.yaml', 0, {
        id: 'a',
        match: { path: '/a' },
        validateJwt: { issuer: 'http://kc.example/realms/x', audiences: ['a'], requireExpiration: false },
        upstream: { url: 'http://fn.example', credential: { type: 'bearer', secret: 'env:T' } },
      }),
      linted('a.yaml', 1, {
        id: 'b',
        match: { path: '/b' },
        validateJwt: { issuer: 'http://127.0.0.1:8080/realms/x', audiences: ['a'] },
        upstream: { url: 'http://localhost:7071', credential: { type: 'bearer', secret: 'env:T' } },
      }),
    ]).map(formatDiagnostic);
    assert.deepEqual(lines, [
      'a.yaml:1:4: warning: routes[0].validateJwt.requireExpiration: tokens without exp are accepted and never expire',
      'a.yaml:1:3: warning: routes[0].validateJwt: discovery and keys are fetched over plain http (http://kc.example/realms/x/.well-known/openid-configuration); anyone on the path could substitute signing keys',
      'a.yaml:1:4: warning: routes[0].upstream.url: the upstream credential is sent over plain http',
    ]);
  });
});
