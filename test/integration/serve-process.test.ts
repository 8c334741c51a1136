/**
 * The gateway as operators run it: `connector-gateway serve` in its own process. Streams 100 MB
 * each way while sampling the gateway's resident memory from /proc, checks that a client abort
 * reaches the upstream, that SIGTERM drains an in-flight request and exits 0, and that nothing
 * secret reaches its stdout log.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import type { LocalIdp } from '../../src/dev/local-idp.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';
import {
  adlsPolicy,
  FUNCTIONS_KEY,
  policyDir,
  SPARK,
  spawnGateway,
  startIdp,
  waitFor,
  type ChildGateway,
} from '../fixtures/gateway-harness.ts';
import { call } from '../fixtures/http-client.ts';

const MB = 1024 * 1024;
const TOTAL = 100 * MB;
/**
 * Allowed growth of the gateway's RSS while 100 MB pass through. Streaming is not free of garbage:
 * every socket read is a fresh Buffer, and V8 collects that external memory only after roughly
 * 64 MB of it has accumulated, so a streaming gateway peaks at 25–70 MB of growth here (more when
 * the machine is busy). Buffering the body would need at least its 100 MB on top of that.
 */
const RSS_BUDGET = 96 * MB;

function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  return Number(kb) * 1024;
}

/** Samples a process's RSS every 25 ms until stopped; returns the peak. */
function sampleRss(pid: number): { stop(): number } {
  let peak = rssOf(pid);
  const timer = setInterval(() => {
    peak = Math.max(peak, rssOf(pid));
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      return Math.max(peak, rssOf(pid));
    },
  };
}

