/**
 * The verified-token cache inside `authenticate`, against the real local IdP: a token seen again
 * skips the signature verification, yet every rule a fresh verification applies still holds —
 * claims per request, exp, key removal, the stale window, the route's alg allowlist — and an
 * edited payload under a cached signature is refused.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import {
  authenticate,
  authenticateNow,
  type AuthenticateOptions,
  type Principal,
} from '../../src/auth/authenticate.ts';
import { IssuerRegistry } from '../../src/auth/issuer-registry.ts';
import { RefusedTokenCache } from '../../src/auth/refused-token-cache.ts';
import { tokenCacheKey, TokenKeyMemo, VerifiedTokenCache } from '../../src/auth/verified-token-cache.ts';
import { startLocalIdp, type LocalIdp } from '../../src/dev/local-idp.ts';
import { GatewayError } from '../../src/errors.ts';
import type { JwtRequirements } from '../../src/policy/route.ts';
import {
  accessClaims,
  jwtRequirements,
  ManualClock,
  RecordingTrace,
  withPayload,
} from '../fixtures/tokens.ts';

describe('verified-token cache in authenticate', () => {
  let idp: LocalIdp;
  let clock: ManualClock;
  let registry: IssuerRegistry;
  let cache: VerifiedTokenCache;
  let refused: RefusedTokenCache;
  let route: JwtRequirements;

  const run = (token: string, jwt = route, options: Partial<AuthenticateOptions> = {}): Promise<Principal> =>
    authenticate({ authorization: [`Bearer ${token}`], query: '' }, jwt, registry, {
      maxTokenBytes: 8192,
      now: clock.now,
      cache,
      refused,
      ...options,
    });
  const code = async (token: string, jwt = route): Promise<string> => {
    try {
      await run(token, jwt);
      return 'ok';
    } catch (err) {
      assert.ok(err instanceof GatewayError, String(err));
      return err.code;
    }
  };
  const token = (overrides: Record<string, unknown> = {}): string =>
    idp.signToken(
      accessClaims(idp.issuer, {
        iat: Math.floor(clock.now() / 1000),
        exp: Math.floor(clock.now() / 1000) + 300,
        ...overrides,
      }),
    );

  before(async () => {
    idp = await startLocalIdp({
      realm: 'cache',
      clients: [{ clientId: 'spark-client', clientSecret: 's3cret', scope: 'spark' }],
      audience: 'product-factory',
      scopes: ['spark', 'reports'],
    });
  });
  after(async () => {
    await idp.close();
  });
  beforeEach(async () => {
    clock = new ManualClock();
    registry = new IssuerRegistry({
      now: clock.now,
      cacheMaxAgeSeconds: 600,
      cooldownSeconds: 30,
      staleSeconds: 3600,
    });
    // Entries may outlive the JWKS max age here, so a hit must consult the key store itself.
    cache = new VerifiedTokenCache({ maxAgeSeconds: 86_400 });
    refused = new RefusedTokenCache({ maxEntries: 10, maxAgeSeconds: 86_400 });
    route = jwtRequirements(idp.issuer);
    registry.register(route);
    assert.equal(await registry.whenReady(), true);
    idp.resetStats();
  });
  afterEach(() => {
    registry.close();
  });

  it('serves a token seen again from the cache: the same frozen claims, one entry', async () => {
    const t = token();
    const first = await run(t);
    const second = await run(t);
    assert.equal(second.claims, first.claims, 'not parsed again: the cached payload');
    assert.ok(Object.isFrozen(second.claims));
    assert.equal(second.token, t);
    assert.equal(second.subject, 'service-account-spark');
    assert.equal(cache.size, 1);
  });

  it('names the caller on a hit as on the verification: subject and client id, only when present', async () => {
    const cases: [Record<string, unknown>, Record<string, string>][] = [
      [
        { sub: 'alice', azp: 'portal' },
        { subject: 'alice', clientId: 'portal' },
      ],
      [{ sub: undefined, azp: undefined, client_id: 'batch' }, { clientId: 'batch' }],
      [{ sub: 'bob', azp: undefined }, { subject: 'bob' }],
      [{ sub: 42, azp: undefined }, {}],
    ];
    for (const [claims, names] of cases) {
      const t = token(claims);
      for (const round of ['verified', 'cached']) {
        const { claims: _claims, token: _token, ...named } = await run(t);
        assert.deepEqual(named, names, `${JSON.stringify(claims)} ${round}`);
      }
    }
  });

  it('answers a cache hit synchronously on the serving path, and waits only for a verification', async () => {
    const t = token();
    const now = (jwt = route): Principal | Promise<Principal> =>
      authenticateNow({ authorization: [`Bearer ${t}`], query: '' }, jwt, registry, {
        maxTokenBytes: 8192,
        now: clock.now,
        cache,
        refused,
      });
    const first = now();
    assert.ok(first instanceof Promise, 'a token not seen before is verified asynchronously');
    const verified = await first;
    const hit = now();
    assert.ok(!(hit instanceof Promise), 'a cached token needs no promise');
    assert.equal(hit.claims, verified.claims);
    assert.equal(hit.subject, 'service-account-spark');
    // The route's checks still run on the synchronous path, and fail synchronously.
    assert.throws(
      () => now(jwtRequirements(idp.issuer, { audiences: ['other-api'] })),
      (err: unknown) => err instanceof GatewayError && err.code === 'token_audience_invalid',
    );
    clock.advanceSeconds(300 + 30);
    const expired = now();
    assert.ok(expired instanceof Promise, 'past exp the entry is gone: a fresh verification');
    await assert.rejects(
      expired,
      (err: unknown) => err instanceof GatewayError && err.code === 'token_expired',
    );
  });

  it('caches by default (one cache per registry) and not with cache: false', async () => {
    const t = token();
    const a = await run(t, route, { cache: undefined });
    const b = await run(t, route, { cache: undefined });
    assert.equal(a.claims, b.claims);
    const c = await run(t, route, { cache: false });
    const d = await run(t, route, { cache: false });
    assert.notEqual(c.claims, d.claims);
  });

  it("still checks each route's claims on a cached token", async () => {
    const t = token();
    assert.equal(await code(t), 'ok');
    assert.equal(
      await code(t, jwtRequirements(idp.issuer, { audiences: ['other-api'] })),
      'token_audience_invalid',
    );
    assert.equal(
      await code(t, jwtRequirements(idp.issuer, { requiredScopes: { match: 'all', values: ['reports'] } })),
      'insufficient_scope',
    );
    assert.equal(await code(t), 'ok');
  });

  it('never accepts a cached token past exp', async () => {
    const t = token();
    assert.equal(await code(t), 'ok');
    clock.advanceSeconds(300 + 30); // exp + the route's clock skew
    assert.equal(await code(t), 'token_expired');
    assert.equal(cache.size, 0, 'the entry is gone at exp');
  });

  it('re-runs the time-dependent checks on every hit for the same route (token age)', async () => {
    // The route's claims passed once, so a hit re-checks only what time can change; the entry
    // stays cached (exp is far), so this is the hit path, not a fresh verification.
    const aged = jwtRequirements(idp.issuer, { maxTokenAgeSeconds: 60 });
    const t = token();
    assert.equal(await code(t, aged), 'ok');
    assert.equal(await code(t, aged), 'ok');
    clock.advanceSeconds(60 + 30 + 1); // the age limit + the route's clock skew
    assert.equal(await code(t, aged), 'token_lifetime_too_long');
    assert.equal(cache.size, 1, 'refused by the claim check, not by a cache miss');
    assert.equal(await code(t), 'ok', 'a route without an age limit still accepts it');
  });

  it('checks the shape of a token the cache has not seen before anything else', async () => {
    assert.equal(await code('not-a-jws'), 'token_malformed');
    assert.equal(await code('a.b.c d'), 'token_malformed');
    assert.equal(cache.size + refused.size, 0);
  });

  it('refuses an edited payload under the signature of a cached token', async () => {
    const t = token();
    assert.equal(await code(t), 'ok');
    const forged = withPayload(
      t,
      accessClaims(idp.issuer, { sub: 'admin', exp: Math.floor(clock.now() / 1000) + 300 }),
    );
    assert.equal(await code(forged), 'token_signature_invalid');
  });

  it("with a connection's key memo, an edited payload after the real token is still refused", async () => {
    // The memo recognises the token the connection sent last; anything else, even a token that
    // differs only in its payload, must get its own hash and its own verification.
    const keyMemo = new TokenKeyMemo();
    const t = token();
    const forged = withPayload(
      t,
      accessClaims(idp.issuer, { sub: 'admin', exp: Math.floor(clock.now() / 1000) + 300 }),
    );
    const other = token({ sub: 'service-account-other' });
    const viaMemo = async (sent: string): Promise<string> => {
      try {
        return (await run(sent, route, { keyMemo })).subject ?? '-';
      } catch (err) {
        assert.ok(err instanceof GatewayError, String(err));
        return err.code;
      }
    };
    assert.equal(await viaMemo(t), 'service-account-spark');
    assert.equal(await viaMemo(t), 'service-account-spark');
    assert.equal(await viaMemo(forged), 'token_signature_invalid');
    assert.equal(await viaMemo(t), 'service-account-spark');
    assert.equal(await viaMemo(other), 'service-account-other');
    assert.equal(await viaMemo(forged), 'token_signature_invalid');
  });

  it("refuses a cached token on a route whose alg allowlist does not include the token's alg", async () => {
    const t = token();
    assert.equal(await code(t), 'ok');
    assert.equal(
      await code(t, jwtRequirements(idp.issuer, { algorithms: ['ES256'] })),
      'token_algorithm_not_allowed',
    );
  });

  it('drops cached tokens when the key set changes: a removed key stops accepting', async () => {
    const t = token({ exp: Math.floor(clock.now() / 1000) + 86_000 });
    assert.equal(await code(t), 'ok');
    await idp.rotateKeys({ keepOld: false });
    clock.advanceSeconds(601); // past JWKS max age: the hit asks the key store, which refetches
    assert.equal(await code(t), 'token_key_not_found');
    assert.equal(idp.stats().jwks, 1, 'one refetch');
    assert.equal(await code(token()), 'ok', 'tokens of the new key pass');
  });

  it('applies the stale window to cached tokens while the IdP is down', async () => {
    const t = token({ exp: Math.floor(clock.now() / 1000) + 86_000 });
    assert.equal(await code(t), 'ok');
    await idp.stop();
    try {
      clock.advanceSeconds(601);
      assert.equal(await code(t), 'ok', 'stale keys are still trusted within the window');
      clock.advanceSeconds(3600);
      assert.equal(await code(t), 'issuer_unavailable');
    } finally {
      await idp.start();
    }
  });

  it('verifies the signature when tracing (explain), so the trace shows it', async () => {
    const t = token();
    assert.equal(await code(t), 'ok');
    const trace = new RecordingTrace();
    await authenticate(
      { authorization: [`Bearer ${t}`], query: '' },
      route,
      registry,
      { maxTokenBytes: 8192, now: clock.now, cache },
      trace,
    );
    assert.ok(trace.summary().includes('signature:ok'), trace.summary().join(' '));
  });

  const forgedToken = (sub: string): string =>
    withPayload(token(), accessClaims(idp.issuer, { sub, exp: Math.floor(clock.now() / 1000) + 300 }));

  it('remembers a bad signature, and answers it again from that memory without verifying', async () => {
    assert.equal(await code(forgedToken('admin')), 'token_signature_invalid');
    assert.equal(refused.size, 1, 'the refusal is remembered');
    assert.equal(cache.size, 0);
    // Observe the short cut: a refusal planted for a token that would verify is answered from
    // the cache, so the verification did not run.
    const valid = token();
    const keys = registry.register(route);
    refused.add(tokenCacheKey(valid), keys, keys.version, clock.now());
    assert.equal(await code(valid), 'token_signature_invalid');
  });

  it('re-verifies a refused token once the key set changed', async () => {
    const valid = token({ exp: Math.floor(clock.now() / 1000) + 86_000 });
    const keys = registry.register(route);
    refused.add(tokenCacheKey(valid), keys, keys.version, clock.now());
    assert.equal(await code(valid), 'token_signature_invalid');
    await idp.rotateKeys({ keepOld: true });
    clock.advanceSeconds(601); // past JWKS max age: the next lookup refetches a different set
    assert.equal(await code(token()), 'ok', 'a token of the new key triggers the refetch');
    assert.equal(await code(valid), 'ok', 'the old refusal no longer applies');
  });

  it('does not remember refusals that need no cryptography or depend on the route', async () => {
    const header = Buffer.from(JSON.stringify({ alg: 'RS256', kid: 'k', jku: 'https://evil.example/' }));
    assert.equal(await code(`${header.toString('base64url')}.e30.c2ln`), 'token_header_invalid');
    const t = token();
    assert.equal(
      await code(t, jwtRequirements(idp.issuer, { audiences: ['other-api'] })),
      'token_audience_invalid',
    );
    assert.equal(refused.size, 0);
    assert.equal(await code(t), 'ok');
  });

  it('a flood of unique forged tokens evicts only other refusals, never a verified caller', async () => {
    const valid = token();
    assert.equal(await code(valid), 'ok');
    for (let i = 0; i < 25; i++)
      assert.equal(await code(forgedToken(`attacker-${i}`)), 'token_signature_invalid');
    assert.equal(refused.size, 10, 'bounded by maxEntries');
    assert.equal(cache.size, 1, "the valid caller's entry is still there");
    assert.equal(await code(valid), 'ok');
  });
});
