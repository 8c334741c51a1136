/**
 * Node's own floor for a stream: a bare TCP relay that pipes every accepted connection to the
 * upstream and back, with no HTTP at all (no parser, no copy of the body into chunks of its own,
 * no undici). What it streams on a core is the most any relay that moves bytes through Node's
 * sockets can stream there; the stack floor (stack-floor.ts) adds `node:http` and undici to it,
 * and the gateway adds its own work to that. `npm run bench` streams through it beside the
 * gateway (reference-relays.ts). Not a proxy: it forwards whatever arrives, headers included.
 *
 * Environment: HOST, PORT (0 = any free port), UPSTREAM_URL (`http://host:port`). Prints
 * `[pipe-relay] pid=N listening HOST:PORT -> UPSTREAM_URL` once it listens.
 */
import { connect, createServer, type Socket } from 'node:net';

const env = process.env;
const host = env.HOST ?? '127.0.0.1';
const port = Number(env.PORT ?? 0);
const upstreamUrl = env.UPSTREAM_URL ?? 'http://127.0.0.1:18081';
const upstream = new URL(upstreamUrl);
const upstreamPort = Number(upstream.port === '' ? 80 : upstream.port);

function relay(caller: Socket): void {
  const peer = connect(upstreamPort, upstream.hostname);
  // Either side failing ends both at once: nothing is half-relayed. A clean end travels through
  // pipe(), which ends the other side after what is still queued for it. Destroying the caller
  // when the upstream closed (as this did until the fourteenth session) drops the last bytes
  // queued for it: downloads through this relay were cut off mid-body, ECONNRESET at the client.
  const abort = (): void => {
    caller.destroy();
    peer.destroy();
  };
  caller.on('error', abort);
  peer.on('error', abort);
  caller.pipe(peer);
  peer.pipe(caller);
}

const server = createServer(relay);
server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  console.log(`[pipe-relay] pid=${process.pid} listening ${host}:${bound} -> ${upstreamUrl}`);
});
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
