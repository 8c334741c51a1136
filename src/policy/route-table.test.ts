import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import { matchesPattern, parsePathPattern } from './path-pattern.ts';
import type { PathPattern } from './path-pattern.ts';
import type { CompiledRoute, RouteMatchSpec } from './route.ts';
import { findRouteConflicts } from './route-conflicts.ts';
import { normalizeHost, RouteTable } from './route-table.ts';
import type { TraceStep } from './trace.ts';
import { testRoute } from '../../test/fixtures/routes.ts';

let index = 0;
function route(id: string, match: RouteMatchSpec): CompiledRoute {
  index += 1;
  return testRoute({
    id,
    match,
    source: { file: 'test.yaml', index: index - 1, line: index * 10, column: 5 },
  });
}

function matchId(
  table: RouteTable,
  method: string,
  host: string | undefined,
  path: string,
): string | undefined {
  return table.match(method, host, path)?.id;
}

function pattern(text: string): PathPattern {
  const parsed = parsePathPattern(text);
  assert.ok(!('error' in parsed), `${text}: ${'error' in parsed ? parsed.error : ''}`);
  return parsed;
}

describe('path patterns', () => {
  it('`*` is exactly one non-empty segment; a trailing `/**` is any rest', () => {
    const star = pattern('/connectors/*/status');
    assert.equal(matchesPattern(star, '/connectors/adls/status'), true);
    assert.equal(matchesPattern(star, '/connectors/adls/status/'), false);
    assert.equal(matchesPattern(star, '/connectors/adls/x/status'), false);
    assert.equal(matchesPattern(star, '/connectors/status'), false);
    assert.equal(matchesPattern(star, '/connectors/adls/statusx'), false);
    const rest = pattern('/connectors/*/files/**');
    assert.equal(matchesPattern(rest, '/connectors/adls/files'), true);
    assert.equal(matchesPattern(rest, '/connectors/adls/files/'), true);
    assert.equal(matchesPattern(rest, '/connectors/adls/files/a/b.csv'), true);
    assert.equal(matchesPattern(rest, '/connectors/adls/filesx'), false);
    assert.equal(matchesPattern(pattern('/**'), '/anything/at/all'), true);
    assert.equal(matchesPattern(pattern('/*'), '/'), false);
  });

  it('explains invalid patterns', () => {
    const error = (text: string) => {
      const parsed = parsePathPattern(text);
      return 'error' in parsed ? parsed.error : 'no error';
    };
    assert.equal(error('/a/b'), 'has no wildcard; use `path` for an exact path');
    assert.match(error('/a/b*'), /must be a whole segment/);
    assert.match(error('/a/**/b'), /only allowed as the last segment/);
    assert.match(error('/a//*'), /empty segment/);
    assert.equal(error('a/*'), 'must start with /');
  });
});

describe('RouteTable precedence', () => {
  const table = new RouteTable([
    route('prefix-root', { pathPrefix: '/' }),
    route('prefix-adls', { pathPrefix: '/connectors/adls/' }),
    route('prefix-adls-files', { pathPrefix: '/connectors/adls/files' }),
    route('pattern-status', { pattern: '/connectors/*/status' }),
    route('pattern-adls-status', { pattern: '/connectors/adls/status/**' }),
    route('exact-status', { path: '/connectors/adls/status' }),
    route('get-only', { path: '/connectors/adls/health', methods: ['GET'] }),
    route('host-prefix', { pathPrefix: '/', host: 'partner.example.com' }),
    route('host-adls', { pathPrefix: '/connectors/adls/', host: 'partner.example.com', methods: ['GET'] }),
  ]);

  it('exact path beats pattern beats prefix', () => {
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/status'), 'exact-status');
    assert.equal(matchId(table, 'GET', undefined, '/connectors/other/status'), 'pattern-status');
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/x'), 'prefix-adls');
  });

  it('more literal segments win among patterns; fixed-length before `/**`', () => {
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/status/x'), 'pattern-adls-status');
    const t = new RouteTable([
      route('rest', { pattern: '/a/*/**' }),
      route('fixed', { pattern: '/a/*' }),
      route('literal', { pattern: '/a/b/*' }),
    ]);
    assert.equal(matchId(t, 'GET', undefined, '/a/x'), 'fixed');
    assert.equal(matchId(t, 'GET', undefined, '/a/x/y'), 'rest');
    assert.equal(matchId(t, 'GET', undefined, '/a/b/y'), 'literal');
  });

  it('longest pathPrefix wins, on segment boundaries', () => {
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/files/a.csv'), 'prefix-adls-files');
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/files'), 'prefix-adls-files');
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/filesx'), 'prefix-adls');
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls'), 'prefix-adls');
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adlsx'), 'prefix-root');
    assert.equal(matchId(table, 'GET', undefined, '/'), 'prefix-root');
  });

  it('a route with methods beats one without; other methods fall through to less specific routes', () => {
    assert.equal(matchId(table, 'GET', undefined, '/connectors/adls/health'), 'get-only');
    assert.equal(matchId(table, 'POST', undefined, '/connectors/adls/health'), 'prefix-adls');
    const t = new RouteTable([
      route('any', { pathPrefix: '/a' }),
      route('get', { pathPrefix: '/a/', methods: ['GET'] }),
    ]);
    assert.equal(matchId(t, 'GET', undefined, '/a/x'), 'get');
    assert.equal(matchId(t, 'DELETE', undefined, '/a/x'), 'any');
  });

  it('among patterns of one rank, listed methods are tried before any-method routes', () => {
    const t = new RouteTable([
      route('any', { pattern: '/a/*/c' }),
      route('get', { pattern: '/a/b/*', methods: ['GET'] }),
    ]);
    assert.equal(matchId(t, 'GET', undefined, '/a/b/c'), 'get');
    assert.equal(matchId(t, 'POST', undefined, '/a/b/c'), 'any');
  });

  it('a route naming the host beats one without, ignoring case, port and trailing dot', () => {
    assert.equal(matchId(table, 'GET', 'Partner.Example.com:8443', '/connectors/adls/status'), 'host-adls');
    assert.equal(matchId(table, 'POST', 'partner.example.com.', '/connectors/adls/status'), 'host-prefix');
    assert.equal(matchId(table, 'GET', 'other.example.com', '/connectors/adls/status'), 'exact-status');
    assert.equal(matchId(table, 'GET', undefined, '/x'), 'prefix-root');
  });

  it('returns undefined when nothing matches and traces the decision', () => {
    const t = new RouteTable([route('get', { path: '/a', methods: ['GET'] })]);
    const steps: TraceStep[] = [];
    assert.equal(t.match('POST', 'h', '/a', { step: (s) => steps.push(s) }), undefined);
    assert.equal(t.match('GET', 'h', '/b'), undefined);
    assert.deepEqual(
      steps.map((s) => [s.stage, s.check, s.ok]),
      [
        ['route', 'method', false],
        ['route', 'match', false],
      ],
    );
    steps.length = 0;
    t.match('GET', undefined, '/a', { step: (s) => steps.push(s) });
    assert.equal(steps.length, 1);
    assert.match(steps[0]?.detail ?? '', /^route get \(path \/a methods GET; test\.yaml:\d+:5\)$/);
  });
});

