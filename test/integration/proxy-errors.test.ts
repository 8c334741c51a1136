/**
 * Transport failures and refusals of the forwarder, against real sockets: each failure before
 * the response is a GatewayError with the right status; after the response started, the
 * caller's connection is cut and the failure is reported in the result.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { isGatewayError } from '../../src/errors.ts';
import { CredentialRegistry } from '../../src/upstream/credential-registry.ts';
import { ForwardHarness, makeRoute, send, sendRaw, type Outcome } from '../fixtures/forward-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

/** A port on 127.0.0.1 that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function errorCode(outcome: Outcome): string | undefined {
  return 'error' in outcome ? outcome.error.code : outcome.result.error?.code;
}

describe('transport failures', () => {
  let upstream: RecordingUpstream;
  let gateway: ForwardHarness;

  before(async () => {
    upstream = await RecordingUpstream.start();
    gateway = await ForwardHarness.start({ route: makeRoute({ origin: upstream.origin, timeoutMs: 300 }) });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('answers 504 upstream_timeout when the upstream is too slow to send headers', async () => {
    upstream.reply(() => ({ delayMs: 3000 }));
    const index = gateway.outcomes.length;
    const res = await send(gateway.url, { path: '/slow' });
    assert.equal(res.status, 504);
    assert.deepEqual(JSON.parse(res.body), { error: 'upstream_timeout' });
    const outcome = await gateway.outcome(index);
    assert.ok('error' in outcome);
    assert.equal((outcome.error.cause as { code?: string }).code, 'UND_ERR_HEADERS_TIMEOUT');
  });

  it('answers 502 upstream_error for an invalid HTTP response', async () => {
    upstream.reply(() => ({ raw: 'this is not HTTP\r\n\r\n' }));
    const res = await send(gateway.url, { path: '/garbage' });
    assert.equal(res.status, 502);
    assert.deepEqual(JSON.parse(res.body), { error: 'upstream_error' });
  });

  it('answers 502 upstream_unreachable when the upstream resets before answering', async () => {
    upstream.reply(() => ({ reset: true }));
    const res = await send(gateway.url, { path: '/reset' });
    assert.equal(res.status, 502);
    assert.deepEqual(JSON.parse(res.body), { error: 'upstream_unreachable' });
  });

  it('passes the caller a cut connection, not a second response, when the upstream fails mid-body', async () => {
    upstream.reply(() => ({ streamBytes: 1024 * 1024, resetAfterBytes: 128 * 1024 }));
    const index = gateway.outcomes.length;
    const { status, error, received } = await new Promise<{
      status: number;
      error: string;
      received: number;
    }>((resolve) => {
      const req = request(`${gateway.url}/midway`, { agent: false }, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => (received += chunk.length));
        res.on('error', (err: NodeJS.ErrnoException) =>
          resolve({ status: res.statusCode ?? 0, error: err.code ?? err.message, received }),
        );
        res.on('end', () => resolve({ status: res.statusCode ?? 0, error: 'none', received }));
      });
      req.end();
    });
    assert.equal(status, 200);
    assert.equal(error, 'ECONNRESET');
    assert.ok(received < 1024 * 1024);
    const outcome = await gateway.outcome(index);
    assert.ok('result' in outcome);
    assert.equal(outcome.result.status, 200);
    assert.ok(isGatewayError(outcome.result.error));
    assert.ok(
      ['upstream_unreachable', 'upstream_error'].includes(errorCode(outcome) ?? ''),
      errorCode(outcome),
    );
  });

  it('answers 502 upstream_unreachable when nothing listens on the upstream port', async () => {
    const down = await ForwardHarness.start({
      route: makeRoute({ origin: `http://127.0.0.1:${await closedPort()}` }),
    });
    try {
      const res = await send(down.url, { path: '/x' });
      assert.equal(res.status, 502);
      assert.deepEqual(JSON.parse(res.body), { error: 'upstream_unreachable' });
      const outcome = await down.outcome(0);
      assert.ok('error' in outcome);
      assert.ok(outcome.error.cause !== undefined);
    } finally {
      await down.close();
    }
  });

  it('answers 503 shutting_down once the pools are closed', async () => {
    const closing = await ForwardHarness.start({ route: makeRoute({ origin: upstream.origin }) });
    try {
      upstream.reply(() => ({ body: 'ok' }));
      assert.equal((await send(closing.url, { path: '/x' })).status, 200);
      await closing.pools.close();
      const res = await send(closing.url, { path: '/x' });
      assert.equal(res.status, 503);
      assert.deepEqual(JSON.parse(res.body), { error: 'shutting_down' });
    } finally {
      await closing.close();
    }
  });
});

describe('refusals before the upstream is contacted', () => {
  let upstream: RecordingUpstream;

  before(async () => {
    upstream = await RecordingUpstream.start();
  });
  after(async () => {
    await upstream.close();
  });

  it('answers 503 upstream_credential_unavailable and sends the upstream nothing', async () => {
    const gateway = await ForwardHarness.start({
      route: makeRoute({
        origin: upstream.origin,
        credential: {
          type: 'apiKey',
          header: 'x-functions-key',
          secret: { kind: 'env', name: 'MISSING', text: 'env:MISSING' },
        },
      }),
      credentials: new CredentialRegistry({ env: {} }),
    });
    try {
      const before = upstream.requests.length;
      const connections = upstream.connections;
      const res = await send(gateway.url, { method: 'POST', path: '/x', body: 'payload' });
      assert.equal(res.status, 503);
      assert.deepEqual(JSON.parse(res.body), { error: 'upstream_credential_unavailable' });
      assert.equal(upstream.requests.length, before);
      assert.equal(upstream.connections, connections);
    } finally {
      await gateway.close();
    }
  });

  it('answers 413 for a declared Content-Length over the limit and sends the upstream nothing', async () => {
    const gateway = await ForwardHarness.start({
      route: makeRoute({ origin: upstream.origin }),
      forward: { maxBodyBytes: 1000 },
    });
    try {
      const before = upstream.requests.length;
      // Only the head: the gateway must refuse on the declared length alone.
      const res = await sendRaw(gateway.port, ['POST /upload HTTP/1.1', 'Host: gw', 'Content-Length: 1001']);
      assert.equal(res.status, 413);
      // On a keep-alive connection the gateway closes after the 413 rather than read the body.
      const agent = new Agent({ keepAlive: true });
      const keepAlive = await new Promise<{ status: number; connection: string | undefined }>(
        (resolve, reject) => {
          const req = request(`${gateway.url}/upload`, {
            method: 'POST',
            agent,
            headers: { 'content-length': String(10 * 1024 * 1024) },
          });
          req.on('response', (response) => {
            response.resume();
            resolve({ status: response.statusCode ?? 0, connection: response.headers.connection });
            req.destroy();
          });
          req.on('error', reject);
          req.flushHeaders();
        },
      );
      agent.destroy();
      assert.deepEqual(keepAlive, { status: 413, connection: 'close' });
      assert.deepEqual(JSON.parse(res.body.replace(/^[0-9a-f]+\r\n|\r\n0\r\n\r\n$/g, '')), {
        error: 'payload_too_large',
      });
      assert.equal(upstream.requests.length, before);
      // At the limit it passes.
      const ok = await send(gateway.url, { method: 'POST', path: '/upload', body: 'x'.repeat(1000) });
      assert.equal(ok.status, 200);
    } finally {
      await gateway.close();
    }
  });

  it('answers 413 and aborts the upstream when a chunked body grows past the limit', async () => {
    const gateway = await ForwardHarness.start({
      route: makeRoute({ origin: upstream.origin }),
      forward: { maxBodyBytes: 256 * 1024 },
    });
    try {
      const index = upstream.requests.length;
      const status = await new Promise<number>((resolve, reject) => {
        const req = request(`${gateway.url}/upload`, { method: 'PUT', agent: false }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        const chunk = Buffer.alloc(16 * 1024, 1);
        let sent = 0;
        // Keep writing (chunked, no Content-Length) until the gateway answers or 1 MiB went out.
        const pump = (): void => {
          while (sent < 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) {
              req.once('drain', pump);
              return;
            }
          }
          req.end();
        };
        pump();
      });
      assert.equal(status, 413);
      const seen = await upstream.nextRequest(index);
      assert.equal(await seen.body, 'aborted');
      assert.ok(seen.bodyBytes <= 256 * 1024 + 64 * 1024, `upstream got ${seen.bodyBytes} bytes`);
      const outcome = await gateway.outcome(0);
      assert.equal(errorCode(outcome), 'payload_too_large');
    } finally {
      await gateway.close();
    }
  });
});
