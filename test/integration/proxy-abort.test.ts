/**
 * A caller that goes away takes the upstream request with it: during the upload, during the
 * download and while waiting for the upstream's headers. Observed on the upstream's side.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ForwardHarness, makeRoute } from '../fixtures/forward-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

describe('caller aborts', () => {
  let upstream: RecordingUpstream;
  let gateway: ForwardHarness;

  before(async () => {
    upstream = await RecordingUpstream.start();
    gateway = await ForwardHarness.start({
      route: makeRoute({ origin: upstream.origin, timeoutMs: 30_000 }),
    });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('aborts the upstream request when the caller disconnects mid-upload', async () => {
    upstream.reply(() => ({ body: 'stored' }));
    const index = upstream.requests.length;
    const outcomes = gateway.outcomes.length;
    const socket = connect(gateway.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('PUT /upload HTTP/1.1\r\nHost: gw\r\nContent-Length: 10000000\r\n\r\n');
    socket.write(Buffer.alloc(256 * 1024, 1));
    const seen = await upstream.nextRequest(index);
    // Wait until part of the body reached the upstream, then vanish.
    while (seen.bodyBytes === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    socket.destroy();
    assert.equal(await seen.body, 'aborted');
    assert.ok(seen.bodyBytes < 10_000_000);
    const outcome = await gateway.outcome(outcomes);
    assert.ok('result' in outcome, 'a caller abort is a result, not an error to render');
    assert.equal(outcome.result.clientAborted, true);
    assert.equal(outcome.result.status, 499);
  });

  it('aborts the upstream response when the caller disconnects mid-download', async () => {
    upstream.reply(() => ({ streamBytes: 500 * 1024 * 1024 }));
    const index = upstream.requests.length;
    const outcomes = gateway.outcomes.length;
    await new Promise<void>((resolve, reject) => {
      const req = request(`${gateway.url}/download`, { agent: false }, (res) => {
        let received = 0;
        res.on('data', (chunk: Buffer) => {
          received += chunk.length;
          if (received >= 1024 * 1024) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        if (error.code !== 'ECONNRESET') reject(error);
      });
      req.end();
    });
    const seen = await upstream.nextRequest(index);
    assert.equal(await seen.response, 'aborted');
    const outcome = await gateway.outcome(outcomes);
    assert.ok('result' in outcome);
    assert.equal(outcome.result.clientAborted, true);
    assert.equal(outcome.result.status, 200);
    assert.ok(outcome.result.bytesReceived < 500 * 1024 * 1024);
  });

  it('aborts the upstream request when the caller disconnects while waiting for headers', async () => {
    upstream.reply(() => ({ hang: true }));
    const index = upstream.requests.length;
    const outcomes = gateway.outcomes.length;
    const socket = connect(gateway.port, '127.0.0.1');
    socket.on('error', () => {});
    socket.write('GET /wait HTTP/1.1\r\nHost: gw\r\n\r\n');
    const seen = await upstream.nextRequest(index);
    socket.destroy();
    assert.equal(await seen.response, 'aborted');
    const outcome = await gateway.outcome(outcomes);
    assert.ok('result' in outcome);
    assert.equal(outcome.result.clientAborted, true);
    assert.equal(outcome.result.status, 499);
  });
});
