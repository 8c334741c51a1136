import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JWTPayload } from 'jose';
import { GatewayError } from '../errors.ts';
import type { JwtRequirements } from '../policy/route.ts';
import { accessClaims, jwtRequirements, RecordingTrace } from '../../test/fixtures/tokens.ts';
import { checkClaims } from './check-claims.ts';

const ISSUER = 'https://idp.example/realms/demo';
const NOW = 1_800_000_000;

function claims(overrides: Record<string, unknown> = {}): JWTPayload {
  return accessClaims(ISSUER, { iat: NOW - 10, exp: NOW + 290, ...overrides });
}

function refusal(
  payload: JWTPayload,
  jwt: Partial<JwtRequirements> = {},
  now = NOW,
): GatewayError | undefined {
  try {
    checkClaims(payload, jwtRequirements(ISSUER, jwt), now);
    return undefined;
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err;
  }
}

function without(name: string): JWTPayload {
  const copy = claims();
  delete copy[name];
  return copy;
}

describe('checkClaims: registered claims', () => {
  it('accepts a valid Keycloak access token and traces every check', () => {
    const trace = new RecordingTrace();
    checkClaims(claims(), jwtRequirements(ISSUER), NOW, trace);
    assert.deepEqual(trace.summary(), [
      'typ:ok',
      'iss:ok',
      'aud:ok',
      'exp:ok',
      'nbf:ok',
      'iat:ok',
      'lifetime:ok',
    ]);
    assert.ok(trace.steps.every((step) => step.stage === 'claims'));
  });

  it('refuses typ ID and Refresh (Keycloak) and accepts a token without typ', () => {
    assert.equal(refusal(claims({ typ: 'ID' }))?.code, 'token_type_invalid');
    assert.equal(refusal(claims({ typ: 'Refresh' }))?.code, 'token_type_invalid');
    assert.equal(refusal(claims({ typ: 'bearer' }))?.code, 'token_type_invalid');
    assert.equal(refusal(without('typ')), undefined);
  });

  it('refuses a wrong, missing or non-string iss and accepts any listed issuer', () => {
    assert.equal(refusal(claims({ iss: 'https://evil.example/realms/demo' }))?.code, 'token_issuer_invalid');
    assert.equal(refusal(without('iss'))?.code, 'token_issuer_invalid');
    assert.equal(refusal(claims({ iss: [ISSUER] }))?.code, 'token_issuer_invalid');
    assert.equal(
      refusal(claims({ iss: 'https://alias/realms/demo' }), {
        issuers: [ISSUER, 'https://alias/realms/demo'],
      }),
      undefined,
    );
  });

  it('checks aud as a string or an array against the accepted audiences', () => {
    assert.equal(refusal(claims({ aud: ['account', 'product-factory'] })), undefined);
    assert.equal(refusal(claims({ aud: 'account' }))?.code, 'token_audience_invalid');
    assert.equal(refusal(claims({ aud: [] }))?.code, 'token_audience_invalid');
    assert.equal(refusal(without('aud'))?.code, 'token_audience_invalid');
    assert.equal(refusal(claims({ aud: 42 }))?.code, 'token_claim_invalid');
    assert.equal(refusal(claims({ aud: ['product-factory', 7] }))?.code, 'token_claim_invalid');
  });

  it("skips aud entirely when the route accepts 'any' audience", () => {
    assert.equal(refusal(without('aud'), { audiences: 'any' }), undefined);
    assert.equal(refusal(claims({ aud: 'account' }), { audiences: 'any' }), undefined);
  });

  it('refuses an expired token after the clock skew, and not before', () => {
    const exp = NOW - 10;
    assert.equal(refusal(claims({ exp, iat: exp - 300 }), { clockSkewSeconds: 30 }), undefined);
    assert.equal(refusal(claims({ exp, iat: exp - 300 }), { clockSkewSeconds: 10 })?.code, 'token_expired');
    assert.equal(refusal(claims({ exp, iat: exp - 300 }), { clockSkewSeconds: 0 })?.code, 'token_expired');
    // RFC 7519 §4.1.4: on or after exp is expired.
    assert.equal(
      refusal(claims({ exp: NOW, iat: NOW - 300 }), { clockSkewSeconds: 0 })?.code,
      'token_expired',
    );
  });

  it('requires exp by default, and checks it when present even if not required', () => {
    assert.equal(refusal(without('exp'))?.code, 'token_claim_invalid');
    assert.equal(refusal(without('exp'), { requireExpiration: false }), undefined);
    assert.equal(refusal(claims({ exp: NOW - 100 }), { requireExpiration: false })?.code, 'token_expired');
  });

  it('refuses non-numeric or non-finite exp, nbf and iat as token_claim_invalid', () => {
    for (const name of ['exp', 'nbf', 'iat']) {
      assert.equal(refusal(claims({ [name]: String(NOW + 100) }))?.code, 'token_claim_invalid', name);
      assert.equal(refusal(claims({ [name]: null }))?.code, 'token_claim_invalid', name);
      // JSON.parse('1e999') is Infinity.
      assert.equal(refusal(claims({ [name]: Infinity }))?.code, 'token_claim_invalid', name);
    }
  });

  it('refuses nbf or iat in the future beyond the skew', () => {
    assert.equal(refusal(claims({ nbf: NOW + 20 })), undefined);
    assert.equal(refusal(claims({ nbf: NOW + 60 }))?.code, 'token_not_yet_valid');
    assert.equal(refusal(claims({ iat: NOW + 60 }))?.code, 'token_not_yet_valid');
    assert.equal(refusal(claims({ iat: NOW + 20 })), undefined);
  });

  it('refuses exp - iat above maxLifetimeSeconds', () => {
    assert.equal(
      refusal(claims({ iat: NOW - 10, exp: NOW + 3590 }), { maxLifetimeSeconds: 3600 }),
      undefined,
    );
    assert.equal(
      refusal(claims({ iat: NOW - 10, exp: NOW + 3591 }), { maxLifetimeSeconds: 3600 })?.code,
      'token_lifetime_too_long',
    );
  });

  it('without iat, refuses a token whose remaining lifetime alone exceeds the limit', () => {
    const noIat = without('iat');
    assert.equal(refusal({ ...noIat, exp: NOW + 3600 }, { maxLifetimeSeconds: 3600 }), undefined);
    assert.equal(
      refusal({ ...noIat, exp: NOW + 3700 }, { maxLifetimeSeconds: 3600 })?.code,
      'token_lifetime_too_long',
    );
  });

  it('refuses a token older than maxTokenAgeSeconds (plus skew) and requires iat then', () => {
    const jwt = { maxTokenAgeSeconds: 60, clockSkewSeconds: 5 };
    assert.equal(refusal(claims({ iat: NOW - 65 }), jwt), undefined);
    assert.equal(refusal(claims({ iat: NOW - 66 }), jwt)?.code, 'token_lifetime_too_long');
    assert.equal(refusal(without('iat'), jwt)?.code, 'token_claim_invalid');
  });

  it('records the failing check in the trace and stops there', () => {
    const trace = new RecordingTrace();
    assert.throws(() => checkClaims(claims({ aud: 'account' }), jwtRequirements(ISSUER), NOW, trace), {
      code: 'token_audience_invalid',
    });
    assert.deepEqual(trace.summary(), ['typ:ok', 'iss:ok', 'aud:fail']);
    assert.match(trace.steps[2]?.detail ?? '', /account/);
  });
});

