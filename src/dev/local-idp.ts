/**
 * A local, Keycloak-shaped OpenID Provider for tests and the demo (dev only, never shipped): the
 * real `oidc-provider` on 127.0.0.1 with Keycloak's paths under `/realms/<realm>`, issuing JWT
 * access tokens by the client-credentials grant. It can also mint arbitrary tokens for negative
 * tests, rotate keys, go down and come back on the same port, and count what it served.
 */
import { createPrivateKey, randomUUID, type KeyObject } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, type JWK } from 'jose';
import { createProviders, REALM_ROUTES, type LocalIdpClient, type Listener } from './idp-provider.ts';
import { isRsaAlgorithm, signCompact } from './jws-sign.ts';

export type { LocalIdpClient } from './idp-provider.ts';

export interface LocalIdpOptions {
  /** Realm name: the issuer is `http://127.0.0.1:PORT/realms/<realm>`. */
  readonly realm: string;
  /** TCP port; 0 (default) picks a free one. */
  readonly port?: number;
  readonly clients: readonly LocalIdpClient[];
  /** The `aud` of every issued access token. */
  readonly audience: string;
  /** Every scope the IdP knows; each client gets those it asks for and may have. */
  readonly scopes: readonly string[];
  /** Access-token lifetime in seconds; default 300 (Keycloak's default). */
  readonly accessTokenTtlSeconds?: number;
}

export interface SignTokenOptions {
  /** Header `kid`; default the key's own kid. Set `null` to omit the kid. */
  readonly kid?: string | null;
  /** RSA algorithm; default RS256. */
  readonly alg?: string;
  /** Extra or overriding protected-header members (e.g. `jku`, `crit`, `typ`). */
  readonly header?: Readonly<Record<string, unknown>>;
  /** `current` (default): the key the IdP signs with; `unpublished`: a key never in the JWKS. */
  readonly key?: 'current' | 'unpublished';
}

export interface LocalIdpStats {
  /** Requests served at `/.well-known/openid-configuration`. */
  readonly discovery: number;
  /** Requests served at the JWKS (`certs`) endpoint. */
  readonly jwks: number;
  /** Requests served at the token endpoint. */
  readonly token: number;
}

