/**
 * Discovery and JWKS per issuer against the real local IdP (and a static server for JWKS shapes
 * the IdP never serves): loading, issuer mismatch, retries, key rotation, stale-if-error while
 * the IdP is down, the unknown-kid flood, timeouts and `use: enc` keys.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, afterEach, before, beforeEach, describe, it } from 'node:test';
import type { JWK } from 'jose';
import { IssuerRegistry, type IssuerRegistryOptions } from '../../src/auth/issuer-registry.ts';
import { verifySignature } from '../../src/auth/verify-signature.ts';
import { GatewayError } from '../../src/errors.ts';
import { startLocalIdp, type LocalIdp } from '../../src/dev/local-idp.ts';
import { accessClaims, ManualClock, RecordingLogger } from '../fixtures/tokens.ts';

async function verifyCode(registry: IssuerRegistry, idp: LocalIdp, token: string): Promise<string> {
  const keys = registry.register({ issuer: idp.issuer, discoveryUrl: idp.discoveryUrl });
  try {
    await verifySignature(token, ['RS256'], keys.getKey);
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof GatewayError, String(err));
    return err.code;
  }
}

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** Counts outgoing fetches, including those that fail to connect (the IdP cannot count those). */
function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls += 1;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}

describe('issuer keys against the local IdP', () => {
  let idp: LocalIdp;
  let clock: ManualClock;
  let logger: RecordingLogger;
  let registry: IssuerRegistry;
  let counter: ReturnType<typeof countingFetch>;
  const source = (): { issuer: string; discoveryUrl: string } => ({
    issuer: idp.issuer,
    discoveryUrl: idp.discoveryUrl,
  });
  const newRegistry = (options: IssuerRegistryOptions = {}): IssuerRegistry =>
    new IssuerRegistry({
      now: clock.now,
      logger,
      fetch: counter.fetch,
      retryInitialMs: 10,
      retryMaxMs: 20,
      ...options,
    });

  before(async () => {
    idp = await startLocalIdp({
      realm: 'keys',
      clients: [{ clientId: 'spark-client', clientSecret: 's3cret' }],
      audience: 'product-factory',
      scopes: ['spark'],
    });
  });

  after(() => idp.close());

  beforeEach(async () => {
    await idp.start();
    idp.resetStats();
    clock = new ManualClock();
    logger = new RecordingLogger();
    counter = countingFetch();
    registry = newRegistry();
  });

  afterEach(() => registry.close());

  it('fetches discovery then the JWKS once, and reports readiness and status', async () => {
    const keys = registry.register(source());
    assert.equal(registry.ready(), false);
    assert.equal(await registry.whenReady(), true);
    assert.equal(registry.ready(), true);
    assert.deepEqual(idp.stats(), { discovery: 1, jwks: 1, token: 0 });
    const [status] = registry.status();
    assert.equal(status?.issuer, idp.issuer);
    assert.equal(status?.jwksUri, idp.jwksUri);
    assert.equal(status?.discoveryOk, true);
    assert.equal(status?.keysLoaded, true);
    assert.equal(status?.keyCount, 1);
    assert.equal(status?.lastSuccess, new Date(clock.now()).toISOString());
    assert.equal(status?.lastError, undefined);
    assert.equal(status?.stale, false);
    assert.equal(keys.version, 1);
    assert.deepEqual(logger.messages('info'), ['issuer keys loaded']);
  });

  it('accepts a token from the real client-credentials grant', async () => {
    registry.register(source());
    await registry.whenReady();
    assert.equal(await verifyCode(registry, idp, await idp.getToken('spark-client', 's3cret')), 'ok');
  });

  it('shares one key store between routes with the same issuer', async () => {
    const a = registry.register(source());
    const b = registry.register({ ...source() });
    assert.equal(a, b);
    registry.sync([source(), source()]);
    await registry.whenReady();
    assert.equal(registry.status().length, 1);
    assert.equal(idp.stats().jwks, 1);
  });

  it('answers issuer_unavailable before the keys ever loaded', async () => {
    await idp.stop();
    registry.register(source());
    const token = idp.signToken(accessClaims(idp.issuer));
    assert.equal(await verifyCode(registry, idp, token), 'issuer_unavailable');
    assert.equal(registry.ready(), false);
  });

  it('refuses a discovery document naming another issuer, never fetches its keys, and keeps retrying', async () => {
    const wrong = { issuer: `${idp.issuer}/`, discoveryUrl: idp.discoveryUrl };
    const keys = registry.register(wrong);
    await until(() => logger.messages('error').length >= 2, 'two failed discovery attempts');
    const [status] = registry.status();
    assert.equal(status?.discoveryOk, false);
    assert.equal(status?.keysLoaded, false);
    assert.match(
      status?.lastError ?? '',
      /names issuer "http:\/\/127\.0\.0\.1:\d+\/realms\/keys", expected exactly ".*\/realms\/keys\/"/,
    );
    assert.equal(idp.stats().jwks, 0);
    assert.ok(idp.stats().discovery >= 2);
    assert.equal(registry.ready(), false);
    await assert.rejects(keys.getKey({ alg: 'RS256', kid: idp.currentKid }), { code: 'issuer_unavailable' });
  });

  it('retries the initial load with backoff until the IdP comes up', async () => {
    await idp.stop();
    registry.register(source());
    await until(() => logger.messages('warn').length >= 2, 'two failed attempts');
    assert.match(registry.status()[0]?.lastError ?? '', /ECONNREFUSED/);
    await idp.start();
    assert.equal(await registry.whenReady(), true);
    assert.equal(registry.status()[0]?.keysLoaded, true);
  });

  it('stops retrying on close and resolves whenReady false', async () => {
    await idp.stop();
    registry.register(source());
    const ready = registry.whenReady();
    await until(() => counter.calls() >= 2, 'two attempts');
    registry.close();
    assert.equal(await ready, false);
    const calls = counter.calls();
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(counter.calls(), calls);
  });

  it('sync closes issuers no route uses any more', async () => {
    const keys = registry.register(source());
    await registry.whenReady();
    registry.sync([]);
    assert.deepEqual(registry.status(), []);
    await assert.rejects(keys.getKey({ alg: 'RS256', kid: idp.currentKid }), { code: 'issuer_unavailable' });
  });

  describe('rotation', () => {
    it('accepts tokens of a new key without restart, with one refetch for many concurrent requests', async () => {
      registry.register(source());
      await registry.whenReady();
      const oldToken = idp.signToken(accessClaims(idp.issuer));
      await idp.rotateKeys();
      const newToken = await idp.getToken('spark-client', 's3cret');
      clock.advanceSeconds(31);
      idp.resetStats();
      const codes = await Promise.all(Array.from({ length: 20 }, () => verifyCode(registry, idp, newToken)));
      assert.deepEqual(new Set(codes), new Set(['ok']));
      assert.equal(idp.stats().jwks, 1);
      assert.equal(await verifyCode(registry, idp, oldToken), 'ok');
      assert.equal(idp.stats().jwks, 1);
    });

    it('refetches for an unknown kid at most once per cooldown', async () => {
      registry.register(source());
      await registry.whenReady();
      await idp.rotateKeys();
      const newToken = idp.signToken(accessClaims(idp.issuer));
      idp.resetStats();
      // Loaded 0 s ago: within the 30 s cooldown nothing is fetched and the kid is unknown.
      assert.equal(await verifyCode(registry, idp, newToken), 'token_key_not_found');
      assert.equal(idp.stats().jwks, 0);
      clock.advanceSeconds(30);
      assert.equal(await verifyCode(registry, idp, newToken), 'ok');
      assert.equal(idp.stats().jwks, 1);
    });

    it('drops a key the IdP stopped publishing', async () => {
      registry.register(source());
      await registry.whenReady();
      const oldToken = idp.signToken(accessClaims(idp.issuer));
      await idp.rotateKeys({ keepOld: false });
      clock.advanceSeconds(31);
      assert.equal(await verifyCode(registry, idp, idp.signToken(accessClaims(idp.issuer))), 'ok');
      assert.equal(await verifyCode(registry, idp, oldToken), 'token_key_not_found');
    });

    it('reloads keys past max age even when the kid is known', async () => {
      const keys = registry.register(source());
      await registry.whenReady();
      const token = idp.signToken(accessClaims(idp.issuer));
      clock.advanceSeconds(599);
      assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(idp.stats().jwks, 1);
      clock.advanceSeconds(2);
      assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(idp.stats().jwks, 2);
      assert.equal(keys.version, 1, 'the same key set: verified tokens stay cached across a refresh');
      await idp.rotateKeys({ keepOld: true });
      clock.advanceSeconds(601);
      assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(idp.stats().jwks, 3);
      assert.equal(keys.version, 2, 'a new key set: cached verifications are dropped');
    });
  });

  describe('IdP down after start', () => {
    it('keeps validating with the last good keys past max age, within the stale window, warning once', async () => {
      registry = newRegistry({ cacheMaxAgeSeconds: 600, staleSeconds: 3600, cooldownSeconds: 30 });
      registry.register(source());
      await registry.whenReady();
      const token = idp.signToken(accessClaims(idp.issuer));
      await idp.stop();
      const before = counter.calls();

      clock.advanceSeconds(601);
      assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(counter.calls(), before + 1, 'one refetch attempt past max age');
      for (let i = 0; i < 20; i++) assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(counter.calls(), before + 1, 'no further attempt within the cooldown');
      assert.equal(registry.status()[0]?.stale, true);
      assert.match(registry.status()[0]?.lastError ?? '', /ECONNREFUSED|fetch failed/);

      clock.advanceSeconds(31);
      assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(counter.calls(), before + 2, 'one attempt per cooldown');
      assert.deepEqual(logger.messages('warn'), ['JWKS refresh failed; validating with the last good keys']);

      // Past max age + stale window the keys are no longer trusted.
      clock.advanceSeconds(3600);
      assert.equal(await verifyCode(registry, idp, token), 'issuer_unavailable');
      assert.equal(await verifyCode(registry, idp, token), 'issuer_unavailable');
      assert.equal(logger.messages('error').length, 1);
      assert.equal(registry.ready(), true, 'readiness only needs one load');

      await idp.start();
      clock.advanceSeconds(31);
      assert.equal(await verifyCode(registry, idp, token), 'ok');
      assert.equal(registry.status()[0]?.stale, false);
      assert.ok(logger.messages('info').includes('JWKS refresh recovered'));
    });

    it('an unknown-kid flood while the IdP is down costs one attempt per cooldown', async () => {
      registry.register(source());
      await registry.whenReady();
      await idp.stop();
      clock.advanceSeconds(31);
      const before = counter.calls();
      const flood = Array.from({ length: 50 }, () =>
        verifyCode(
          registry,
          idp,
          idp.signToken(accessClaims(idp.issuer), { key: 'unpublished', kid: randomUUID() }),
        ),
      );
      assert.deepEqual(new Set(await Promise.all(flood)), new Set(['token_key_not_found']));
      assert.equal(counter.calls(), before + 1);
      assert.equal(await verifyCode(registry, idp, idp.signToken(accessClaims(idp.issuer))), 'ok');
    });
  });

  it('a flood of 200 concurrent random kids causes at most one JWKS fetch per cooldown', async () => {
    registry.register(source());
    await registry.whenReady();
    const flood = (): Promise<string[]> =>
      Promise.all(
        Array.from({ length: 200 }, () =>
          verifyCode(
            registry,
            idp,
            idp.signToken(accessClaims(idp.issuer), { key: 'unpublished', kid: randomUUID() }),
          ),
        ),
      );
    idp.resetStats();
    clock.advanceSeconds(31);
    assert.deepEqual(new Set(await flood()), new Set(['token_key_not_found']));
    assert.equal(idp.stats().jwks, 1);
    assert.deepEqual(new Set(await flood()), new Set(['token_key_not_found']));
    assert.equal(idp.stats().jwks, 1);
    clock.advanceSeconds(31);
    await flood();
    assert.equal(idp.stats().jwks, 2);
    // Valid tokens were never disturbed.
    assert.equal(await verifyCode(registry, idp, idp.signToken(accessClaims(idp.issuer))), 'ok');
  });
});