describe('checkClaims: scopes', () => {
  it('requires every scope by default (all) and carries the required scopes on the 403', () => {
    const jwt = { requiredScopes: { match: 'all', values: ['spark', 'reports'] } } as const;
    const err = refusal(claims({ scope: 'profile spark' }), jwt);
    assert.equal(err?.code, 'insufficient_scope');
    assert.equal(err?.status, 403);
    assert.equal(err?.scope, 'spark reports');
    assert.equal(refusal(claims({ scope: 'reports profile spark' }), jwt), undefined);
  });

  it('with any, one of the scopes is enough', () => {
    const jwt = { requiredScopes: { match: 'any', values: ['spark', 'reports'] } } as const;
    assert.equal(refusal(claims({ scope: 'reports' }), jwt), undefined);
    assert.equal(refusal(claims({ scope: 'profile' }), jwt)?.code, 'insufficient_scope');
  });

  it('treats a missing scope as no scopes and a non-string scope as invalid', () => {
    const jwt = { requiredScopes: { match: 'all', values: ['spark'] } } as const;
    assert.equal(refusal(without('scope'), jwt)?.code, 'insufficient_scope');
    assert.equal(refusal(claims({ scope: ['spark'] }), jwt)?.code, 'token_claim_invalid');
    assert.equal(refusal(claims({ scope: 'sparkle' }), jwt)?.code, 'insufficient_scope');
  });
});

