/**
 * A sample connector for the demo: answers every request with what it received, so a newcomer can
 * see that the gateway sent `x-functions-key` and no `Authorization`. It never echoes the key
 * itself, only whether it matched.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SampleConnector {
  readonly url: string;
  close(): Promise<void>;
}

export async function startSampleConnector(options: {
  port: number;
  functionsKey: string;
}): Promise<SampleConnector> {
  const server: Server = createServer((req, res) => {
    let bytes = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    req.on('end', () => {
      const key = req.headers['x-functions-key'];
      const body = JSON.stringify({
        connector: 'adls-demo',
        method: req.method,
        path: req.url,
        receivedFunctionsKey: key === undefined ? 'none' : key === options.functionsKey ? 'valid' : 'wrong',
        receivedAuthorization: req.headers.authorization !== undefined,
        subject: req.headers['x-auth-subject'] ?? null,
        client: req.headers['x-auth-client'] ?? null,
        requestId: req.headers['x-request-id'] ?? null,
        bodyBytes: bytes,
      });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`${body}\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
