/**
 * The young-generation GC hints (src/proxy/buffer-reclaim.ts) on real streams:
 * - through the real forwarder in this process, every relayed body byte counts, both ways;
 * - through the gateway as a child process (`serve`, as deployed, with `--trace-gc`), large
 *   transfers cost a handful of mark-compacts with the hints instead of several per 100 MB
 *   without them.
 */
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configureBufferReclaim, reclaimHints, reclaimHintsSkipped } from '../../src/proxy/buffer-reclaim.ts';
import { ForwardHarness, makeRoute } from '../fixtures/forward-harness.ts';
import { policyDir, spawnGateway } from '../fixtures/gateway-harness.ts';

const MIB = 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024, 'd');

/** GET streams `?bytes=N` bytes; PUT counts the body and answers the count. */
function streamingUpstream(): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.method === 'PUT') {
      let received = 0;
      req.on('data', (chunk: Buffer) => (received += chunk.length));
      req.on('end', () => res.end(String(received)));
      return;
    }
    let left = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('bytes'));
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': left });
    const pump = (): void => {
      while (left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= chunk.length;
        if (!res.write(chunk)) {
          res.once('drain', pump);
          return;
        }
      }
      res.end();
    };
    pump();
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function download(url: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    request(`${url}/big?bytes=${bytes}`, (res) => {
      let received = 0;
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('end', () => resolve(received));
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

function upload(url: string, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}/up`,
      { method: 'PUT', headers: { 'content-length': bytes, 'content-type': 'application/octet-stream' } },
      (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => resolve(Number(text)));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    let left = bytes;
    const pump = (): void => {
      while (left > 0) {
        const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
        left -= chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', pump);
          return;
        }
      }
      req.end();
    };
    pump();
  });
}

describe('young-generation GC hints while streaming', () => {
  let upstream: Server;
  let origin: string;

  before(async () => {
    upstream = await streamingUpstream();
    origin = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
  });

  after(async () => {
    configureBufferReclaim(0);
    upstream.closeAllConnections();
    await new Promise((resolve) => upstream.close(resolve));
  });

  it('counts the bytes relayed both ways through the forwarder', async () => {
    const gateway = await ForwardHarness.start({ route: makeRoute({ origin }) });
    try {
      configureBufferReclaim(0);
      const quiet = reclaimHints() + reclaimHintsSkipped();
      assert.equal(await download(gateway.url, 32 * MIB), 32 * MIB);
      assert.equal(reclaimHints() + reclaimHintsSkipped(), quiet, 'no hints while off');

      assert.equal(configureBufferReclaim(4 * MIB), true);
      const before = reclaimHints() + reclaimHintsSkipped();
      assert.equal(await download(gateway.url, 64 * MIB), 64 * MIB);
      const afterDownload = reclaimHints() + reclaimHintsSkipped();
      assert.equal(await upload(gateway.url, 64 * MIB), 64 * MIB);
      const afterUpload = reclaimHints() + reclaimHintsSkipped();
      // 64 MiB / 4 MiB = 16 crossings each way (one fewer when a crossing waits for the hint).
      assert.ok(afterDownload - before >= 12, `${afterDownload - before} hints for the download`);
      assert.ok(afterUpload - afterDownload >= 12, `${afterUpload - afterDownload} hints for the upload`);
      assert.ok(afterUpload - before <= 32);
    } finally {
      configureBufferReclaim(0);
      await gateway.close();
    }
  });

  it('leaves a handful of mark-compacts where 100 MB transfers otherwise cause several each', async (t) => {
    const dir = await policyDir({
      'stream.yaml': `routes:\n  - id: stream\n    match:\n      pathPrefix: /\n    anonymous: true\n    upstream:\n      url: ${origin}\n`,
    });
    const markCompacts = async (reclaimBytes: number): Promise<number> => {
      const env = { GATEWAY_STREAM_RECLAIM_BYTES: String(reclaimBytes) };
      const gateway = await spawnGateway(dir, env, ['--trace-gc']);
      for (let i = 0; i < 3; i++) {
        assert.equal(await download(gateway.url, 100 * MIB), 100 * MIB);
        assert.equal(await upload(gateway.url, 100 * MIB), 100 * MIB);
      }
      gateway.child.kill('SIGTERM');
      assert.equal(await gateway.exited, 0);
      // V8 prints its GC trace with C stdio, flushed at exit at the latest.
      return gateway.stdout.join('\n').match(/Mark-Compact/g)?.length ?? 0;
    };
    const off = await markCompacts(0);
    const on = await markCompacts(8 * MIB);
    t.diagnostic(`mark-compacts over 600 MB: ${off} without hints, ${on} with them`);
    assert.ok(off >= 6, `without hints V8 ran ${off} mark-compacts (expected several)`);
    assert.ok(on * 3 <= off, `with hints ${on} mark-compacts, without ${off}: expected at most a third`);
  });
});
