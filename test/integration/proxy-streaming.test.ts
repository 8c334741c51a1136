/**
 * Streaming both ways without buffering: 100 MB up and 100 MB down through the forwarder with
 * the gateway process's memory bounded, while the far side is deliberately slower than the near
 * side, so a forwarder without backpressure would have to hold most of the body in memory.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ForwardHarness, makeRoute, send } from '../fixtures/forward-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

const TOTAL = 100 * 1024 * 1024;
/** Allowed RSS growth. Buffering either body would need ~100 MB (more with copies). */
const BOUND = 64 * 1024 * 1024;

// 300 MB of short-lived socket buffers pass through this one process (client, gateway and
// upstream share it); collecting them as we go makes RSS show what is live, i.e. buffered,
// rather than what the GC has not got round to yet.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Samples RSS (after a GC) every 20 ms until stopped; returns the peak growth over the baseline. */
function sampleRss(): () => number {
  gc();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const timer = setInterval(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  return () => {
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    return peak - baseline;
  };
}

describe('streaming 100 MB', () => {
  let upstream: RecordingUpstream;
  let gateway: ForwardHarness;

  before(async () => {
    upstream = await RecordingUpstream.start();
    gateway = await ForwardHarness.start({
      route: makeRoute({ origin: upstream.origin, timeoutMs: 30_000 }),
    });
    // Warm the path (pool, parser, JIT) so the baseline includes them.
    await send(gateway.url, { method: 'POST', path: '/warm', body: 'x'.repeat(256 * 1024) });
  });
  after(async () => {
    await gateway.close();
    await upstream.close();
  });

  it('streams a 100 MB upload to a slow upstream with bounded memory', async () => {
    upstream.throttleReads({ everyBytes: 4 * 1024 * 1024, pauseMs: 10 });
    upstream.reply(() => ({ body: 'stored' }));
    const index = upstream.requests.length;
    const stop = sampleRss();
    const status = await new Promise<number>((resolve, reject) => {
      const req = request(
        `${gateway.url}/upload`,
        { method: 'PUT', agent: false, headers: { 'content-length': String(TOTAL) } },
        (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        },
      );
      req.on('error', reject);
      // A generator client: one reused 64 KiB chunk, written only when the socket drains.
      const chunk = Buffer.alloc(64 * 1024, 0x62);
      let sent = 0;
      const pump = (): void => {
        while (sent < TOTAL) {
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
    const growth = stop();
    upstream.throttleReads(undefined);
    assert.equal(status, 200);
    const seen = await upstream.nextRequest(index);
    assert.equal(await seen.body, 'complete');
    assert.equal(seen.bodyBytes, TOTAL);
    assert.ok(growth < BOUND, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
    const outcome = await gateway.outcome(gateway.outcomes.length - 1);
    assert.ok('result' in outcome);
    assert.equal(outcome.result.bytesSent, TOTAL);
  });

  it('streams a 100 MB download to a slow client with bounded memory', async () => {
    upstream.reply(() => ({ streamBytes: TOTAL }));
    const stop = sampleRss();
    const { status, received } = await new Promise<{ status: number; received: number }>(
      (resolve, reject) => {
        const req = request(`${gateway.url}/download`, { agent: false }, (res) => {
          let received = 0;
          let sincePause = 0;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            sincePause += chunk.length;
            // A slow reader: a proxy that ignores backpressure would pile the body up in memory.
            if (sincePause >= 2 * 1024 * 1024) {
              sincePause = 0;
              res.pause();
              setTimeout(() => res.resume(), 20);
            }
          });
          res.on('end', () => resolve({ status: res.statusCode ?? 0, received }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      },
    );
    const growth = stop();
    assert.equal(status, 200);
    assert.equal(received, TOTAL);
    assert.ok(growth < BOUND, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
    const outcome = await gateway.outcome(gateway.outcomes.length - 1);
    assert.ok('result' in outcome);
    assert.equal(outcome.result.bytesReceived, TOTAL);
  });
});