type Discovery = (url: string) => { status: number; body: unknown };

/** A server answering discovery and a JWKS we choose; `hang` makes it never answer. */
async function staticIdp(
  jwks: () => unknown,
  hang = false,
  discovery?: Discovery,
): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    if (hang) return;
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const { status, body } =
      req.url !== '/.well-known/openid-configuration'
        ? { status: 200, body: jwks() }
        : (discovery?.(url) ?? { status: 200, body: { issuer: url, jwks_uri: `${url}/certs` } });
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe('issuer keys against a static JWKS', () => {
  let idp: LocalIdp;
  const servers: Server[] = [];

  before(async () => {
    idp = await startLocalIdp({ realm: 'static', clients: [], audience: 'a', scopes: [] });
  });

  after(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    await idp.close();
  });

  async function load(jwks: () => unknown, hang = false, timeoutMs = 5000, discovery?: Discovery) {
    const { url, server } = await staticIdp(jwks, hang, discovery);
    servers.push(server);
    const registry = new IssuerRegistry({ timeoutMs, retryInitialMs: 10, retryMaxMs: 20 });
    const keys = registry.register({ issuer: url, discoveryUrl: `${url}/.well-known/openid-configuration` });
    return { registry, keys, url };
  }

  it('ignores keys marked use: enc or without verify in key_ops', async () => {
    const pub: JWK = idp.currentPublicJwk();
    const { registry, keys } = await load(() => ({
      keys: [
        { ...pub, use: 'enc' },
        { ...pub, use: undefined, key_ops: ['encrypt'] },
      ],
    }));
    try {
      assert.equal(await registry.whenReady(), true);
      assert.equal(registry.status()[0]?.keyCount, 0);
      await assert.rejects(verifySignature(idp.signToken({ a: 1 }), ['RS256'], keys.getKey), {
        code: 'token_key_not_found',
      });
    } finally {
      registry.close();
    }
  });

  it('verifies with the same key published for signatures', async () => {
    const { registry, keys } = await load(() => ({
      keys: [{ ...idp.currentPublicJwk(), use: 'enc', kid: 'e' }, idp.currentPublicJwk()],
    }));
    try {
      await registry.whenReady();
      assert.equal(registry.status()[0]?.keyCount, 1);
      assert.deepEqual(await verifySignature(idp.signToken({ a: 1 }), ['RS256'], keys.getKey), { a: 1 });
    } finally {
      registry.close();
    }
  });

  it('selects the only key for a token without kid, and refuses when several keys match', async () => {
    const pub = idp.currentPublicJwk();
    const one = await load(() => ({ keys: [{ ...pub, kid: undefined }] }));
    const two = await load(() => ({
      keys: [
        { ...pub, kid: undefined },
        { ...pub, kid: 'second' },
      ],
    }));
    try {
      await one.registry.whenReady();
      await two.registry.whenReady();
      const token = idp.signToken({ a: 1 }, { kid: null });
      assert.deepEqual(await verifySignature(token, ['RS256'], one.keys.getKey), { a: 1 });
      await assert.rejects(verifySignature(token, ['RS256'], two.keys.getKey), {
        code: 'token_key_not_found',
      });
    } finally {
      one.registry.close();
      two.registry.close();
    }
  });

  const badDiscovery: [string, Discovery, RegExp][] = [
    ['a non-200 answer', () => ({ status: 404, body: {} }), /answered HTTP 404, expected 200/],
    ['no jwks_uri', (url) => ({ status: 200, body: { issuer: url } }), /no absolute http\(s\) jwks_uri/],
    [
      'a relative jwks_uri',
      (url) => ({ status: 200, body: { issuer: url, jwks_uri: '/certs' } }),
      /jwks_uri/,
    ],
    ['a JSON array', () => ({ status: 200, body: [] }), /not a JSON object/],
  ];
  for (const [name, discovery, expected] of badDiscovery) {
    it(`refuses a discovery document with ${name}`, async () => {
      const { registry } = await load(() => ({ keys: [] }), false, 5000, discovery);
      try {
        await until(() => registry.status()[0]?.lastError !== undefined, 'a recorded error');
        assert.match(registry.status()[0]?.lastError ?? '', expected);
        assert.equal(registry.status()[0]?.discoveryOk, false);
      } finally {
        registry.close();
      }
    });
  }

  it('keeps retrying an invalid JWKS and reports why', async () => {
    const { registry } = await load(() => ({ keys: 'nope' }));
    try {
      await until(() => registry.status()[0]?.lastError !== undefined, 'a recorded error');
      assert.equal(registry.status()[0]?.discoveryOk, true);
      assert.equal(registry.status()[0]?.keysLoaded, false);
      assert.match(registry.status()[0]?.lastError ?? '', /JSON Web Key Set malformed/);
    } finally {
      registry.close();
    }
  });

  it('times out a discovery request that never answers', async () => {
    const { registry } = await load(() => ({}), true, 100);
    try {
      await until(() => registry.status()[0]?.lastError !== undefined, 'a timeout');
      assert.match(registry.status()[0]?.lastError ?? '', /did not answer within 100 ms/);
    } finally {
      registry.close();
    }
  });
});
