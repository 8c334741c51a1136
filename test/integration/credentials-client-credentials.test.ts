/**
 * OAuth2 client credentials as the upstream credential, against the real oidc-provider IdP of
 * the core tests: every client authentication method and discovery, single-flight on a cold
 * cache (100 concurrent requests → 1 token request), proactive refresh before expiry, a token
 * endpoint that goes down (cached token served, then 503), invalid_client logged as a
 * configuration error, and no secret, key or token in any log line.
 */
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, exportJWK, exportPKCS8, generateKeyPair, jwtVerify } from 'jose';
import { startLocalIdp, type LocalIdp } from '../../src/dev/local-idp.ts';
import { createLogger } from '../../src/observability/logger.ts';
import type { ClientCredentialsSpec, CompiledRoute } from '../../src/policy/route.ts';
import { CredentialRegistry } from '../../src/upstream/credential-registry.ts';
import { ForwardHarness, makeRoute, send } from '../fixtures/forward-harness.ts';
import { policyDir, startTestGateway, waitFor } from '../fixtures/gateway-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

const BASIC = { clientId: 'gateway-basic', clientSecret: 'cc-secret-basic-9f1e', scope: 'adls' };
const POST = { clientId: 'gateway-post', clientSecret: 'cc-secret-post-8e2d', scope: 'adls' };
const SECRETS = new Set([BASIC.clientSecret, POST.clientSecret]);
const ALL_LOGS: string[] = [];