describe('RouteTable ambiguity', () => {
  function conflicts(...routes: CompiledRoute[]): string[] {
    return findRouteConflicts(routes).map((c) => `${c.first.id}/${c.second.id}: ${c.reason}`);
  }

  it('flags routes that can match one request at the same rank', () => {
    assert.deepEqual(conflicts(route('a', { path: '/x' }), route('b', { path: '/x' })), [
      'a/b: both match any method on path /x',
    ]);
    assert.deepEqual(conflicts(route('a', { pathPrefix: '/x/' }), route('b', { pathPrefix: '/x' })), [
      'a/b: both match any method on pathPrefix /x',
    ]);
    assert.deepEqual(
      conflicts(
        route('a', { pathPrefix: '/x', methods: ['GET', 'POST'] }),
        route('b', { pathPrefix: '/x', methods: ['POST'] }),
      ),
      ['a/b: both match POST on pathPrefix /x'],
    );
    assert.deepEqual(conflicts(route('a', { pattern: '/a/*/c' }), route('b', { pattern: '/a/b/*' })), [
      'a/b: both match any method on pattern /a/b/*',
    ]);
    assert.deepEqual(
      conflicts(route('a', { path: '/x', host: 'h' }), route('b', { path: '/x', host: 'h' })),
      ['a/b: both match any method on path /x for host h'],
    );
  });

  it('does not flag routes that differ in rank or cannot overlap', () => {
    assert.deepEqual(
      conflicts(
        route('exact', { path: '/x' }),
        route('prefix', { pathPrefix: '/x' }),
        route('pattern', { pattern: '/x/*' }),
        route('get', { path: '/x', methods: ['GET'] }),
        route('post', { path: '/x', methods: ['POST'] }),
        route('host', { path: '/x', host: 'h' }),
        route('other-host', { path: '/x', host: 'g' }),
        route('pattern-b', { pattern: '/y/*' }),
        route('pattern-rest', { pattern: '/x/*/**' }),
        route('prefix-xy', { pathPrefix: '/xy' }),
      ),
      [],
    );
  });

  it('the constructor refuses an ambiguous set, naming both routes with file:line', () => {
    const a = route('a', { path: '/x' });
    const b = route('b', { path: '/x' });
    assert.throws(
      () => new RouteTable([a, b]),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems, [
          `route b (path /x; test.yaml:${b.source.line}:5) is ambiguous with route a (path /x; test.yaml:${a.source.line}:5): both match any method on path /x`,
        ]);
        return true;
      },
    );
  });
});

describe('normalizeHost', () => {
  it('lower-cases and drops port, trailing dot and IPv6 brackets; idempotent', () => {
    assert.equal(normalizeHost('Example.COM:8080'), 'example.com');
    assert.equal(normalizeHost('example.com.'), 'example.com');
    assert.equal(normalizeHost('[2001:DB8::1]:443'), '2001:db8::1');
    assert.equal(normalizeHost('2001:db8::1'), '2001:db8::1');
    assert.equal(normalizeHost('example.com'), 'example.com');
  });
});
