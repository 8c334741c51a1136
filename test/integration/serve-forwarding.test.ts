/**
 * End to end through the whole gateway: the real local IdP (oidc-provider, Keycloak-shaped issuer),
 * the gateway on an ephemeral port, and a recording upstream. Every refusal is checked to reach
 * nothing upstream, and no secret may appear in a response or a log line.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { LocalIdp } from '../../src/dev/local-idp.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';
import {
  adlsPolicy,
  FUNCTIONS_KEY,
  OTHER,
  policyDir,
  SPARK,
  startIdp,
  startTestGateway,
  type InProcessGateway,
} from '../fixtures/gateway-harness.ts';
import { call, rawRequest, type Answer, type ErrorJson } from '../fixtures/http-client.ts';

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe('serving: forward with the upstream credential', () => {
  let idp: LocalIdp;
  let upstream: RecordingUpstream;
  let gw: InProcessGateway;
  let token: string;
  const answers: Answer[] = [];

  const send = async (path: string, options: Parameters<typeof call>[2] = {}): Promise<Answer> => {
    const answer = await call(gw.url, path, options);
    answers.push(answer);
    return answer;
  };
  const bearer = (t: string): Record<string, string> => ({ authorization: `Bearer ${t}` });

  before(async () => {
    idp = await startIdp();
    upstream = await RecordingUpstream.start((r) => {
      if (r.url.startsWith('/api/slow')) return { delayMs: 4000, body: 'late' };
      if (r.url.startsWith('/api/redirect'))
        return { status: 302, headers: { location: 'http://127.0.0.1:1/elsewhere' } };
      return { headers: { 'content-type': 'text/plain' }, body: 'from upstream' };
    });
    const dead = await closedPort();
    const extra = `  - id: public
    anonymous: true
    match: { pathPrefix: /public/ }
    upstream: { url: "${upstream.origin}" }
  - id: dead
    anonymous: true
    match: { pathPrefix: /dead/ }
    upstream: { url: "http://127.0.0.1:${dead}" }
  - id: internal-only
    anonymous: true
    match: { pathPrefix: /internal/ }
    ipFilter: { action: allow, addresses: [10.0.0.0/8] }
    upstream: { url: "${upstream.origin}" }
  - id: catch-all
    anonymous: true
    match: { pathPrefix: / }
    upstream: { url: "${upstream.origin}" }
`;
    gw = await startTestGateway(
      await policyDir({ 'adls.yaml': adlsPolicy(idp.issuer, upstream.origin, extra) }),
    );
    token = await idp.getToken(SPARK.clientId, SPARK.clientSecret, 'spark');
  });

  after(async () => {
    await gw.close();
    await upstream.close();
    await idp.close();
  });

  it('forwards a valid call with the credential, identity headers and no Authorization', async () => {
    const res = await send('/connectors/adls/files/a.csv?x=1', {
      headers: { ...bearer(token), 'x-request-id': 'req-abc-1' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.text, 'from upstream');
    const seen = upstream.requests.at(-1);
    assert.ok(seen);
    assert.equal(seen.url, '/api/files/a.csv?x=1');
    assert.deepEqual(seen.all('x-functions-key'), [FUNCTIONS_KEY]);
    assert.deepEqual(seen.all('authorization'), []);
    assert.deepEqual(seen.all('x-auth-subject'), [SPARK.clientId]);
    assert.deepEqual(seen.all('x-auth-client'), [SPARK.clientId]);
    assert.deepEqual(seen.all('x-request-id'), ['req-abc-1']);
    assert.deepEqual(seen.all('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(seen.all('x-forwarded-proto'), ['http']);
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
  });

  it('never lets spoofed credential or identity headers reach the upstream', async () => {
    const res = await send('/connectors/adls/files', {
      headers: {
        ...bearer(token),
        'x-functions-key': ['evil-key-1', 'evil-key-2'],
        'X-Auth-Subject': 'admin',
        'x-auth-client': 'root-client',
        'x-forwarded-for': '6.6.6.6',
      },
    });
    assert.equal(res.status, 200);
    const seen = upstream.requests.at(-1);
    assert.ok(seen);
    assert.deepEqual(seen.all('x-functions-key'), [FUNCTIONS_KEY]);
    assert.deepEqual(seen.all('x-auth-subject'), [SPARK.clientId]);
    assert.deepEqual(seen.all('x-auth-client'), [SPARK.clientId]);
    // The peer is not a trusted proxy, so its X-Forwarded-For is replaced, not appended to.
    assert.deepEqual(seen.all('x-forwarded-for'), ['127.0.0.1']);
  });

  it('does not let Connection remove the credential or the gateway-set headers', async () => {
    const res = await send('/connectors/adls/files', {
      headers: {
        ...bearer(token),
        connection: 'keep-alive, x-functions-key, x-auth-subject, x-request-id, x-forwarded-for, x-custom',
        'x-custom': 'dropped because Connection names it',
      },
    });
    assert.equal(res.status, 200);
    const seen = upstream.requests.at(-1);
    assert.ok(seen);
    assert.deepEqual(seen.all('x-functions-key'), [FUNCTIONS_KEY]);
    assert.deepEqual(seen.all('x-auth-subject'), [SPARK.clientId]);
    assert.equal(seen.all('x-request-id').length, 1);
    assert.deepEqual(seen.all('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(seen.all('x-custom'), []);
  });

  const refusals: [string, () => Promise<Answer>, number, string][] = [
    ['no token', () => send('/connectors/adls/files'), 401, 'token_missing'],
    [
      'token from an unknown key',
      () => send('/connectors/adls/x', { headers: bearer(unpublishedToken()) }),
      401,
      'token_key_not_found',
    ],
    [
      'token without the spark scope',
      () => otherToken().then((t) => send('/connectors/adls/x', { headers: bearer(t) })),
      403,
      'insufficient_scope',
    ],
    [
      'two Authorization headers',
      () =>
        send('/connectors/adls/x', { headers: { Authorization: [`Bearer ${token}`, `Bearer ${token}`] } }),
      400,
      'invalid_request',
    ],
    [
      'token in the query string',
      () => send(`/connectors/adls/x?access_token=${token}`, { headers: bearer(token) }),
      400,
      'invalid_request',
    ],
    [
      'encoded slash in the path',
      () => send('/connectors/adls/..%2F..%2Fadmin', { headers: bearer(token) }),
      400,
      'invalid_path',
    ],
    [
      'dot-dot segment',
      () => send('/connectors/adls/../../internal/x', { headers: bearer(token) }),
      400,
      'invalid_path',
    ],
    ['caller IP outside the route ipFilter', () => send('/internal/status'), 403, 'ip_forbidden'],
  ];
  let unpublished = '';
  const unpublishedToken = (): string => unpublished;
  const otherToken = (): Promise<string> => idp.getToken(OTHER.clientId, OTHER.clientSecret, 'reports');

  for (const [name, run, status, code] of refusals) {
    it(`refuses ${name} with ${status} ${code} and sends nothing upstream`, async () => {
      unpublished = idp.signToken(
        {
          iss: idp.issuer,
          aud: 'product-factory',
          scope: 'spark',
          sub: 'x',
          exp: Math.floor(Date.now() / 1000) + 60,
          iat: Math.floor(Date.now() / 1000),
        },
        { key: 'unpublished', kid: 'not-in-jwks' },
      );
      const before = upstream.requests.length;
      const res = await run();
      assert.equal(res.status, status, res.text);
      const body = res.json<ErrorJson>();
      assert.equal(body.error.code, code);
      assert.equal(body.error.status, status);
      assert.equal(body.error.requestId, res.headers['x-request-id']);
      if (status === 401)
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="connector-gateway"/);
      if (code === 'insufficient_scope') {
        assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope".*scope="spark"/);
      }
      assert.equal(upstream.requests.length, before, 'the upstream received nothing');
    });
  }

  it('answers an absolute-form target only from the route upstream', async () => {
    const before = upstream.requests.length;
    const text = await rawRequest(
      gw.url,
      `GET http://evil.example/connectors/adls/files HTTP/1.1\r\nHost: evil.example\r\nAuthorization: Bearer ${token}\r\nConnection: close\r\n\r\n`,
    );
    assert.match(text, /^HTTP\/1\.1 200/);
    assert.equal(upstream.requests.length, before + 1);
    const seen = upstream.requests.at(-1);
    assert.equal(seen?.url, '/api/files');
    assert.equal(seen?.headers.host, `127.0.0.1:${upstream.port}`);
    assert.deepEqual(seen?.all('x-forwarded-host'), ['evil.example']);
  });

  it('maps an unreachable upstream to 502 and a slow one to 504', async () => {
    const down = await send('/dead/x');
    assert.equal(down.status, 502);
    assert.equal(down.json<ErrorJson>().error.code, 'upstream_unreachable');
    const slow = await send('/connectors/adls/slow', { headers: bearer(token) });
    assert.equal(slow.status, 504);
    assert.equal(slow.json<ErrorJson>().error.code, 'upstream_timeout');
  });

  it('passes an upstream redirect back without following it', async () => {
    const before = upstream.requests.length;
    const res = await send('/connectors/adls/redirect', { headers: bearer(token) });
    assert.equal(res.status, 302);
    assert.equal(res.headers.location, 'http://127.0.0.1:1/elsewhere');
    assert.equal(upstream.requests.length, before + 1);
  });

  it('answers /healthz and /readyz itself even with a catch-all route', async () => {
    const before = upstream.requests.length;
    const health = await send('/healthz');
    assert.equal(health.status, 200);
    const ready = await send('/readyz');
    assert.equal(ready.status, 200);
    const report = ready.json<{ status: string; issuers: unknown }>();
    assert.equal(report.status, 'ready');
    const withQuery = await send('/readyz?verbose=1');
    assert.equal(withQuery.json<{ status: string }>().status, 'ready');
    const post = await send('/healthz', { method: 'POST' });
    assert.equal(post.status, 405);
    assert.equal(upstream.requests.length, before);
    const other = await send('/anything/else');
    assert.equal(other.status, 200);
    assert.equal(upstream.requests.length, before + 1);
  });

  it('never puts the upstream credential or a token in a response or a log line', () => {
    assert.ok(answers.length > 10);
    for (const a of answers) {
      const all = `${JSON.stringify(a.headers)}\n${a.text}`;
      assert.ok(!all.includes(FUNCTIONS_KEY), 'credential in a response');
      assert.ok(!all.includes(token), 'token in a response');
    }
    assert.ok(gw.logs.some((l) => l.includes('"decision":"forwarded"')));
    assert.ok(gw.logs.some((l) => l.includes('"reason":"token_missing"')));
    for (const line of gw.logs) {
      assert.ok(!line.includes(FUNCTIONS_KEY), `credential in log: ${line}`);
      assert.ok(!line.includes(token), `token in log: ${line}`);
      assert.ok(!/eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+/.test(line), `JWT-shaped string in log: ${line}`);
    }
  });
});
