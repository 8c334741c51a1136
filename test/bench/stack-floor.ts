/**
 * The floor of the gateway's stack: a relay on exactly the parts the gateway forwards with
 * (a `node:http` server, undici `Pool.dispatch` with a flat header array, the response relayed
 * chunk by chunk and ended in one write), with none of the gateway's own work: no token check,
 * no IP filter, no policy, no log line. What this reaches on a core is the most any gateway on
 * this stack can forward; the gateway's distance to it is the cost of its own work, and the
 * floor's distance to HAProxy is the stack's (docs/performance.md, "The stack's floor").
 *
 * Speaks bench-peers' contract (HOST, PORT, UPSTREAM_URL, UPSTREAM_KEY_HEADER, FUNCTIONS_KEY), so
 * it runs as that harness's `project` peer:
 *   PROJECT_NAME=floor PROJECT_CMD="node --no-async-context-frame --max-valid-polymorphic-map-count=16 \
 *     --no-memory-reducer --initial-old-space-size=96 \
 *     $PWD/test/bench/stack-floor.ts" ./run.sh
 * Not a proxy to deploy: it validates nothing and forwards anything.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { Pool, type Dispatcher } from 'undici';
import { HOP_BY_HOP_HEADERS } from '../../src/proxy/hop-by-hop.ts';

const env = process.env;
const host = env.HOST ?? '127.0.0.1';
const port = Number(env.PORT ?? 18110);
const upstream = env.UPSTREAM_URL ?? 'http://127.0.0.1:18081';
const keyHeader = (env.UPSTREAM_KEY_HEADER ?? 'x-functions-key').toLowerCase();
const key = env.FUNCTIONS_KEY ?? 'bench-static-functions-key-0123456789abcdef';

// What the gateway never forwards whatever the route (src/proxy/upstream-headers.ts): the
// hop-by-hop fields, Host, Expect, the caller's Authorization and credential header.
const DROP: ReadonlySet<string> = new Set([
  ...HOP_BY_HOP_HEADERS,
  'host',
  'authorization',
  'expect',
  keyHeader,
]);

const pool = new Pool(upstream, { connections: null, keepAliveTimeout: 4000, allowH2: false });

class Relay implements Dispatcher.DispatchHandler {
  readonly #res: ServerResponse;
  #declared = -1;
  #received = 0;
  #ended = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  onRequestStart(): void {}

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    status: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    if (status < 200) return;
    const out: string[] = [];
    for (const name in headers) {
      const value = headers[name];
      if (value === undefined || DROP.has(name)) continue;
      if (typeof value === 'string') out.push(name, value);
      else for (const item of value) out.push(name, item);
    }
    const length = headers['content-length'];
    if (typeof length === 'string') this.#declared = Number(length);
    this.#res.writeHead(status, out);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    this.#received += chunk.length;
    if (this.#received === this.#declared) {
      this.#ended = true;
      this.#res.end(chunk);
    } else if (!this.#res.write(chunk)) {
      controller.pause();
      this.#res.once('drain', () => controller.resume());
    }
  }

  onResponseEnd(): void {
    if (!this.#ended) this.#res.end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, _error: Error): void {
    if (this.#res.headersSent) this.#res.destroy();
    else this.#res.writeHead(502, ['content-length', '0']).end();
  }
}

function relay(req: IncomingMessage, res: ServerResponse): void {
  const raw = req.rawHeaders;
  const headers: string[] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    if (!DROP.has(name.toLowerCase())) headers.push(name, raw[i + 1] as string);
  }
  headers.push(keyHeader, key);
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? null : req;
  pool.dispatch({ path: req.url ?? '/', method, headers, body }, new Relay(res));
}

const server = createServer(relay);
server.keepAliveTimeout = 65_000;
server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`[stack-floor] pid=${process.pid} listening ${host}:${bound} -> ${upstream}`);
});
process.on('SIGTERM', () => {
  server.close();
  void pool.close().finally(() => process.exit(0));
});
