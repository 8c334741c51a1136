/**
 * The bench fixture, one process on the load generator's core: a Keycloak-shaped issuer
 * (discovery + JWKS only; tokens are minted by the driver) and the upstream connector. Both are
 * bare `node:http` with bodies built once, so neither is the bottleneck.
 *
 * Run as a child: `node test/bench/fixture.ts` with BENCH_JWKS (JSON) and BENCH_CREDENTIAL in the
 * environment; prints one line `{"oidcPort":…,"upstreamPort":…}` when both listen.
 *
 * Upstream paths: `…/download?bytes=N` streams N bytes; `…/upload` (PUT/POST) counts the body and
 * answers `{"bytes":N}`; anything else answers a ~200-byte JSON like a small connector call.
 * `upstreamServer` is exported for tests that need the same upstream in-process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export const REALM_PATH = '/realms/bench';
export const CREDENTIAL_HEADER = 'x-functions-key';

const CHUNK = Buffer.alloc(64 * 1024, 'x');

function listen(server: Server): Promise<number> {
  server.keepAliveTimeout = 65_000;
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

function issuerServer(jwks: string): { server: Server; setIssuer: (issuer: string) => void } {
  let discovery = '';
  const server = createServer((req, res) => {
    req.resume();
    const path = (req.url ?? '/').split('?', 1)[0];
    let body: string | undefined;
    if (path === `${REALM_PATH}/.well-known/openid-configuration`) body = discovery;
    else if (path === `${REALM_PATH}/protocol/openid-connect/certs`) body = jwks;
    if (body === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
  const setIssuer = (issuer: string): void => {
    discovery = JSON.stringify({
      issuer,
      jwks_uri: `${issuer}/protocol/openid-connect/certs`,
      token_endpoint: `${issuer}/protocol/openid-connect/token`,
      id_token_signing_alg_values_supported: ['RS256'],
    });
  };
  return { server, setIssuer };
}

function download(res: ServerResponse, total: number): void {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': total });
  let left = total;
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
}

function upload(req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0;
  req.on('data', (chunk: Buffer) => (bytes += chunk.length));
  req.on('end', () => {
    const body = JSON.stringify({ bytes });
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

export function upstreamServer(credential: string): Server {
  const pad = 'x'.repeat(40);
  return createServer((req, res) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    if (path.endsWith('/upload')) {
      upload(req, res);
      return;
    }
    req.resume();
    if (path.endsWith('/download')) {
      download(res, Number(new URLSearchParams(url.slice(path.length)).get('bytes') ?? 0));
      return;
    }
    const key = req.headers[CREDENTIAL_HEADER];
    const status = key === undefined ? 'absent' : key === credential ? 'match' : 'mismatch';
    const authorization = req.headers.authorization === undefined ? 'absent' : 'present';
    const body = `{"ok":true,"method":"${req.method}","credential":"${status}","authorization":"${authorization}","pad":"${pad}"}`;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
}

async function main(): Promise<void> {
  const jwks = process.env['BENCH_JWKS'];
  const credential = process.env['BENCH_CREDENTIAL'];
  if (jwks === undefined || credential === undefined)
    throw new Error('BENCH_JWKS and BENCH_CREDENTIAL are required');
  const idp = issuerServer(jwks);
  const upstream = upstreamServer(credential);
  const oidcPort = await listen(idp.server);
  idp.setIssuer(`http://127.0.0.1:${oidcPort}${REALM_PATH}`);
  const upstreamPort = await listen(upstream);
  process.stdout.write(`${JSON.stringify({ oidcPort, upstreamPort })}\n`);
  // The driver closes stdin when it is done (or dies): exit then, never linger.
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
}

if (import.meta.main) await main();
