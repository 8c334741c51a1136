import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RouteSchema } from '../config/policy-schema.ts';
import { ConfigError } from '../errors.ts';
import { compileRoute, deepFreeze, discoveryUrlFor, parseSecretRef } from './compile.ts';

const DEFAULTS = { upstreamTimeoutMs: 30_000, upstreamConnectTimeoutMs: 5_000 };
const SOURCE = { file: 'a.yaml', index: 0 };

function compile(route: unknown) {
  return compileRoute(RouteSchema.parse(route), SOURCE, DEFAULTS);
}

describe('compileRoute', () => {
  it('applies defaults and returns a deep-frozen route', () => {
    const route = compile({
      id: 'r',
      match: { pathPrefix: '/a/', methods: ['get', 'GET'] },
      validateJwt: { issuer: 'https://kc/realms/x', audiences: ['aud'] },
      upstream: { url: 'https://u.example/', stripPrefix: '/' },
    });
    assert.deepEqual(route.match.methods, ['GET']);
    assert.equal(route.upstream.basePath, '');
    assert.equal(route.upstream.stripPrefix, undefined);
    assert.deepEqual([route.upstream.timeoutMs, route.upstream.connectTimeoutMs], [30_000, 5_000]);
    assert.ok(Object.isFrozen(route) && Object.isFrozen(route.auth) && Object.isFrozen(route.match.methods));
    assert.throws(() => {
      (route.match.methods as string[]).push('POST');
    }, TypeError);
    assert.equal(route.auth.kind === 'jwt' && route.auth.jwt.requiredScopes, undefined);
  });

  it('takes the issuer from issuers[0] when only openidConfig and issuers are given', () => {
    const route = compile({
      id: 'r',
      match: { path: '/a' },
      validateJwt: { openidConfig: 'https://idp/cfg', issuers: ['https://a', 'https://b'], audiences: ['x'] },
      upstream: { url: 'http://u:8080/base/path/' },
    });
    assert.ok(route.auth.kind === 'jwt');
    assert.deepEqual([route.auth.jwt.issuer, route.auth.jwt.discoveryUrl], ['https://a', 'https://idp/cfg']);
    assert.deepEqual([route.upstream.origin, route.upstream.basePath], ['http://u:8080', '/base/path']);
  });

  it('fails closed: no validateJwt without anonymous: true, even if the schema is bypassed', () => {
    const parsed = RouteSchema.parse({
      id: 'r',
      match: { path: '/a' },
      anonymous: true,
      upstream: { url: 'https://u' },
    });
    assert.throws(() => compileRoute({ ...parsed, anonymous: false }, SOURCE, DEFAULTS), ConfigError);
  });
});

describe('helpers', () => {
  it('parseSecretRef', () => {
    assert.deepEqual(parseSecretRef('env:KEY'), { kind: 'env', name: 'KEY', text: 'env:KEY' });
    assert.deepEqual(parseSecretRef('file:/run/k'), { kind: 'file', path: '/run/k', text: 'file:/run/k' });
    assert.throws(() => parseSecretRef('secret-value'), ConfigError);
  });

  it('discoveryUrlFor drops trailing slashes of the issuer', () => {
    assert.equal(
      discoveryUrlFor('https://kc/realms/x/'),
      'https://kc/realms/x/.well-known/openid-configuration',
    );
    assert.equal(
      discoveryUrlFor('https://kc/realms/x'),
      'https://kc/realms/x/.well-known/openid-configuration',
    );
  });

  it('deepFreeze freezes nested arrays and objects', () => {
    const value = deepFreeze({ a: [{ b: 1 }] });
    assert.ok(Object.isFrozen(value.a[0]));
  });
});
