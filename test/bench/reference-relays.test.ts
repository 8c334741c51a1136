/**
 * The bench's reference relays (reference-relays.ts, pipe-relay.ts) must stay working relays, or
 * the streaming rows they add compare the gateway with a relay that moved nothing: every relay
 * that starts carries a whole upload and a whole download to the bench upstream and back, and
 * `runStreaming` measures each in every round against that round's direct transfer.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { upstreamServer } from './fixture.ts';
import { nginxConfig, startReferenceRelays } from './reference-relays.ts';
import { formatReport } from './report.ts';
import { runStreaming, StreamingError, type StreamRunContext } from './scenarios.ts';
import { transfer } from './streaming.ts';

const MB = 1024 * 1024;

/** 2 MiB transfers with the upstream as direct and (unless `more` says otherwise) as the gateway. */
function streamContext(
  upstreamUrl: string,
  lines: string[],
  more: Partial<StreamRunContext> = {},
): StreamRunContext {
  return {
    log: (line) => lines.push(line),
    baseUrl: { upstream: upstreamUrl, gateway: upstreamUrl },
    token: 'caller-token',
    gatewayPid: process.pid,
    bytes: 2 * MB,
    ...more,
  };
}

/** Listens on a free loopback port until the test ends; the server's base URL. */
async function listening(server: Server, t: TestContext): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => server.close());
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('reference relays', () => {
  it('nginx streams both ways, the second server with a 1 MiB body buffer', () => {
    const text = nginxConfig('/w', 'http://127.0.0.1:4000', [5001, 5002]);
    assert.match(text, /server 127\.0\.0\.1:4000;/);
    assert.equal(text.match(/proxy_request_buffering off;/g)?.length, 2);
    assert.equal(text.match(/proxy_buffering off;/g)?.length, 2);
    assert.match(text, /client_max_body_size 0;/);
    const [first, second] = text.split('listen 127.0.0.1:5002;');
    assert.match(first ?? '', /listen 127\.0\.0\.1:5001;/);
    assert.doesNotMatch(first ?? '', /client_body_buffer_size/);
    assert.match(second ?? '', /^\s*client_body_buffer_size 1m;/);
    // Everything nginx writes stays in the work directory.
    for (const path of text.matchAll(/(?:pid|error_log|_temp_path) (\S+?);?$/gm)) {
      assert.ok(path[1]?.startsWith('/w/'), path[0]);
    }
  });

  it('an nginx that will not start costs its two rows, with the reason, not the run', async (t) => {
    const upstreamUrl = await listening(upstreamServer('credential'), t);
    const work = await mkdtemp(join(tmpdir(), 'cg-references-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    // An nginx that answers -v and fails to start, first on the PATH.
    const bin = join(work, 'bin');
    await mkdir(bin);
    await writeFile(join(bin, 'nginx'), '#!/bin/sh\n[ "$1" = -v ] && exit 0\necho "emerg: no" >&2\nexit 1\n');
    await chmod(join(bin, 'nginx'), 0o755);
    const path = process.env['PATH'];
    process.env['PATH'] = `${bin}${delimiter}${path ?? ''}`;
    t.after(() => {
      process.env['PATH'] = path;
    });

    const started = await startReferenceRelays({
      upstream: upstreamUrl,
      credential: 'credential',
      workDir: join(work, 'relays'),
      cpu: undefined,
      nodeFlags: [],
    });
    t.after(() => started.stop());
    assert.deepEqual(
      started.relays.map((r) => r.id),
      ['stack-floor', 'node-pipe'],
    );
    assert.deepEqual(
      started.skipped.map((s) => s.id),
      ['nginx', 'nginx-1m'],
    );
    for (const skipped of started.skipped) {
      assert.match(skipped.reason, /^nginx did not start: nginx exited with 1 \(see .*nginx-error\.log\)$/);
    }
  });

  it('every relay that starts carries whole bodies both ways, measured in every round', async (t) => {
    const upstreamUrl = await listening(upstreamServer('credential'), t);
    const work = await mkdtemp(join(tmpdir(), 'cg-references-'));
    t.after(() => rm(work, { recursive: true, force: true }));

    const started = await startReferenceRelays({
      upstream: upstreamUrl,
      credential: 'credential',
      workDir: work,
      cpu: undefined,
      nodeFlags: [],
    });
    t.after(() => started.stop());
    const ids = [...started.relays.map((r) => r.id), ...started.skipped.map((s) => s.id)];
    assert.deepEqual(ids.sort(), ['nginx', 'nginx-1m', 'node-pipe', 'stack-floor']);
    // The Node relays always run; nginx runs where it is installed and says why where not.
    assert.deepEqual(started.relays.map((r) => r.id).slice(0, 2), ['stack-floor', 'node-pipe']);
    for (const skipped of started.skipped) assert.match(skipped.reason, /nginx/);

    for (const relay of started.relays) {
      for (const direction of ['upload', 'download'] as const) {
        const result = await transfer({
          url: `${relay.url}/api/v1/${direction}`,
          direction,
          bytes: 3 * MB + 17,
          token: 'caller-token',
        });
        assert.equal(result.status, 200, `${relay.id} ${direction}`);
      }
    }

    const rounds = 2;
    const lines: string[] = [];
    const measured = await runStreaming(
      // The upstream stands in for the gateway here: what is tested is the rounds' bookkeeping.
      streamContext(upstreamUrl, lines, { references: started.relays }),
      rounds,
    );
    assert.deepEqual(
      measured.map((m) => m.direction),
      ['upload', 'download'],
    );
    // Direct opens every round; the gateway and the relays take turns at going right after it.
    const order = (line: string): string[] =>
      [...line.matchAll(/([\w-]+) \d+ MB\/s/g)].map((m) => m[1] ?? '');
    const relayIds = started.relays.map((r) => r.id);
    assert.deepEqual(lines.map(order), [
      ['direct', 'gateway', ...relayIds],
      ['direct', ...relayIds, 'gateway'],
      ['direct', 'gateway', ...relayIds],
      ['direct', ...relayIds, 'gateway'],
    ]);
    for (const m of measured) {
      assert.deepEqual(
        m.references.map((r) => r.id),
        started.relays.map((r) => r.id),
      );
      for (const r of m.references) {
        assert.equal(r.roundRatios.length, rounds);
        assert.ok(
          r.roundRatios.every((x) => Number.isFinite(x) && x > 0),
          `${r.id}: ${r.roundRatios.join()}`,
        );
        assert.equal(r.median.bytes, 2 * MB);
      }
    }
  });

  /** A server that answers uploads whole and resets every download after the first two mid-body. */
  function resettingServer(): Server {
    let downloads = 0;
    return createServer((req, res) => {
      req.resume();
      if (req.method !== 'GET') {
        req.on('end', () => res.end(JSON.stringify({ bytes: Number(req.headers['content-length']) })));
        return;
      }
      downloads += 1;
      res.writeHead(200, { 'content-length': 2 * MB });
      if (downloads <= 2) {
        res.end(Buffer.alloc(2 * MB));
        return;
      }
      res.write(Buffer.alloc(MB), () => res.socket?.resetAndDestroy());
    });
  }
  const RESET = /^download round 1, (gateway|stack-floor): (aborted \(ECONNRESET\)|read ECONNRESET)$/;

  it('a reference relay cut off mid-body is left out of that direction, named, and the run goes on', async (t) => {
    const upstreamUrl = await listening(upstreamServer('credential'), t);
    // The two warm-up downloads pass; the third, in the first measured round, is reset.
    const brokenUrl = await listening(resettingServer(), t);
    const lines: string[] = [];
    const measured = await runStreaming(
      streamContext(upstreamUrl, lines, {
        references: [{ id: 'stack-floor', title: 'a relay that resets', url: brokenUrl }],
      }),
      2,
    );
    const [upload, download] = measured;
    assert.deepEqual(
      upload?.references.map((r) => r.id),
      ['stack-floor'],
    );
    assert.deepEqual(upload?.referencesFailed, []);
    assert.deepEqual(download?.references, []);
    assert.equal(download?.referencesFailed?.[0]?.id, 'stack-floor');
    assert.match(download?.referencesFailed?.[0]?.reason ?? '', RESET);
    // Both download rounds still measured direct and the gateway; the relay was not tried again.
    assert.equal(download?.roundRatios.length, 2);
    const downloadRounds = lines.filter((l) => l.startsWith('  download round'));
    assert.equal(downloadRounds.length, 2);
    assert.ok(
      downloadRounds.every((l) => !l.includes('stack-floor')),
      downloadRounds.join('\n'),
    );
    assert.ok(lines.some((l) => /reference relay stack-floor left out of the download/.test(l)));
    const text = formatReport({
      machine: {
        date: '2026-11-23T00:00:00.000Z',
        cpuModel: 'Test CPU',
        cores: 2,
        node: '24',
        loadTool: 'wrk',
        pinning: 'none',
        connections: 1,
        durationSeconds: 1,
        warmupSeconds: 1,
      },
      load: [],
      skipped: [],
      streaming: measured,
      referencesSkipped: [],
      joseVerifiesPerSecond: undefined,
      targets: [],
    });
    assert.match(
      text,
      /reference relay stack-floor left out of the download \(a transfer failed\): download round 1/,
    );
  });

  it('a reference relay that answers with an error status is left out of both directions, the status named', async (t) => {
    const upstreamUrl = await listening(upstreamServer('credential'), t);
    const refusing = await listening(
      createServer((req, res) => {
        // After the whole request, so an upload sees the status and not a closed socket.
        req.resume().on('end', () => res.writeHead(503).end());
      }),
      t,
    );
    const measured = await runStreaming(
      streamContext(upstreamUrl, [], { references: [{ id: 'node-pipe', title: 'refuses', url: refusing }] }),
      1,
    );
    assert.deepEqual(
      measured.map((m) => [m.references.length, m.referencesFailed?.map((f) => f.reason)]),
      [
        [0, ['upload warm-up 1, node-pipe: status 503']],
        [0, ['download warm-up 1, node-pipe: status 503']],
      ],
    );
  });

  it('a gateway transfer cut off mid-body fails the streaming with the direction, round and path named', async (t) => {
    const upstreamUrl = await listening(upstreamServer('credential'), t);
    const brokenUrl = await listening(resettingServer(), t);
    const lines: string[] = [];
    await assert.rejects(
      runStreaming(
        streamContext(upstreamUrl, lines, { baseUrl: { upstream: upstreamUrl, gateway: brokenUrl } }),
        2,
      ),
      (error: unknown) => {
        assert.ok(error instanceof StreamingError, String(error));
        assert.match(error.message, RESET);
        assert.match(error.message, /, gateway: /);
        return true;
      },
    );
    // The uploads' rounds ran and were logged before the download failed.
    assert.equal(lines.filter((l) => l.includes('upload round')).length, 2);
  });
});
