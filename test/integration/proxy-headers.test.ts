/**
 * Header and target rules of forwarding, against a real recording upstream: credential
 * injection, spoofing, Connection-named removal, hop-by-hop both ways, X-Forwarded-*, path
 * rewrite, absolute-form targets and redirects.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CredentialRegistry } from '../../src/upstream/credential-registry.ts';
import { ForwardHarness, makeRoute, send, sendRaw } from '../fixtures/forward-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

const KEY = 'functions-key-value-1';

describe('forwarding headers', () => {
  let upstream: RecordingUpstream;
  let gateway: ForwardHarness;

  before(async () => {
    upstream = await RecordingUpstream.start();
    gateway = await ForwardHarness.start({
      route: makeRoute({
        origin: upstream.origin,
        basePath: '/api',
        stripPrefix: '/connectors/adls',
        credential: {
          type: 'apiKey',
          header: 'x-functions-key',
          secret: { kind: 'env', name: 'ADLS_KEY', text: 'env:ADLS_KEY' },
        },
        forwardClaims: ['x-user-sub', 'x-user-roles'],
      }),
      credentials: new CredentialRegistry({ env: { ADLS_KEY: KEY } }),
      forward: {
        requestId: 'rid-42',
        clientIp: '203.0.113.7',
        proto: 'https',
        claimHeaders: [
          ['x-user-sub', 'user-1'],
          ['x-user-roles', 'reader'],
        ],
      },
    });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('injects the credential, drops the inbound Authorization and rewrites the path', async () => {
    const index = upstream.requests.length;
    const res = await send(gateway.url, {
      path: '/connectors/adls/files?x=1&y=%2F',
      headers: { authorization: 'Bearer caller-token', accept: 'text/plain' },
    });
    assert.equal(res.status, 200);
    const seen = await upstream.nextRequest(index);
    assert.equal(seen.url, '/api/files?x=1&y=%2F');
    assert.deepEqual(seen.all('x-functions-key'), [KEY]);
    assert.deepEqual(seen.all('authorization'), []);
    assert.equal(seen.headers.accept, 'text/plain');
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
  });

  it('never lets a caller-supplied credential or claim header through (any case, duplicates)', async () => {
    const index = upstream.requests.length;
    const res = await sendRaw(gateway.port, [
      'GET /connectors/adls/x HTTP/1.1',
      'Host: gw',
      'X-Functions-Key: stolen-1',
      'x-functions-key: stolen-2',
      'X-USER-SUB: admin',
      'x-user-sub: root',
      'X-User-Roles: admin',
    ]);
    assert.equal(res.status, 200);
    const seen = await upstream.nextRequest(index);
    assert.deepEqual(seen.all('x-functions-key'), [KEY]);
    assert.deepEqual(seen.all('x-user-sub'), ['user-1']);
    assert.deepEqual(seen.all('x-user-roles'), ['reader']);
  });

  it('does not let Connection remove the credential, X-Request-Id or X-Forwarded-For', async () => {
    const index = upstream.requests.length;
    const res = await sendRaw(gateway.port, [
      'GET /connectors/adls/x HTTP/1.1',
      'Host: gw',
      'Connection: x-functions-key, x-request-id, x-forwarded-for',
      'Connection: X-User-Sub, content-length, x-custom',
      'X-Custom: drop-me',
      'X-Kept: keep-me',
    ]);
    assert.equal(res.status, 200);
    const seen = await upstream.nextRequest(index);
    assert.deepEqual(seen.all('x-functions-key'), [KEY]);
    assert.deepEqual(seen.all('x-request-id'), ['rid-42']);
    assert.deepEqual(seen.all('x-forwarded-for'), ['203.0.113.7']);
    assert.deepEqual(seen.all('x-user-sub'), ['user-1']);
    assert.deepEqual(seen.all('x-custom'), []);
    assert.deepEqual(seen.all('x-kept'), ['keep-me']);
  });

  it('removes hop-by-hop headers from the request and sets X-Forwarded-*', async () => {
    const index = upstream.requests.length;
    const res = await sendRaw(
      gateway.port,
      [
        'POST /connectors/adls/upload HTTP/1.1',
        'Host: gateway.example:8443',
        'Keep-Alive: timeout=5',
        'Proxy-Connection: keep-alive',
        'TE: trailers',
        'Trailer: x-checksum',
        'Upgrade: websocket',
        'Proxy-Authorization: Basic cHJveHk6cGFzcw==',
        'X-Forwarded-For: 1.2.3.4',
        'X-Forwarded-Proto: http',
        'X-Forwarded-Host: spoofed.example',
        'X-Request-Id: spoofed-id',
        'Forwarded: for=1.2.3.4',
        'Content-Length: 5',
      ],
      'hello',
    );
    assert.equal(res.status, 200);
    const seen = await upstream.nextRequest(index);
    await seen.body;
    for (const name of [
      'keep-alive',
      'proxy-connection',
      'te',
      'trailer',
      'upgrade',
      'proxy-authorization',
      'forwarded',
    ]) {
      assert.deepEqual(seen.all(name), [], name);
    }
    // Not chunked: the declared length is kept.
    assert.deepEqual(seen.all('transfer-encoding'), []);
    assert.deepEqual(seen.all('content-length'), ['5']);
    assert.equal(seen.bodyBytes, 5);
    assert.deepEqual(seen.all('x-forwarded-for'), ['203.0.113.7']);
    assert.deepEqual(seen.all('x-forwarded-proto'), ['https']);
    assert.deepEqual(seen.all('x-forwarded-host'), ['gateway.example:8443']);
    assert.deepEqual(seen.all('x-request-id'), ['rid-42']);
  });

  it('removes hop-by-hop headers, Connection-named ones and an echoed credential from the response', async () => {
    upstream.reply(() => ({
      headers: {
        connection: 'x-internal',
        'keep-alive': 'timeout=5',
        'x-internal': 'secret-topology',
        'proxy-authenticate': 'Basic',
        upgrade: 'h2c',
        trailer: 'x-checksum',
        'x-functions-key': KEY,
        'set-cookie': ['a=1', 'b=2'],
        'x-served-by': 'upstream',
      },
      body: 'done',
    }));
    try {
      const res = await send(gateway.url, { path: '/connectors/adls/x' });
      assert.equal(res.status, 200);
      assert.equal(res.body, 'done');
      for (const name of [
        'keep-alive',
        'x-internal',
        'proxy-authenticate',
        'upgrade',
        'trailer',
        'x-functions-key',
      ]) {
        assert.equal(res.headers[name], undefined, name);
      }
      assert.deepEqual(res.headers['set-cookie'], ['a=1', 'b=2']);
      assert.equal(res.headers['x-served-by'], 'upstream');
      assert.ok(!JSON.stringify(res.rawHeaders).includes(KEY));
    } finally {
      upstream.reply(() => ({ body: 'ok' }));
    }
  });

  it('passes a redirect back unchanged and does not follow it', async () => {
    upstream.reply((request) =>
      request.url.startsWith('/api/moved')
        ? { status: 302, headers: { location: '/api/elsewhere' } }
        : { body: 'ok' },
    );
    try {
      const index = upstream.requests.length;
      const res = await send(gateway.url, { path: '/connectors/adls/moved' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.location, '/api/elsewhere');
      await upstream.nextRequest(index);
      assert.equal(upstream.requests.length, index + 1);
      assert.ok(!upstream.requests.some((r) => r.url === '/api/elsewhere'));
    } finally {
      upstream.reply(() => ({ body: 'ok' }));
    }
  });

  it('sends an absolute-form target only to the route upstream, as an origin-form path', async () => {
    const index = upstream.requests.length;
    const response = await sendRaw(gateway.port, [
      'GET http://evil.example/connectors/adls/steal?q=1 HTTP/1.1',
      'Host: evil.example',
    ]);
    assert.equal(response.status, 200);
    const seen = await upstream.nextRequest(index);
    assert.equal(seen.url, '/api/steal?q=1');
    assert.equal(seen.headers.host, `127.0.0.1:${upstream.port}`);
    assert.deepEqual(seen.all('x-forwarded-host'), ['evil.example']);
  });

  it('reuses keep-alive connections to the upstream', async () => {
    const before = upstream.connections;
    for (let i = 0; i < 5; i++) await send(gateway.url, { path: '/connectors/adls/ka' });
    assert.ok(upstream.connections - before <= 1, `opened ${upstream.connections - before} connections`);
  });
});

describe('forwarding options', () => {
  it('keeps Authorization with forwardToken and appends the peer to a trusted X-Forwarded-For chain', async () => {
    const upstream = await RecordingUpstream.start();
    const gateway = await ForwardHarness.start({
      route: makeRoute({ origin: upstream.origin, forwardToken: true }),
      forward: { trustedPeer: true, clientIp: '198.51.100.9' },
    });
    try {
      const res = await sendRaw(gateway.port, [
        'GET /a HTTP/1.1',
        'Host: gw',
        'Authorization: Bearer caller-token',
        'X-Forwarded-For: 198.51.100.9',
        'X-Forwarded-For: 10.1.1.1',
      ]);
      assert.equal(res.status, 200);
      const seen = await upstream.nextRequest(0);
      assert.deepEqual(seen.all('authorization'), ['Bearer caller-token']);
      assert.deepEqual(seen.all('x-forwarded-for'), ['198.51.100.9, 10.1.1.1, 127.0.0.1']);
      assert.equal(seen.url, '/a');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('answers Expect: 100-continue itself and forwards the body without Expect', async () => {
    const upstream = await RecordingUpstream.start();
    const gateway = await ForwardHarness.start({ route: makeRoute({ origin: upstream.origin }) });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${gateway.url}/upload`, {
          method: 'POST',
          agent: false,
          headers: { expect: '100-continue', 'content-length': '5' },
        });
        // Node's client holds the body back until the 100 arrives.
        req.on('continue', () => req.end('hello'));
        req.on('response', (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
      });
      assert.equal(status, 200);
      const seen = await upstream.nextRequest(0);
      assert.equal(await seen.body, 'complete');
      assert.equal(seen.bodyBytes, 5);
      assert.deepEqual(seen.all('expect'), []);
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });

  it('sends no body for GET and HEAD', async () => {
    const upstream = await RecordingUpstream.start();
    const gateway = await ForwardHarness.start({ route: makeRoute({ origin: upstream.origin }) });
    try {
      await send(gateway.url, {
        method: 'GET',
        path: '/g',
        headers: { 'content-length': '4' },
        body: 'abcd',
      });
      const get = await upstream.nextRequest(0);
      await get.body;
      assert.equal(get.bodyBytes, 0);
      assert.deepEqual(get.all('content-length'), []);
      assert.deepEqual(get.all('transfer-encoding'), []);
      const head = await send(gateway.url, { method: 'HEAD', path: '/h' });
      assert.equal(head.status, 200);
      assert.equal((await upstream.nextRequest(1)).method, 'HEAD');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});