/** Uploads `total` bytes from one reused chunk, honouring backpressure. */
function upload(
  url: string,
  path: string,
  token: string,
  total: number,
  abortAfter?: number,
): Promise<number> {
  const chunk = Buffer.alloc(64 * 1024, 0x62);
  const target = new URL(path, url);
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream' },
        agent: false,
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', (err) => (abortAfter === undefined ? reject(err) : resolve(-1)));
    let sent = 0;
    const pump = (): void => {
      while (sent < total) {
        if (abortAfter !== undefined && sent >= abortAfter) {
          req.destroy();
          resolve(-1);
          return;
        }
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
}

describe('serving as a process', () => {
  let idp: LocalIdp;
  let upstream: RecordingUpstream;
  let gw: ChildGateway;
  let token: string;

  before(async () => {
    idp = await startIdp();
    upstream = await RecordingUpstream.start();
    const dir = await policyDir({ 'adls.yaml': adlsPolicy(idp.issuer, upstream.origin) });
    gw = await spawnGateway(dir, { GATEWAY_SHUTDOWN_GRACE_SECONDS: '10', GATEWAY_LOG_LEVEL: 'debug' });
    token = await idp.getToken(SPARK.clientId, SPARK.clientSecret, 'spark');
    await waitFor(() => gw.stdout.some((l) => l.includes('issuer keys loaded')), 'issuer keys');
  });

  after(async () => {
    if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    await upstream.close();
    await idp.close();
  });

  it('prints the effective settings at start, without secrets', () => {
    const line = gw.stdout.find((l) => l.includes('"msg":"effective settings"'));
    assert.ok(line);
    assert.match(line, /"shutdownGraceSeconds":10/);
    assert.match(line, /"maxBodyBytes":1073741824/);
  });

  it('streams a 100 MB upload to the upstream with bounded gateway memory', async (t) => {
    upstream.reply(() => ({ body: 'stored' }));
    const pid = gw.child.pid ?? 0;
    await call(gw.url, '/connectors/adls/warm', { headers: { authorization: `Bearer ${token}` } });
    const base = rssOf(pid);
    const sampler = sampleRss(pid);
    const status = await upload(gw.url, '/connectors/adls/big.bin', token, TOTAL);
    const peak = sampler.stop();
    assert.equal(status, 200);
    assert.equal(upstream.requests.at(-1)?.bodyBytes, TOTAL);
    t.diagnostic(`gateway RSS ${Math.round(base / MB)} MB → peak ${Math.round(peak / MB)} MB`);
    assert.ok(peak - base < RSS_BUDGET, `RSS grew ${Math.round((peak - base) / MB)} MB (budget 96 MB)`);
  });

  it('streams a 100 MB download to the client with bounded gateway memory', async (t) => {
    upstream.reply(() => ({ streamBytes: TOTAL }));
    const pid = gw.child.pid ?? 0;
    const base = rssOf(pid);
    const sampler = sampleRss(pid);
    const received = await new Promise<number>((resolve, reject) => {
      const req = request(new URL('/connectors/adls/big.bin', gw.url), {
        headers: { authorization: `Bearer ${token}` },
        agent: false,
      });
      req.on('response', (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => (n += c.length));
        res.on('end', () => resolve(n));
      });
      req.on('error', reject);
      req.end();
    });
    const peak = sampler.stop();
    assert.equal(received, TOTAL);
    t.diagnostic(`gateway RSS ${Math.round(base / MB)} MB → peak ${Math.round(peak / MB)} MB`);
    assert.ok(peak - base < RSS_BUDGET, `RSS grew ${Math.round((peak - base) / MB)} MB (budget 96 MB)`);
  });

  it('passes a client abort during an upload on to the upstream', async () => {
    upstream.reply(() => ({ body: 'never' }));
    const next = upstream.nextRequest();
    await upload(gw.url, '/connectors/adls/partial.bin', token, TOTAL, 2 * MB);
    const seen = await next;
    assert.equal(await seen.body, 'aborted');
  });

  it('passes a client abort during a download on to the upstream', async () => {
    upstream.reply(() => ({ streamBytes: 1024 * MB }));
    const next = upstream.nextRequest();
    await new Promise<void>((resolve) => {
      const req = request(new URL('/connectors/adls/huge.bin', gw.url), {
        headers: { authorization: `Bearer ${token}` },
        agent: false,
      });
      req.on('response', (res) => {
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > 4 * MB) {
            req.destroy();
            resolve();
          }
        });
      });
      req.on('error', () => resolve());
      req.end();
    });
    const seen = await next;
    assert.equal(await seen.response, 'aborted');
  });

  it('drains an in-flight request on SIGTERM, refuses new connections and exits 0', async () => {
    upstream.reply(() => ({ delayMs: 1500, body: 'slow but complete' }));
    const next = upstream.nextRequest();
    const inflight = call(gw.url, '/connectors/adls/slow', { headers: { authorization: `Bearer ${token}` } });
    await next;
    gw.child.kill('SIGTERM');
    await waitFor(() => gw.stdout.some((l) => l.includes('"msg":"draining"')), 'draining');
    await assert.rejects(call(gw.url, '/healthz'), /ECONNREFUSED|ECONNRESET/);
    const res = await inflight;
    assert.equal(res.status, 200);
    assert.equal(res.text, 'slow but complete');
    assert.equal(await gw.exited, 0);
    assert.ok(gw.stdout.some((l) => l.includes('"finished":true')));
  });

  it('wrote one log line per request and never a token or the credential', () => {
    const requests = gw.stdout.filter((l) => l.includes('"msg":"request"'));
    assert.ok(requests.length >= 6, `only ${requests.length} request lines`);
    for (const line of requests) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      for (const field of ['reqId', 'route', 'decision', 'status', 'ms', 'clientIp']) {
        assert.ok(field in entry, `${field} missing in ${line}`);
      }
      // Forwarded requests say how long the upstream took, to the microsecond.
      if (entry['decision'] === 'forwarded') {
        assert.match(String(entry['upstreamMs']), /^\d+(\.\d{1,3})?$/, line);
      }
    }
    for (const line of [...gw.stdout, ...gw.stderr]) {
      assert.ok(!line.includes(FUNCTIONS_KEY), `credential in log: ${line}`);
      assert.ok(!line.includes(token), `token in log: ${line}`);
    }
  });
});