export interface LocalIdp {
  readonly realm: string;
  readonly port: number;
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly tokenUrl: string;
  readonly jwksUri: string;
  /** The kid the IdP currently signs with. */
  readonly currentKid: string;
  /** The public JWK of the current signing key. */
  currentPublicJwk(): JWK;
  /** Client-credentials grant; `auth` picks client_secret_basic (default) or client_secret_post. */
  getToken(clientId: string, secret: string, scope?: string, auth?: 'basic' | 'post'): Promise<string>;
  /** Signs `claims` as given (a string is used as the raw payload); no defaults are added. */
  signToken(claims: Readonly<Record<string, unknown>> | string, options?: SignTokenOptions): string;
  /** Starts signing with a new key; the old key stays published unless `keepOld` is false. Returns the new kid. */
  rotateKeys(options?: { readonly keepOld?: boolean }): Promise<string>;
  /** Stops listening and drops open connections (the IdP is "down"); state is kept. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  stats(): LocalIdpStats;
  resetStats(): void;
  close(): Promise<void>;
}

interface IdpKey {
  readonly kid: string;
  readonly privateJwk: Record<string, unknown>;
  readonly publicJwk: JWK;
  readonly privateKey: KeyObject;
}

async function newKey(): Promise<IdpKey> {
  const { privateKey } = await generateKeyPair('RS256', { extractable: true, modulusLength: 2048 });
  const jwk = await exportJWK(privateKey);
  const kid = randomUUID();
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, ...pub } = jwk;
  return {
    kid,
    privateJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
    publicJwk: { ...pub, kid, alg: 'RS256', use: 'sig' },
    privateKey: createPrivateKey({ key: { ...jwk }, format: 'jwk' }),
  };
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Starts the IdP; resolves once it listens. */
export async function startLocalIdp(options: LocalIdpOptions): Promise<LocalIdp> {
  const prefix = `/realms/${encodeURIComponent(options.realm)}`;
  const paths = {
    discovery: `${prefix}/.well-known/openid-configuration`,
    jwks: `${prefix}${REALM_ROUTES.jwks}`,
    token: `${prefix}${REALM_ROUTES.token}`,
  };
  const counts = { discovery: 0, jwks: 0, token: 0 };
  let published: IdpKey[] = [await newKey()];
  let current = published[0] as IdpKey;
  const unpublished = await newKey();
  let providers: { basic: Listener; post: Listener } | undefined;

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = req.url ?? '/';
    const path = url.split('?', 1)[0] ?? '/';
    if (path === paths.discovery) counts.discovery += 1;
    else if (path === paths.jwks) counts.jwks += 1;
    else if (path === paths.token) counts.token += 1;
    if (providers === undefined || !path.startsWith(`${prefix}/`)) {
      res.writeHead(404).end();
      return;
    }
    // Mounting: oidc-provider derives its own URLs from originalUrl minus url (the mount path).
    Object.assign(req, { originalUrl: url, url: url.slice(prefix.length) });
    const listener =
      path === paths.token && req.headers.authorization === undefined ? providers.post : providers.basic;
    void listener(req, res);
  });
  const port = await listen(server, options.port ?? 0);
  const issuer = `http://127.0.0.1:${port}${prefix}`;
  const rebuild = (): void => {
    providers = createProviders({
      issuer,
      audience: options.audience,
      scopes: options.scopes,
      clients: options.clients,
      keys: published.map((key) => key.privateJwk),
      signingKid: current.kid,
      accessTokenTtlSeconds: options.accessTokenTtlSeconds ?? 300,
    });
  };
  rebuild();
  const stop = (): Promise<void> => {
    if (!server.listening) return Promise.resolve();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    return closed;
  };

  return {
    realm: options.realm,
    port,
    issuer,
    discoveryUrl: `http://127.0.0.1:${port}${paths.discovery}`,
    tokenUrl: `http://127.0.0.1:${port}${paths.token}`,
    jwksUri: `http://127.0.0.1:${port}${paths.jwks}`,
    get currentKid() {
      return current.kid;
    },
    currentPublicJwk: () => ({ ...current.publicJwk }),
    async getToken(clientId, secret, scope, auth = 'basic') {
      const body = new URLSearchParams({ grant_type: 'client_credentials' });
      if (scope !== undefined) body.set('scope', scope);
      const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
      if (auth === 'basic') {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
        const pair = `${encodeURIComponent(clientId)}:${encodeURIComponent(secret)}`;
        headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
      } else {
        body.set('client_id', clientId);
        body.set('client_secret', secret);
      }
      const response = await fetch(`http://127.0.0.1:${port}${paths.token}`, {
        method: 'POST',
        headers,
        body,
      });
      const json = (await response.json()) as { access_token?: unknown; error?: unknown };
      if (response.status !== 200 || typeof json.access_token !== 'string') {
        throw new Error(`token request failed: ${response.status} ${String(json.error)}`);
      }
      return json.access_token;
    },
    signToken(claims, signOptions = {}) {
      const key = signOptions.key === 'unpublished' ? unpublished : current;
      const alg = signOptions.alg ?? 'RS256';
      if (!isRsaAlgorithm(alg)) throw new TypeError(`signToken: alg must be RS* or PS*, got ${alg}`);
      const kid = signOptions.kid === undefined ? key.kid : signOptions.kid;
      const header = { alg, typ: 'JWT', ...(kid === null ? {} : { kid }), ...signOptions.header };
      return signCompact(header, claims, alg, key.privateKey);
    },
    async rotateKeys(rotateOptions = {}) {
      const next = await newKey();
      published = rotateOptions.keepOld === false ? [next] : [next, ...published];
      current = next;
      rebuild();
      return next.kid;
    },
    stop,
    async start() {
      if (!server.listening) await listen(server, port);
    },
    stats: () => ({ ...counts }),
    resetStats() {
      counts.discovery = 0;
      counts.jwks = 0;
      counts.token = 0;
    },
    async close() {
      providers = undefined;
      await stop();
    },
  };
}
