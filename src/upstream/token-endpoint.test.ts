import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import {
  discoverTokenEndpoint,
  requestClientCredentialsToken,
  TokenEndpointError,
  type ClientCredentialsGrant,
} from './token-endpoint.ts';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

/** A token endpoint on 127.0.0.1 whose answer each test sets. */
describe('token endpoint client (RFC 6749 §4.4, §5)', () => {
  let server: Server;
  let base: string;
  let handler: Handler = (_req, _body, res) => res.end();
  let hits = 0;

  before(async () => {
    server = createServer((req, res) => {
      hits++;
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => handler(req, body, res));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const grant = (fields: Partial<ClientCredentialsGrant> = {}): ClientCredentialsGrant => ({
    tokenUrl: `${base}/token`,
    clientId: 'gw client',
    authMethod: 'client_secret_basic',
    credential: 's3cret+/:=',
    keyId: undefined,
    signingAlgorithm: 'RS256',
    scope: 'a b',
    audience: 'api',
    resource: undefined,
    timeoutMs: 2000,
    ...fields,
  });

  const json = (status: number, body: unknown, headers: Record<string, string> = {}): Handler => {
    return (_req, _body, res) => {
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
    };
  };

  async function failure(promise: Promise<unknown>): Promise<TokenEndpointError> {
    try {
      await promise;
    } catch (error) {
      assert.ok(error instanceof TokenEndpointError);
      return error;
    }
    assert.fail('expected a TokenEndpointError');
  }

  it('sends the grant with form-urlencoded Basic credentials (§2.3.1) and reads expires_in, also as a string', async () => {
    let seen: { auth: string | undefined; body: URLSearchParams } | undefined;
    handler = (req, body, res) => {
      seen = { auth: req.headers.authorization, body: new URLSearchParams(body) };
      json(200, { access_token: 'at-1', token_type: 'bearer', expires_in: '3599' })(req, body, res);
    };
    assert.deepEqual(await requestClientCredentialsToken(grant()), {
      accessToken: 'at-1',
      expiresInSeconds: 3599,
    });
    const decoded = Buffer.from((seen?.auth ?? '').replace(/^Basic /, ''), 'base64').toString('utf8');
    assert.equal(decoded, 'gw+client:s3cret%2B%2F%3A%3D');
    assert.equal(seen?.body.get('grant_type'), 'client_credentials');
    assert.equal(seen?.body.get('scope'), 'a b');
    assert.equal(seen?.body.get('audience'), 'api');
    assert.equal(seen?.body.has('client_secret'), false);
  });

  it('client_secret_post puts the client in the form; no Authorization header', async () => {
    let seen: { auth: string | undefined; body: URLSearchParams } | undefined;
    handler = (req, body, res) => {
      seen = { auth: req.headers.authorization, body: new URLSearchParams(body) };
      json(200, { access_token: 'at-2', token_type: 'Bearer' })(req, body, res);
    };
    const token = await requestClientCredentialsToken(
      grant({ authMethod: 'client_secret_post', resource: 'https://r' }),
    );
    assert.deepEqual(token, { accessToken: 'at-2', expiresInSeconds: undefined });
    assert.equal(seen?.auth, undefined);
    assert.equal(seen?.body.get('client_id'), 'gw client');
    assert.equal(seen?.body.get('client_secret'), 's3cret+/:=');
    assert.equal(seen?.body.get('resource'), 'https://r');
  });

  it('refuses responses it cannot send as a Bearer header', async () => {
    handler = json(200, { access_token: 'at', token_type: 'DPoP', expires_in: 60 });
    assert.equal((await failure(requestClientCredentialsToken(grant()))).kind, 'invalid_response');
    handler = json(200, { token_type: 'Bearer' });
    assert.equal((await failure(requestClientCredentialsToken(grant()))).kind, 'invalid_response');
    handler = json(200, { access_token: 'two\nlines', token_type: 'Bearer' });
    assert.equal((await failure(requestClientCredentialsToken(grant()))).kind, 'invalid_response');
  });

  it('maps error responses (§5.2): invalid_client, other OAuth errors, throttling with Retry-After', async () => {
    handler = json(401, { error: 'invalid_client', error_description: 'client authentication failed' });
    const invalid = await failure(requestClientCredentialsToken(grant()));
    assert.equal(invalid.kind, 'invalid_client');
    assert.equal(invalid.status, 401);
    assert.ok(!invalid.message.includes('s3cret'), 'the secret is not in the message');
    handler = json(400, { error: 'invalid_scope' });
    assert.equal((await failure(requestClientCredentialsToken(grant()))).kind, 'oauth_error');
    handler = json(429, { error: 'slow_down' }, { 'retry-after': '3' });
    const throttled = await failure(requestClientCredentialsToken(grant()));
    assert.equal(throttled.kind, 'http_error');
    assert.equal(throttled.retryAfterMs, 3000);
  });

  it('does not follow redirects with the credentials, and reports timeouts and refused connections', async () => {
    const before = hits;
    handler = (_req, _body, res) => res.writeHead(307, { location: `${base}/elsewhere` }).end();
    assert.equal((await failure(requestClientCredentialsToken(grant()))).kind, 'network');
    assert.equal(hits - before, 1, 'the redirect was not followed');
    handler = () => undefined;
    assert.equal((await failure(requestClientCredentialsToken(grant({ timeoutMs: 150 })))).kind, 'timeout');
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const refused = await failure(
      requestClientCredentialsToken(grant({ tokenUrl: `http://127.0.0.1:${port}/token` })),
    );
    assert.equal(refused.kind, 'network');
    assert.match(refused.message, /ECONNREFUSED/);
  });

  it('discovers the token endpoint only from a document of the same issuer (OIDC Discovery §4.3)', async () => {
    handler = (req, body, res) => {
      assert.equal(req.url, '/realms/x/.well-known/openid-configuration');
      json(200, { issuer: `${base}/realms/x`, token_endpoint: `${base}/token` })(req, body, res);
    };
    assert.equal(await discoverTokenEndpoint(`${base}/realms/x`, 2000), `${base}/token`);
    handler = json(200, { issuer: 'https://evil.example', token_endpoint: `${base}/token` });
    assert.equal((await failure(discoverTokenEndpoint(`${base}/realms/x`, 2000))).kind, 'invalid_response');
    handler = json(200, { issuer: `${base}/realms/x` });
    assert.equal((await failure(discoverTokenEndpoint(`${base}/realms/x`, 2000))).kind, 'invalid_response');
  });
});