describe('checkClaims: required claims', () => {
  const roles = (match: 'all' | 'any', ...values: string[]) => ({
    requiredClaims: [{ name: 'realm_access.roles', path: ['realm_access', 'roles'], match, values }],
  });

  it('all: every value must be present', () => {
    assert.equal(refusal(claims(), roles('all', 'connector-user', 'offline_access')), undefined);
    const err = refusal(claims(), roles('all', 'connector-user', 'admin'));
    assert.equal(err?.code, 'claim_requirement_failed');
    assert.equal(err?.status, 403);
    assert.match(err?.message ?? '', /realm_access\.roles/);
  });

  it('any: one value is enough', () => {
    assert.equal(refusal(claims(), roles('any', 'admin', 'connector-user')), undefined);
    assert.equal(refusal(claims(), roles('any', 'admin', 'root'))?.code, 'claim_requirement_failed');
  });

  it('follows nested paths with dashes (resource_access.my-client.roles)', () => {
    const jwt = {
      requiredClaims: [
        {
          name: 'resource_access.my-client.roles',
          path: ['resource_access', 'my-client', 'roles'],
          match: 'all',
          values: ['reader'],
        },
      ],
    } as const;
    assert.equal(refusal(claims(), jwt), undefined);
    assert.equal(
      refusal(claims({ resource_access: { 'other-client': { roles: ['reader'] } } }), jwt)?.code,
      'claim_requirement_failed',
    );
  });

  it('compares string, number and boolean claims as strings; a missing claim fails', () => {
    const req = (name: string, ...values: string[]) => ({
      requiredClaims: [{ name, path: [name], match: 'all' as const, values }],
    });
    assert.equal(refusal(claims(), req('azp', 'spark-client')), undefined);
    assert.equal(refusal(claims({ tier: 3 }), req('tier', '3')), undefined);
    assert.equal(refusal(claims({ internal: true }), req('internal', 'true')), undefined);
    assert.equal(refusal(claims(), req('missing', 'x'))?.code, 'claim_requirement_failed');
    assert.equal(
      refusal(claims({ azp: { id: 'spark-client' } }), req('azp', 'spark-client'))?.code,
      'claim_requirement_failed',
    );
  });

  it('runs after the scope check and after the registered claims', () => {
    const trace = new RecordingTrace();
    const jwt = jwtRequirements(ISSUER, {
      requiredScopes: { match: 'all', values: ['spark'] },
      ...roles('all', 'admin'),
    });
    assert.throws(() => checkClaims(claims(), jwt, NOW, trace), { code: 'claim_requirement_failed' });
    assert.deepEqual(trace.summary().slice(-2), ['scope:ok', 'claim:fail']);
  });
});
