import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPath, placeIssues, policyErrorMap } from './policy-diagnostics.ts';
import { RouteSchema } from './policy-schema.ts';

const JWT = { issuer: 'https://kc/realms/x', audiences: ['aud'] };
const BASE = {
  id: 'r',
  match: { pathPrefix: '/connectors/adls/' },
  validateJwt: JWT,
  upstream: { url: 'https://u' },
};

/** `path: message` for each problem of a route (empty when valid). */
function check(overrides: Record<string, unknown>): string[] {
  const result = RouteSchema.safeParse(
    { ...BASE, ...overrides },
    { error: policyErrorMap, reportInput: true },
  );
  return result.success
    ? []
    : placeIssues(RouteSchema, result.error.issues).map((p) => `${formatPath(p.path)}: ${p.message}`);
}

describe('match rules', () => {
  it('needs exactly one of path, pathPrefix, pattern', () => {
    assert.deepEqual(check({ match: { methods: ['GET'] } }), [
      'match.pathPrefix: required: give one of path (exact), pathPrefix or pattern',
    ]);
    assert.deepEqual(check({ match: { pathPrefix: '/a', pattern: '/a/*' } }), [
      'match.pattern: pathPrefix and pattern are exclusive; give exactly one of path, pathPrefix or pattern',
    ]);
  });

  it('checks paths are canonical and patterns well-formed', () => {
    assert.deepEqual(check({ match: { path: 'status' } }), ['match.path: must start with /']);
    assert.deepEqual(check({ match: { path: '/a/../b' } }), ['match.path: dot segment']);
    assert.deepEqual(check({ match: { path: '/%7euser' } }), [
      'match.path: write it in canonical form: /~user',
    ]);
    assert.deepEqual(check({ match: { path: '/a?b=1' } }), ['match.path: must not contain a query (?)']);
    assert.deepEqual(check({ match: { pattern: '/a/b*' } }), [
      'match.pattern: "b*": `*` must be a whole segment (partial wildcards are not supported)',
    ]);
  });

  it('checks methods and host', () => {
    assert.deepEqual(check({ match: { path: '/a', methods: ['GET', 'BAD METHOD'] } }), [
      'match.methods[1]: expected an HTTP method name (RFC 9110 §9), e.g. GET',
    ]);
    assert.deepEqual(check({ match: { path: '/a', methods: [] } }), [
      'match.methods: must have at least 1 item(s)',
    ]);
    assert.deepEqual(check({ match: { path: '/a', host: 'gw.example.com:443' } }), [
      'match.host: host must not have a port; it is compared without one',
    ]);
    assert.deepEqual(check({ match: { path: '/a', host: 'bad_host' } }), [
      'match.host: "bad_host" is not a host name',
    ]);
    const ok = RouteSchema.parse({ ...BASE, match: { path: '/a', host: '[2001:DB8::1]' } });
    assert.equal(ok.match.host, '2001:db8::1');
  });
});

describe('validateJwt rules', () => {
  it('needs an issuer, or openidConfig with issuers', () => {
    assert.deepEqual(check({ validateJwt: { audiences: ['a'] } }), [
      'validateJwt.issuer: required: the expected token issuer (or openidConfig together with issuers)',
    ]);
    assert.deepEqual(check({ validateJwt: { openidConfig: 'https://kc/cfg', audiences: ['a'] } }), [
      'validateJwt.issuers: required with openidConfig and no issuer: the accepted iss values must be known at load',
    ]);
    assert.deepEqual(
      check({ validateJwt: { openidConfig: 'https://kc/cfg', issuers: ['https://kc'], audiences: ['a'] } }),
      [],
    );
  });

  it('audiences and anyAudience are exclusive', () => {
    assert.deepEqual(check({ validateJwt: { ...JWT, anyAudience: true } }), [
      'validateJwt.anyAudience: anyAudience: true and audiences are exclusive',
    ]);
    assert.deepEqual(check({ validateJwt: { issuer: JWT.issuer, anyAudience: true } }), []);
  });

  it('checks URLs, scopes, claims and numbers', () => {
    assert.deepEqual(check({ validateJwt: { ...JWT, issuer: 'ftp://kc' } }), [
      'validateJwt.issuer: issuer must use http or https',
    ]);
    assert.deepEqual(check({ validateJwt: { ...JWT, issuer: 'https://kc/realms/x?a=1' } }), [
      'validateJwt.issuer: issuer must not have a query',
    ]);
    assert.deepEqual(check({ validateJwt: { ...JWT, requiredScopes: ['a b'] } }), [
      'validateJwt.requiredScopes[0]: expected a scope token (printable ASCII, no spaces, quotes or backslashes; RFC 6749 §3.3)',
    ]);
    assert.deepEqual(check({ validateJwt: { ...JWT, requiredClaims: [{ name: 'roles', values: [] }] } }), [
      'validateJwt.requiredClaims[0].values: must have at least 1 item(s)',
    ]);
    assert.deepEqual(check({ validateJwt: { ...JWT, maxLifetimeSeconds: 1.5 } }), [
      'validateJwt.maxLifetimeSeconds: expected an integer, got 1.5',
    ]);
  });
});

