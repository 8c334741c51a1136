/**
 * The authentication stage end to end: a real HTTP server on 127.0.0.1 runs `authenticate` on
 * `req.headersDistinct.authorization` and renders refusals with `wwwAuthenticate`, against keys
 * from the real local IdP. Each refusal class is pinned by status, code and challenge.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { authenticate } from '../../src/auth/authenticate.ts';
import { IssuerRegistry } from '../../src/auth/issuer-registry.ts';
import { wwwAuthenticate } from '../../src/auth/www-authenticate.ts';
import { isGatewayError } from '../../src/errors.ts';
import type { JwtRequirements } from '../../src/policy/route.ts';
import { startLocalIdp, type LocalIdp } from '../../src/dev/local-idp.ts';
import {
  accessClaims,
  hs256WithPublicKey,
  jwtRequirements,
  nowSeconds,
  RecordingTrace,
  unsecuredToken,
  withPayload,
} from '../fixtures/tokens.ts';

const REALM = 'connector-gateway';
const MAX_TOKEN_BYTES = 4096;

interface Reply {
  readonly status: number;
  readonly code: string | undefined;
  readonly challenge: string | undefined;
  readonly body: Record<string, unknown>;
}

describe('authenticate against the local IdP', () => {
  let idp: LocalIdp;
  let registry: IssuerRegistry;
  let server: Server;
  let base: string;
  const routes = new Map<string, JwtRequirements>();

  before(async () => {
    idp = await startLocalIdp({
      realm: 'demo',
      clients: [
        {
          clientId: 'spark-client',
          clientSecret: 's3cret',
          scope: 'spark',
          roles: ['connector-user'],
          resourceAccess: { 'my-client': ['reader'] },
        },
      ],
      audience: 'product-factory',
      scopes: ['spark', 'reports'],
    });
    const jwt = (overrides: Partial<JwtRequirements> = {}): JwtRequirements =>
      jwtRequirements(idp.issuer, overrides);
    routes.set('/default', jwt());
    routes.set('/scoped', jwt({ requiredScopes: { match: 'all', values: ['spark', 'reports'] } }));
    routes.set('/any-scope', jwt({ requiredScopes: { match: 'any', values: ['spark', 'reports'] } }));
    const roles = (match: 'all' | 'any', values: string[]) =>
      jwt({
        requiredClaims: [{ name: 'realm_access.roles', path: ['realm_access', 'roles'], match, values }],
      });
    routes.set('/roles-all', roles('all', ['connector-user', 'admin']));
    routes.set('/roles-any', roles('any', ['admin', 'connector-user']));
    routes.set('/roles-any-missing', roles('any', ['admin', 'root']));
    routes.set(
      '/client-role',
      jwt({
        requiredClaims: [
          {
            name: 'resource_access.my-client.roles',
            path: ['resource_access', 'my-client', 'roles'],
            match: 'all',
            values: ['writer'],
          },
        ],
      }),
    );
    routes.set('/age', jwt({ maxTokenAgeSeconds: 60 }));
    // Never produced by the policy loader (HS* is refused at load): pins jose's second line of defence.
    routes.set('/hs-misconfigured', jwt({ algorithms: ['HS256', 'RS256'] }));
    routes.set('/unreachable-issuer', jwtRequirements('http://127.0.0.1:9/realms/none'));

    registry = new IssuerRegistry({ retryInitialMs: 1000 });
    registry.sync([...routes.values()]);
    server = createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://gateway');
      const jwt = routes.get(url.pathname);
      if (jwt === undefined) return void res.writeHead(404).end();
      const input = { authorization: req.headersDistinct.authorization, query: url.search };
      authenticate(input, jwt, registry, { maxTokenBytes: MAX_TOKEN_BYTES }).then(
        (principal) => {
          const { subject, clientId, claims } = principal;
          res
            .writeHead(200, { 'content-type': 'application/json' })
            .end(JSON.stringify({ subject, clientId, scope: claims['scope'] }));
        },
        (err: unknown) => {
          if (!isGatewayError(err)) return void res.writeHead(500).end(String(err));
          const challenge = wwwAuthenticate(err, REALM);
          res
            .writeHead(err.status, {
              'content-type': 'application/json',
              ...(challenge === undefined ? {} : { 'www-authenticate': challenge }),
            })
            .end(JSON.stringify({ code: err.code, message: err.message }));
        },
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    await until(() => registry.status().some((s) => s.issuer === idp.issuer && s.keysLoaded));
  });

  after(async () => {
    registry.close();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await idp.close();
  });

  async function until(condition: () => boolean): Promise<void> {
    for (let i = 0; i < 300 && !condition(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.ok(condition(), 'condition not reached');
  }

  /** node:http, because fetch merges repeated headers into one. */
  function send(path: string, authorization?: string | string[]): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | string[]> = authorization === undefined ? {} : { authorization };
      const req = request(`${base}${path}`, { headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const body = JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown>;
          resolve({
            status: res.statusCode ?? 0,
            code: typeof body['code'] === 'string' ? body['code'] : undefined,
            challenge: res.headers['www-authenticate'],
            body,
          });
        });
      });
      req.on('error', reject);
      req.end();
    });
  }

  const bearer = (token: string): string => `Bearer ${token}`;
  const signed = (overrides: Record<string, unknown> = {}, options = {}): string =>
    idp.signToken(accessClaims(idp.issuer, overrides), options);
  const invalidToken = (description: RegExp): RegExp =>
    new RegExp(`^Bearer realm="${REALM}", error="invalid_token", error_description="${description.source}"$`);

  async function expectInvalidToken(path: string, token: string, code: string): Promise<void> {
    const reply = await send(path, bearer(token));
    assert.equal(reply.status, 401, `${code}: ${JSON.stringify(reply.body)}`);
    assert.equal(reply.code, code);
    assert.match(reply.challenge ?? '', invalidToken(/[^"]+/));
    assert.ok(!(reply.challenge ?? '').includes(token.slice(0, 20)), 'the challenge never echoes the token');
  }

  it('accepts a token from the real client-credentials grant and returns the principal', async () => {
    const reply = await send('/default', bearer(await idp.getToken('spark-client', 's3cret', 'spark')));
    assert.equal(reply.status, 200);
    assert.deepEqual(reply.body, { subject: 'spark-client', clientId: 'spark-client', scope: 'spark' });
  });

  it('accepts the required claims and scopes when the token has them', async () => {
    const token = bearer(await idp.getToken('spark-client', 's3cret', 'spark'));
    assert.equal((await send('/roles-any', token)).status, 200);
    assert.equal((await send('/any-scope', token)).status, 200);
  });

  describe('request refusals', () => {
    it('missing token: 401 token_missing, challenge without error (RFC 6750 §3.1)', async () => {
      const reply = await send('/default');
      assert.equal(reply.status, 401);
      assert.equal(reply.code, 'token_missing');
      assert.equal(reply.challenge, `Bearer realm="${REALM}"`);
    });

    it('another scheme: 401 token_missing saying only Bearer is accepted', async () => {
      const reply = await send('/default', 'Basic c3Bhcms6czNjcmV0');
      assert.equal(reply.status, 401);
      assert.equal(reply.code, 'token_missing');
      assert.match(String(reply.body['message']), /only the bearer/i);
      assert.equal(reply.challenge, `Bearer realm="${REALM}"`);
    });

    it('two Authorization headers: 400 invalid_request', async () => {
      const token = bearer(signed());
      const reply = await send('/default', [token, token]);
      assert.equal(reply.status, 400);
      assert.equal(reply.code, 'invalid_request');
      assert.equal(
        reply.challenge,
        `Bearer realm="${REALM}", error="invalid_request", error_description="Send exactly one Authorization header"`,
      );
    });

    it('token in the query string: 400 invalid_request', async () => {
      const token = signed();
      const reply = await send(`/default?access_token=${token}`, bearer(token));
      assert.equal(reply.status, 400);
      assert.equal(reply.code, 'invalid_request');
      assert.match(reply.challenge ?? '', /error="invalid_request"/);
      assert.equal((await send(`/default?access_token=${token}`)).code, 'invalid_request');
    });

    it('malformed token: 401 token_malformed', async () => {
      await expectInvalidToken('/default', 'not-a-jwt', 'token_malformed');
      await expectInvalidToken('/default', 'a.b.c', 'token_malformed');
      await expectInvalidToken('/default', idp.signToken('[1,2,3]'), 'token_malformed');
      await expectInvalidToken('/default', idp.signToken('not json'), 'token_malformed');
    });

    it('oversized token: 401 token_too_large', async () => {
      await expectInvalidToken(
        '/default',
        signed({ padding: 'x'.repeat(MAX_TOKEN_BYTES) }),
        'token_too_large',
      );
    });
  });

  describe('signature and header refusals', () => {
    it('bad signature: another key under the published kid, or a swapped payload', async () => {
      await expectInvalidToken(
        '/default',
        signed({}, { key: 'unpublished', kid: idp.currentKid }),
        'token_signature_invalid',
      );
      await expectInvalidToken(
        '/default',
        withPayload(signed(), accessClaims(idp.issuer, { sub: 'admin' })),
        'token_signature_invalid',
      );
    });

    it('unknown kid: 401 token_key_not_found', async () => {
      await expectInvalidToken(
        '/default',
        signed({}, { key: 'unpublished', kid: randomUUID() }),
        'token_key_not_found',
      );
    });

    it('alg not in the allowlist: 401 token_algorithm_not_allowed', async () => {
      await expectInvalidToken('/default', signed({}, { alg: 'PS256' }), 'token_algorithm_not_allowed');
    });

    it('alg none, with or without a signature: 401 token_algorithm_not_allowed', async () => {
      await expectInvalidToken(
        '/default',
        unsecuredToken(accessClaims(idp.issuer)),
        'token_algorithm_not_allowed',
      );
      await expectInvalidToken(
        '/default',
        unsecuredToken(accessClaims(idp.issuer), 'c2ln'),
        'token_algorithm_not_allowed',
      );
    });

    it('HS256 keyed with the RSA public key (PEM or JWK) is refused, even if a route allowed HS256', async () => {
      for (const encoding of ['pem', 'jwk'] as const) {
        const token = hs256WithPublicKey(idp.currentPublicJwk(), accessClaims(idp.issuer), encoding);
        await expectInvalidToken('/default', token, 'token_algorithm_not_allowed');
        await expectInvalidToken('/hs-misconfigured', token, 'token_algorithm_not_allowed');
      }
    });

    it('jku, x5u, jwk and x5c headers: 401 token_header_invalid', async () => {
      const headers = {
        jku: `${idp.issuer}/protocol/openid-connect/certs`,
        x5u: 'https://evil.example/cert.pem',
        jwk: idp.currentPublicJwk(),
        x5c: ['MIIB'],
      };
      for (const [name, value] of Object.entries(headers)) {
        const reply = await send('/default', bearer(signed({}, { header: { [name]: value } })));
        assert.equal(reply.code, 'token_header_invalid', name);
        assert.match(
          reply.challenge ?? '',
          new RegExp(`error_description="The token header must not carry '${name}'"`),
        );
      }
    });

    it('an unknown crit extension: 401 token_header_invalid', async () => {
      await expectInvalidToken(
        '/default',
        signed({}, { header: { crit: ['exp'], exp: 1 } }),
        'token_header_invalid',
      );
      await expectInvalidToken(
        '/default',
        signed({}, { header: { crit: ['b64'], b64: false } }),
        'token_header_invalid',
      );
    });
  });

  describe('claim refusals', () => {
    const now = nowSeconds();

    it('wrong iss: 401 token_issuer_invalid', async () => {
      await expectInvalidToken(
        '/default',
        signed({ iss: 'http://127.0.0.1:1/realms/demo' }),
        'token_issuer_invalid',
      );
    });

    it('missing or wrong aud: 401 token_audience_invalid', async () => {
      await expectInvalidToken('/default', signed({ aud: undefined }), 'token_audience_invalid');
      await expectInvalidToken('/default', signed({ aud: ['account'] }), 'token_audience_invalid');
    });

    it('expired: 401 token_expired', async () => {
      await expectInvalidToken('/default', signed({ iat: now - 700, exp: now - 400 }), 'token_expired');
    });

    it('nbf in the future: 401 token_not_yet_valid', async () => {
      await expectInvalidToken('/default', signed({ nbf: now + 120 }), 'token_not_yet_valid');
    });

    it('Keycloak ID and refresh tokens: 401 token_type_invalid', async () => {
      await expectInvalidToken('/default', signed({ typ: 'ID' }), 'token_type_invalid');
      await expectInvalidToken('/default', signed({ typ: 'Refresh' }), 'token_type_invalid');
    });

    it('no exp or a non-numeric exp: 401 token_claim_invalid', async () => {
      await expectInvalidToken('/default', signed({ exp: undefined }), 'token_claim_invalid');
      await expectInvalidToken('/default', signed({ exp: String(now + 300) }), 'token_claim_invalid');
    });

    it('lifetime above maxLifetimeSeconds: 401 token_lifetime_too_long', async () => {
      await expectInvalidToken('/default', signed({ iat: now, exp: now + 86401 }), 'token_lifetime_too_long');
    });

    it('older than maxTokenAgeSeconds: 401 token_lifetime_too_long', async () => {
      assert.equal((await send('/age', bearer(signed({ iat: now - 30 })))).status, 200);
      await expectInvalidToken('/age', signed({ iat: now - 120 }), 'token_lifetime_too_long');
    });

    it('missing scope: 403 insufficient_scope with scope=', async () => {
      const reply = await send('/scoped', bearer(await idp.getToken('spark-client', 's3cret', 'spark')));
      assert.equal(reply.status, 403);
      assert.equal(reply.code, 'insufficient_scope');
      assert.match(
        reply.challenge ?? '',
        new RegExp(
          `^Bearer realm="${REALM}", error="insufficient_scope", error_description="[^"]+", scope="spark reports"$`,
        ),
      );
    });

    it('missing claim values (all, any, nested path with a dash): 403 claim_requirement_failed', async () => {
      const token = bearer(await idp.getToken('spark-client', 's3cret', 'spark'));
      for (const path of ['/roles-all', '/roles-any-missing', '/client-role']) {
        const reply = await send(path, token);
        assert.equal(reply.status, 403, path);
        assert.equal(reply.code, 'claim_requirement_failed', path);
        assert.match(
          reply.challenge ?? '',
          /^Bearer realm="connector-gateway", error="insufficient_scope", error_description="[^"]+"$/,
        );
      }
    });
  });

  it('an issuer whose keys never loaded: 503 issuer_unavailable without a challenge', async () => {
    const reply = await send('/unreachable-issuer', bearer(signed()));
    assert.equal(reply.status, 503);
    assert.equal(reply.code, 'issuer_unavailable');
    assert.equal(reply.challenge, undefined);
  });

  it('traces every step for explain, without the token', async () => {
    const token = await idp.getToken('spark-client', 's3cret', 'spark');
    const trace = new RecordingTrace();
    const jwt = routes.get('/roles-any') as JwtRequirements;
    await authenticate(
      { authorization: [bearer(token)], query: '' },
      jwt,
      registry,
      { maxTokenBytes: MAX_TOKEN_BYTES },
      trace,
    );
    assert.deepEqual(trace.summary(), [
      'extract:ok',
      'header:ok',
      'alg:ok',
      'signature:ok',
      'typ:ok',
      'iss:ok',
      'aud:ok',
      'exp:ok',
      'nbf:ok',
      'iat:ok',
      'lifetime:ok',
      'claim:ok',
    ]);
    for (const step of trace.steps) assert.ok(!step.detail.includes(token.split('.')[2] ?? 'x'), step.check);
    assert.deepEqual(new Set(trace.steps.map((s) => s.stage)), new Set(['token', 'claims']));
  });

  it('uses the injected clock for claim checks', async () => {
    const token = signed();
    const jwt = routes.get('/default') as JwtRequirements;
    const input = { authorization: [bearer(token)], query: '' };
    await assert.rejects(
      authenticate(input, jwt, registry, {
        maxTokenBytes: MAX_TOKEN_BYTES,
        now: () => Date.now() + 3_600_000,
      }),
      {
        code: 'token_expired',
      },
    );
  });
});
