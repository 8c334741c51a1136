import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDiagnostic, formatPath, placeIssues, policyErrorMap } from './policy-diagnostics.ts';
import { RouteSchema } from './policy-schema.ts';

describe('formatPath and formatDiagnostic', () => {
  it('writes field paths as an admin reads them', () => {
    assert.equal(
      formatPath(['routes', 2, 'validateJwt', 'audiences', 0]),
      'routes[2].validateJwt.audiences[0]',
    );
    assert.equal(formatPath(['forwardClaims', 'realm_access.roles']), 'forwardClaims["realm_access.roles"]');
    assert.equal(formatPath([]), '');
  });

  it('formats `file:line:col: path: message`, warnings marked, directory problems without position', () => {
    const base = { file: 'p/a.yaml', line: 3, column: 7, path: 'routes[0].id', message: 'bad' };
    assert.equal(formatDiagnostic({ ...base, severity: 'error' }), 'p/a.yaml:3:7: routes[0].id: bad');
    assert.equal(
      formatDiagnostic({ ...base, severity: 'warning' }),
      'p/a.yaml:3:7: warning: routes[0].id: bad',
    );
    assert.equal(
      formatDiagnostic({ file: 'p', line: 0, column: 0, path: '', message: 'missing', severity: 'error' }),
      'p: missing',
    );
  });
});

describe('placeIssues', () => {
  function problems(route: unknown): string[] {
    const result = RouteSchema.safeParse(route, { error: policyErrorMap, reportInput: true });
    assert.ok(!result.success);
    return placeIssues(RouteSchema, result.error.issues).map(
      (p) => `${formatPath(p.path)}${p.key ? ' (key)' : ''}: ${p.message}`,
    );
  }
  const base = { id: 'r', match: { path: '/x' }, anonymous: true, upstream: { url: 'https://u' } };

  it('points at a key that belongs one level down', () => {
    assert.deepEqual(problems({ ...base, pathPrefix: '/x' }), [
      'pathPrefix (key): unknown key "pathPrefix"; it belongs under match (match.pathPrefix)',
    ]);
  });

  it('lists the allowed keys when nothing is close', () => {
    assert.deepEqual(problems({ ...base, upstream: { url: 'https://u', zzzzzz: 1 } }), [
      'upstream.zzzzzz (key): unknown key "zzzzzz"; expected one of: url, stripPrefix, timeoutMs, connectTimeoutMs, credential, healthPath',
    ]);
  });

  it('narrows a union to the branch the author wrote', () => {
    const jwt = { issuer: 'https://kc', audiences: ['a'] };
    assert.deepEqual(
      problems({
        ...base,
        anonymous: false,
        validateJwt: { ...jwt, requiredScopes: { mach: 'any', values: ['s'] } },
      }),
      ['validateJwt.requiredScopes.mach (key): unknown key "mach"; did you mean "match"?'],
    );
    assert.deepEqual(
      problems({ ...base, anonymous: false, validateJwt: { ...jwt, requiredScopes: 'spark' } }),
      ['validateJwt.requiredScopes: expected a list or a mapping, got "spark"'],
    );
  });

  it('places invalid record keys on the key', () => {
    assert.deepEqual(
      problems({
        ...base,
        anonymous: false,
        validateJwt: { issuer: 'https://kc', audiences: ['a'] },
        forwardClaims: { 'a..b': 'x-a' },
      }),
      [
        'forwardClaims["a..b"] (key): "a..b" is not a dotted claim path (segments of letters, digits, _ - : $ joined by .)',
      ],
    );
    assert.deepEqual(
      problems({
        ...base,
        anonymous: false,
        validateJwt: { issuer: 'https://kc', audiences: ['a'] },
        forwardClaims: { constructor: 'x-a' },
      }),
      ['forwardClaims.constructor (key): "constructor" cannot be a claim path segment'],
    );
  });
});