describe('route rules', () => {
  it('forwardClaims need a token', () => {
    assert.deepEqual(check({ validateJwt: undefined, anonymous: true, forwardClaims: { sub: 'x-sub' } }), [
      'forwardClaims: an anonymous route validates no token, so it has no claims to forward',
    ]);
  });

  it('stripPrefix must be a segment prefix of the literal path, also for patterns', () => {
    assert.deepEqual(check({ upstream: { url: 'https://u', stripPrefix: '/connectors/adls/' } }), []);
    assert.deepEqual(check({ upstream: { url: 'https://u', stripPrefix: '/connectors' } }), []);
    assert.deepEqual(check({ upstream: { url: 'https://u', stripPrefix: '/other' } }), [
      "upstream.stripPrefix: must be a prefix (on a segment boundary) of the route's literal path /connectors/adls",
    ]);
    const pattern = { match: { pattern: '/connectors/*/files/**' } };
    assert.deepEqual(check({ ...pattern, upstream: { url: 'https://u', stripPrefix: '/connectors' } }), []);
    assert.deepEqual(check({ ...pattern, upstream: { url: 'https://u', stripPrefix: '/connectors/adls' } }), [
      "upstream.stripPrefix: must be a prefix (on a segment boundary) of the route's literal path /connectors",
    ]);
  });

  it('upstream URL: http(s) only, no userinfo, query or fragment', () => {
    assert.deepEqual(check({ upstream: { url: 'https://u/api#x' } }), [
      'upstream.url: url must not have a fragment',
    ]);
    assert.deepEqual(check({ upstream: { url: 'not a url' } }), [
      'upstream.url: url must be an absolute http or https URL',
    ]);
  });

  it('headers must not collide upstream', () => {
    const bearer = { url: 'https://u', credential: { type: 'bearer', secret: 'env:T' } };
    assert.deepEqual(check({ upstream: bearer, forwardToken: true }), [
      'forwardToken: forwardToken sends the Authorization header, which the upstream credential already uses',
    ]);
    const apiKey = { url: 'https://u', credential: { type: 'apiKey', header: 'X-Key', secret: 'env:K' } };
    assert.deepEqual(
      check({ upstream: apiKey, forwardClaims: { sub: 'x-key', azp: 'X-Sub', iss: 'x-sub' } }),
      [
        'forwardClaims.sub: x-key already carries the upstream credential',
        'forwardClaims.iss: x-sub already carries claim azp',
      ],
    );
    assert.deepEqual(check({ forwardClaims: { sub: 'Authorization' } }), [
      'forwardClaims.sub: authorization cannot carry a claim; use forwardToken to forward the token',
    ]);
  });

  it('secret references: env names, absolute files and Key Vault secret identifiers', () => {
    const credential = (secret: string) => ({
      upstream: { url: 'https://u', credential: { type: 'bearer', secret } },
    });
    assert.deepEqual(check(credential('env:1BAD')), [
      'upstream.credential.secret: env: must be followed by an environment variable name ([A-Za-z_][A-Za-z0-9_]*)',
    ]);
    assert.deepEqual(check(credential('file:relative/path')), [
      'upstream.credential.secret: file: must be followed by an absolute path',
    ]);
    assert.deepEqual(check(credential('keyvault:https://v.vault.azure.net/secrets/k')), []);
    assert.deepEqual(check(credential('keyvault:https://v.vault.azure.net/secrets/k/0a1b2c')), []);
    assert.deepEqual(check(credential('keyvault:https://v.vault.azure.net/secrets/k?x=1')), [
      'upstream.credential.secret: the Key Vault URL must not have a query or fragment',
    ]);
    assert.deepEqual(check(credential('keyvault:https://v.vault.azure.net/secrets/bad_name')), [
      'upstream.credential.secret: the secret name must be 1-127 letters, digits or dashes',
    ]);
    assert.deepEqual(check(credential('keyvault:https://v.vault.azure.net/secrets/k/1/2')), [
      'upstream.credential.secret: expected https://<vault>/secrets/<name> or https://<vault>/secrets/<name>/<version>',
    ]);
    assert.deepEqual(check(credential('keyvault:not a url')), [
      'upstream.credential.secret: keyvault: must be followed by a secret identifier URL (https://<vault>/secrets/<name>)',
    ]);
  });
});