/** A pino logger into `lines` (and ALL_LOGS), with the gateway's redaction. */
function capture(lines: string[] = []): { logger: ReturnType<typeof createLogger>; lines: string[] } {
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      const split = chunk.toString('utf8').split('\n').filter(Boolean);
      lines.push(...split);
      ALL_LOGS.push(...split);
      done();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

function spec(
  fields: Partial<ClientCredentialsSpec> & Pick<ClientCredentialsSpec, 'clientId'>,
): ClientCredentialsSpec {
  return {
    type: 'clientCredentials',
    header: 'authorization',
    tokenUrl: undefined,
    issuer: undefined,
    authMethod: 'client_secret_basic',
    clientSecret: undefined,
    privateKey: undefined,
    keyId: undefined,
    signingAlgorithm: 'RS256',
    scope: 'adls',
    audience: undefined,
    resource: undefined,
    refreshSkewSeconds: 60,
    timeoutMs: 5000,
    ...fields,
  };
}

const envRef = (name: string) => ({ kind: 'env' as const, name, text: `env:${name}` });

describe('clientCredentials upstream credential', () => {
  let idp: LocalIdp;
  let upstream: RecordingUpstream;
  let privateKeyPem: string;
  const tokensSeen = new Set<string>();

  before(async () => {
    const { privateKey, publicKey } = await generateKeyPair('PS256', { extractable: true });
    privateKeyPem = await exportPKCS8(privateKey);
    SECRETS.add(privateKeyPem.split('\n')[1] ?? privateKeyPem);
    const jwk = { ...(await exportJWK(publicKey)), kid: 'gateway-2025', alg: 'PS256', use: 'sig' };
    idp = await startLocalIdp({
      realm: 'connectors',
      clients: [
        BASIC,
        POST,
        { clientId: 'gateway-jwt', clientSecret: 'unused-secret', scope: 'adls', jwks: { keys: [jwk] } },
      ],
      audience: 'adls-func',
      scopes: ['adls', 'reports'],
    });
    process.env['CC_BASIC_SECRET'] = BASIC.clientSecret;
    process.env['CC_POST_SECRET'] = POST.clientSecret;
    process.env['CC_PRIVATE_KEY'] = privateKeyPem;
    process.env['CC_WRONG_SECRET'] = 'not-the-secret-7c3b';
    SECRETS.add('not-the-secret-7c3b');
    upstream = await RecordingUpstream.start((request) => {
      const auth = request.headers.authorization;
      if (typeof auth === 'string') tokensSeen.add(auth.slice('Bearer '.length));
      return { body: 'ok' };
    });
  });

  after(async () => {
    await upstream.close();
    await idp.close();
    for (const token of tokensSeen) SECRETS.add(token);
    assert.ok(tokensSeen.size >= 4 && ALL_LOGS.length > 20);
    for (const value of SECRETS) {
      assert.equal(
        ALL_LOGS.find((line) => line.includes(value)),
        undefined,
        'a secret, key or token was logged',
      );
    }
  });

  it('gets a token with client_secret_basic, client_secret_post, private_key_jwt and by discovery; the upstream gets it as Bearer', async () => {
    const route = (id: string, credential: string) => `
  - id: ${id}
    match:
      pathPrefix: /${id}/
    anonymous: true
    upstream:
      url: ${upstream.origin}/api
      credential:
        type: clientCredentials
${credential}`;
    const dir = await policyDir({
      'cc.yaml': `routes:${[
        route(
          'basic',
          `        tokenUrl: ${idp.tokenUrl}\n        clientId: ${BASIC.clientId}\n        clientSecret: env:CC_BASIC_SECRET\n        scope: [adls]`,
        ),
        route(
          'post',
          `        issuer: ${idp.issuer}\n        clientId: ${POST.clientId}\n        clientSecret: env:CC_POST_SECRET\n        authMethod: client_secret_post\n        scope: adls`,
        ),
        route(
          'jwt',
          `        tokenUrl: ${idp.tokenUrl}\n        clientId: gateway-jwt\n        authMethod: private_key_jwt\n        privateKey: env:CC_PRIVATE_KEY\n        keyId: gateway-2025\n        signingAlgorithm: PS256\n        scope: adls`,
        ),
      ].join('')}\n`,
    });
    const gw = await startTestGateway(dir);
    try {
      const jwks = createRemoteJWKSet(new URL(idp.jwksUri));
      for (const [id, clientId] of [
        ['basic', BASIC.clientId],
        ['post', POST.clientId],
        ['jwt', 'gateway-jwt'],
      ] as const) {
        const first = upstream.requests.length;
        const res = await send(gw.url, { path: `/${id}/files` });
        assert.equal(res.status, 200, id);
        const auth = (await upstream.nextRequest(first)).all('authorization');
        assert.equal(auth.length, 1);
        assert.match(auth[0] ?? '', /^Bearer [\w-]+\.[\w-]+\.[\w-]+$/);
        const { payload } = await jwtVerify((auth[0] ?? '').slice(7), jwks, {
          issuer: idp.issuer,
          audience: 'adls-func',
        });
        assert.equal(payload['azp'], clientId, id);
        assert.match(String(payload['scope']), /\badls\b/);
      }
      const audits = gw.logs.filter((l) => l.includes('"action":"oauth2.token"'));
      assert.equal(audits.length, 3);
      assert.ok(audits.every((l) => l.includes('"outcome":"ok"') && l.includes('"durationMs"')));
      ALL_LOGS.push(...gw.logs);
      const detail = gw.gateway.readiness()['credentials'] as Record<string, unknown>[];
      assert.deepEqual(
        detail.map((d) => [d['route'], d['type'], d['state']]),
        [
          ['basic', 'clientCredentials', 'authenticated'],
          ['post', 'clientCredentials', 'authenticated'],
          ['jwt', 'clientCredentials', 'authenticated'],
        ],
      );
    } finally {
      await gw.close();
    }
  });

  it('makes exactly one token request for 100 concurrent requests on a cold cache', async () => {
    const registry = new CredentialRegistry({ logger: capture().logger });
    const route = makeRoute({
      origin: upstream.origin,
      credential: spec({
        clientId: BASIC.clientId,
        tokenUrl: idp.tokenUrl,
        clientSecret: envRef('CC_BASIC_SECRET'),
      }),
    });
    const gateway = await ForwardHarness.start({ route, credentials: registry });
    try {
      idp.resetStats();
      const first = upstream.requests.length;
      // The provider is created by the first request (nothing synced it at start): all 100 hit a cold cache.
      const answers = await Promise.all(Array.from({ length: 100 }, () => send(gateway.url, { path: '/x' })));
      assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([200]));
      assert.equal(idp.stats().token, 1);
      const sent = new Set(upstream.requests.slice(first).map((r) => r.headers.authorization));
      assert.equal(sent.size, 1, 'every request carried the one token');

      // The same on an invalidated cache, without HTTP in between: 100 callers, 1 request.
      const provider = registry.forRoute(route);
      assert.ok(provider !== undefined);
      assert.equal(provider.ready?.(), [...sent][0], 'the hot path reads the cached token without waiting');
      provider.invalidate();
      assert.equal(provider.ready?.(), undefined, 'nothing usable now: the hot path must ask value()');
      const values = await Promise.all(Array.from({ length: 100 }, () => provider.value()));
      assert.equal(new Set(values).size, 1);
      assert.equal(idp.stats().token, 2);
      assert.equal(provider.ready?.(), values[0]);
    } finally {
      await gateway.close();
    }
  });

  describe('with short-lived tokens', () => {
    let shortIdp: LocalIdp;

    before(async () => {
      shortIdp = await startLocalIdp({
        realm: 'short',
        clients: [BASIC],
        audience: 'adls-func',
        scopes: ['adls'],
        accessTokenTtlSeconds: 4,
      });
    });
    after(() => shortIdp.close());

    /** refreshSkewSeconds 1: usable for 3 s, renewed in the background after 2.25 s. */
    function shortRoute(): CompiledRoute {
      return makeRoute({
        origin: upstream.origin,
        credential: spec({
          clientId: BASIC.clientId,
          tokenUrl: shortIdp.tokenUrl,
          clientSecret: envRef('CC_BASIC_SECRET'),
          refreshSkewSeconds: 1,
        }),
      });
    }

    it('renews the token in the background before it expires; no request waits or fails', async () => {
      const { logger, lines } = capture();
      const registry = new CredentialRegistry({ logger });
      const route = shortRoute();
      registry.sync([route]);
      const gateway = await ForwardHarness.start({ route, credentials: registry });
      try {
        await waitFor(() => registry.ready([route]), 'first token');
        const first = upstream.requests.length;
        const statuses: number[] = [];
        const until = Date.now() + 5000;
        while (Date.now() < until) {
          statuses.push((await send(gateway.url, { path: '/poll' })).status);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        assert.deepEqual(new Set(statuses), new Set([200]));
        // Audit lines are written when a request ends: the first token arrived at its line's time,
        // the renewal started at its line's time minus its duration.
        const requests = lines
          .map((l) => JSON.parse(l) as { action?: string; time: string; durationMs?: number })
          .filter((l) => l.action === 'oauth2.token');
        assert.ok(requests.length >= 2, 'renewed at least once');
        const [firstDone, second] = requests;
        const renewedAfter =
          Date.parse(second?.time ?? '') - (second?.durationMs ?? 0) - Date.parse(firstDone?.time ?? '');
        assert.ok(
          renewedAfter >= 1500 && renewedAfter < 3000,
          `renewal started ${renewedAfter} ms after the first token, before it stopped being usable (3000 ms)`,
        );
        const tokens = new Set(upstream.requests.slice(first).map((r) => r.headers.authorization));
        assert.ok(tokens.size >= 2, 'requests moved to the new token');
      } finally {
        await gateway.close();
      }
    });

    it('serves the cached token while the endpoint is down, then 503 without reaching the upstream, then recovers', async () => {
      const { logger, lines } = capture();
      const registry = new CredentialRegistry({ logger, backoff: { initialMs: 200, maxMs: 400 } });
      const route = shortRoute();
      registry.sync([route]);
      const gateway = await ForwardHarness.start({ route, credentials: registry });
      try {
        await waitFor(() => registry.ready([route]), 'first token');
        await shortIdp.stop();
        assert.equal((await send(gateway.url, { path: '/cached' })).status, 200);
        await waitFor(
          () => registry.statusByRoute([route])[0]?.available === false,
          'token no longer usable',
          5000,
        );
        const seen = upstream.requests.length;
        const refused = await send(gateway.url, { path: '/refused' });
        assert.equal(refused.status, 503);
        assert.deepEqual(JSON.parse(refused.body), { error: 'upstream_credential_unavailable' });
        assert.equal(upstream.requests.length, seen, 'the upstream received nothing');
        const warnings = lines.filter((l) => l.includes('"warn"') && l.includes('token request failed'));
        assert.equal(warnings.length, 1, 'logged once per failure streak');
        assert.equal(registry.ready([route]), true, 'obtained once: still ready');

        await shortIdp.start();
        await waitFor(() => registry.statusByRoute([route])[0]?.available === true, 'a new token', 5000);
        assert.equal((await send(gateway.url, { path: '/again' })).status, 200);
        assert.ok(lines.some((l) => l.includes('token requests recovered')));
      } finally {
        await shortIdp.start();
        await gateway.close();
      }
    });
  });

  it('logs invalid_client as a configuration error (without the secret) and answers 503', async () => {
    const { logger, lines } = capture();
    const registry = new CredentialRegistry({ logger });
    const route = makeRoute({
      origin: upstream.origin,
      credential: spec({
        clientId: BASIC.clientId,
        tokenUrl: idp.tokenUrl,
        clientSecret: envRef('CC_WRONG_SECRET'),
      }),
    });
    registry.sync([route]);
    const gateway = await ForwardHarness.start({ route, credentials: registry });
    try {
      await waitFor(
        () => lines.some((l) => l.includes('invalid_client')),
        'the token endpoint refusing the client',
      );
      const error = lines
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l['level'] === 'error');
      assert.ok(error !== undefined, 'logged at error level');
      assert.equal(error['clientId'], BASIC.clientId);
      assert.equal(error['outcome'], 'invalid_client');
      assert.match(String(error['msg']), /invalid_client/);
      const seen = upstream.requests.length;
      const res = await send(gateway.url, { path: '/x' });
      assert.equal(res.status, 503);
      assert.equal(upstream.requests.length, seen);
      assert.equal(registry.ready([route]), false, 'never obtained: not ready');
      assert.equal(registry.statusByRoute([route])[0]?.state, 'failed');
    } finally {
      await gateway.close();
    }
  });
});
