/**
 * The young-generation GC hints (src/proxy/buffer-reclaim.ts) on real streams:
 * - through the real forwarder in this process, every relayed body byte counts, both ways;
 * - through the gateway as a child process (`serve`, as deployed, with `--trace-gc`), large
 *   transfers cost a handful of mark-compacts with the hints instead of several per 100 MB
 *   without them.
 * The upstream and the transfer client are the bench's (`…/download?bytes=N`, `…/upload`).
 */
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { configureBufferReclaim, reclaimHints, reclaimHintsSkipped } from '../../src/proxy/buffer-reclaim.ts';
import { upstreamServer } from '../bench/fixture.ts';
import { transfer } from '../bench/streaming.ts';
import { ForwardHarness, makeRoute } from '../fixtures/forward-harness.ts';
import { policyDir, spawnGateway } from '../fixtures/gateway-harness.ts';

const MIB = 1024 * 1024;

async function relay(base: string, direction: 'upload' | 'download', bytes: number): Promise<void> {
  const result = await transfer({ url: `${base}/${direction}`, direction, bytes, token: undefined });
  assert.equal(result.status, 200);
}

const hintsSoFar = (): number => reclaimHints() + reclaimHintsSkipped();

describe('young-generation GC hints while streaming', () => {
  let upstream: Server;
  let origin: string;

  before(async () => {
    upstream = upstreamServer('unused');
    await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
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
      const quiet = hintsSoFar();
      await relay(gateway.url, 'download', 32 * MIB);
      assert.equal(hintsSoFar(), quiet, 'no hints while off');

      assert.equal(configureBufferReclaim(4 * MIB), true);
      const before = hintsSoFar();
      await relay(gateway.url, 'download', 64 * MIB);
      const afterDownload = hintsSoFar();
      await relay(gateway.url, 'upload', 64 * MIB);
      const afterUpload = hintsSoFar();
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
        await relay(gateway.url, 'download', 100 * MIB);
        await relay(gateway.url, 'upload', 100 * MIB);
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
