/**
 * The stack-floor relay (test/bench/stack-floor.ts) must stay a working relay, or the floor it
 * measures is a floor of errors: a request reaches the upstream with the key and without the
 * caller's Authorization, and the answer comes back whole, for a small and a large body.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';

const SCRIPT = fileURLToPath(new URL('./stack-floor.ts', import.meta.url));

describe('stack-floor relay', () => {
  it('relays to the upstream with the key, without Authorization, and streams the answer back', async (t) => {
    const seen: IncomingHttpHeaders[] = [];
    const big = Buffer.alloc(3 * 1024 * 1024, 'z');
    const upstream = createServer((req, res) => {
      seen.push(req.headers);
      let bytes = 0;
      req.on('data', (chunk: Buffer) => (bytes += chunk.length));
      req.on('end', () => {
        if (req.url === '/big') res.end(big);
        else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes }));
      });
    });
    upstream.listen(0, '127.0.0.1');
    await once(upstream, 'listening');
    t.after(() => upstream.close());
    const upstreamPort = (upstream.address() as AddressInfo).port;

    const child = spawn(process.execPath, [SCRIPT], {
      env: {
        ...process.env,
        HOST: '127.0.0.1',
        PORT: '0',
        UPSTREAM_URL: `http://127.0.0.1:${upstreamPort}`,
        UPSTREAM_KEY_HEADER: 'X-Functions-Key',
        FUNCTIONS_KEY: 'floor-key',
      },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    t.after(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.setEncoding('utf8');
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.on('data', (text: string) => {
        out += text;
        const match = /listening 127\.0\.0\.1:(\d+)/.exec(out);
        if (match?.[1] !== undefined) resolve(Number(match[1]));
      });
      child.once('exit', (code) => reject(new Error(`stack-floor exited with ${code}: ${out}`)));
    });

    const small = await fetch(`http://127.0.0.1:${port}/x`, {
      method: 'POST',
      headers: { authorization: 'Bearer caller-token', 'x-functions-key': 'forged' },
      body: 'hello',
    });
    assert.equal(small.status, 200);
    assert.deepEqual(await small.json(), { bytes: 5 });
    assert.equal(seen[0]?.['x-functions-key'], 'floor-key');
    assert.equal(seen[0]?.authorization, undefined);

    const large = await fetch(`http://127.0.0.1:${port}/big`);
    assert.equal(large.status, 200);
    assert.ok(Buffer.from(await large.arrayBuffer()).equals(big));
  });
});
