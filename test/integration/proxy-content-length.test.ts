/**
 * Responses with a declared Content-Length: the forwarder ends the caller's response with the
 * chunk that completes the declared length (one corked write), yet relays every earlier part as
 * it arrives. A forwarder that held parts back until the end would deadlock the first test: the
 * upstream sends the rest only after the caller has seen the first part.
 */
import assert from 'node:assert/strict';
import { Agent, createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ForwardHarness, makeRoute } from '../fixtures/forward-harness.ts';

function listen(server: Server): Promise<string> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
    ),
  );
}

/** GET (or HEAD) through the gateway; `onFirst` runs when the first body bytes arrive. */
function get(
  url: string,
  options: { agent?: Agent; method?: string; onFirst?: () => void } = {},
): Promise<{ res: IncomingMessage; body: string }> {
  const onFirst = options.onFirst ?? (() => undefined);
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: options.agent ?? false, method: options.method ?? 'GET' }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (chunk: string) => {
        if (body === '') onFirst();
        body += chunk;
      });
      res.on('end', () => resolve({ res, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('responses with Content-Length', () => {
  let upstream: Server;
  let gateway: ForwardHarness;
  /** Resolves the upstream's wait for the caller to see the first part. */
  let firstSeen: () => void = () => undefined;

  before(async () => {
    upstream = createServer((req, res) => {
      req.resume();
      if (req.url === '/parts') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '10' });
        res.write('first');
        // The rest only once the caller got the first part through the gateway.
        new Promise<void>((resolve) => (firstSeen = resolve)).then(
          () => res.end('-last'),
          () => undefined,
        );
        return;
      }
      if (req.url === '/empty') {
        res.writeHead(200, { 'content-length': '0' });
        res.end();
        return;
      }
      res.writeHead(200, { 'content-length': '5' });
      res.end(req.method === 'HEAD' ? undefined : 'whole');
    });
    const origin = await listen(upstream);
    gateway = await ForwardHarness.start({ route: makeRoute({ origin, timeoutMs: 5000 }) });
  });
  after(async () => {
    await gateway.close();
    upstream.close();
  });

  it('relays the parts as they come and ends with the one that completes the length', async () => {
    const { res, body } = await get(`${gateway.url}/parts`, { onFirst: () => firstSeen() });
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['content-length'], '10');
    assert.equal(body, 'first-last');
    const outcome = gateway.outcomes.at(-1);
    assert.ok(outcome !== undefined && 'result' in outcome);
    assert.equal(outcome.result.bytesReceived, 10);
    // Ending the response early must not look like the caller leaving.
    assert.equal(outcome.result.clientAborted, undefined);
    assert.equal(outcome.result.status, 200);
  });

  it('relays a single-chunk body, an empty one and a HEAD answer on one kept-alive connection', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const sockets = new Set<Socket>();
    try {
      const send = async (path: string, method = 'GET'): Promise<{ res: IncomingMessage; body: string }> => {
        const answer = await get(`${gateway.url}${path}`, { agent, method });
        sockets.add(answer.res.socket);
        return answer;
      };
      assert.equal((await send('/whole')).body, 'whole');
      const empty = await send('/empty');
      assert.equal(empty.res.statusCode, 200);
      assert.equal(empty.body, '');
      const head = await send('/whole', 'HEAD');
      assert.equal(head.res.statusCode, 200);
      assert.equal(head.res.headers['content-length'], '5');
      assert.equal(head.body, '');
      assert.equal((await send('/whole')).body, 'whole');
      for (const outcome of gateway.outcomes.slice(-4)) {
        assert.ok('result' in outcome && outcome.result.clientAborted === undefined);
      }
      // Each answer was ended exactly once with its framing intact, so the caller's connection
      // carried all four.
      assert.equal(sockets.size, 1);
    } finally {
      agent.destroy();
    }
  });
});
