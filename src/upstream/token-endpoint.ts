/**
 * Talking to an OAuth 2.0 token endpoint: discovery of the endpoint from an issuer (OpenID
 * Connect Discovery 1.0 §4) and one client credentials grant (RFC 6749 §4.4) with the client
 * authenticated by HTTP Basic or form fields (RFC 6749 §2.3.1) or a signed assertion (RFC 7523).
 * Errors are TokenEndpointErrors with a `kind` the provider acts on; their messages carry the
 * endpoint's error code and description, never the client secret or a token.
 */
import type { ClientAuthMethod } from '../policy/route.ts';
import { scrubSecrets } from '../observability/logger.ts';
import { parseRetryAfter } from './backoff.ts';
import { CLIENT_ASSERTION_TYPE, importPrivateKey, signClientAssertion } from './client-assertion.ts';
import { secretProblem } from './secret-source.ts';

export type TokenErrorKind =
  | 'secret_unavailable'
  | 'invalid_client'
  | 'oauth_error'
  | 'http_error'
  | 'network'
  | 'timeout'
  | 'invalid_response';

export class TokenEndpointError extends Error {
  readonly kind: TokenErrorKind;
  readonly status: number | undefined;
  /** The RFC 6749 §5.2 `error` code, when the endpoint sent one. */
  readonly oauthError: string | undefined;
  /** Milliseconds from Retry-After (429, 503). */
  readonly retryAfterMs: number | undefined;

  constructor(
    kind: TokenErrorKind,
    message: string,
    details: {
      status?: number;
      oauthError?: string;
      retryAfterMs?: number | undefined;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'TokenEndpointError';
    this.kind = kind;
    this.status = details.status;
    this.oauthError = details.oauthError;
    this.retryAfterMs = details.retryAfterMs;
  }
}

export interface ClientCredentialsGrant {
  readonly tokenUrl: string;
  readonly clientId: string;
  readonly authMethod: ClientAuthMethod;
  /** The client secret, or the private key material for private_key_jwt. */
  readonly credential: string;
  readonly keyId: string | undefined;
  readonly signingAlgorithm: string;
  readonly scope: string | undefined;
  readonly audience: string | undefined;
  readonly resource: string | undefined;
  /** Milliseconds the request may take. */
  readonly timeoutMs: number;
}

export interface IssuedToken {
  readonly accessToken: string;
  /** RFC 6749 §5.1 `expires_in`, seconds; undefined when the endpoint sent none. */
  readonly expiresInSeconds: number | undefined;
}

/** Requests an access token with the client credentials grant. Rejects with TokenEndpointError. */
export async function requestClientCredentialsToken(grant: ClientCredentialsGrant): Promise<IssuedToken> {
  const body = new URLSearchParams({ grant_type: 'client_credentials' });
  const headers: Record<string, string> = {
    'content-type': 'application/x-www-form-urlencoded',
    accept: 'application/json',
  };
  if (grant.authMethod === 'client_secret_basic') {
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before they are joined and base64-encoded.
    const pair = `${formEncode(grant.clientId)}:${formEncode(grant.credential)}`;
    headers['authorization'] = `Basic ${Buffer.from(pair).toString('base64')}`;
  } else if (grant.authMethod === 'client_secret_post') {
    body.set('client_id', grant.clientId);
    body.set('client_secret', grant.credential);
  } else {
    const key = await importPrivateKey(grant.credential, grant.signingAlgorithm).catch((error: unknown) => {
      throw new TokenEndpointError(
        'invalid_client',
        'the private key cannot be imported for the signing algorithm',
        {
          cause: new Error(error instanceof Error ? error.name : 'import failed'),
        },
      );
    });
    body.set('client_id', grant.clientId);
    body.set('client_assertion_type', CLIENT_ASSERTION_TYPE);
    body.set(
      'client_assertion',
      await signClientAssertion(key, {
        clientId: grant.clientId,
        audience: grant.tokenUrl,
        alg: grant.signingAlgorithm,
        keyId: grant.keyId,
      }),
    );
  }
  if (grant.scope !== undefined) body.set('scope', grant.scope);
  if (grant.audience !== undefined) body.set('audience', grant.audience);
  if (grant.resource !== undefined) body.set('resource', grant.resource);

  const response = await send(grant.tokenUrl, { method: 'POST', headers, body }, grant.timeoutMs);
  const json = await readJson(response);
  if (response.status !== 200) throw endpointError(response, json);
  return parseTokenResponse(json);
}

/**
 * The token endpoint named by `{issuer}/.well-known/openid-configuration`. The document's
 * `issuer` must equal the configured one (OpenID Connect Discovery 1.0 §4.3).
 */
export async function discoverTokenEndpoint(issuer: string, timeoutMs: number): Promise<string> {
  const url = `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
  const response = await send(url, { method: 'GET', headers: { accept: 'application/json' } }, timeoutMs);
  const json = await readJson(response);
  if (response.status !== 200) {
    throw new TokenEndpointError('http_error', `discovery at ${url} answered ${response.status}`, {
      status: response.status,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after')),
    });
  }
  const doc = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  if (doc['issuer'] !== issuer) {
    throw new TokenEndpointError('invalid_response', `discovery at ${url} names another issuer`);
  }
  const endpoint = doc['token_endpoint'];
  if (typeof endpoint !== 'string' || !/^https?:\/\//i.test(endpoint)) {
    throw new TokenEndpointError('invalid_response', `discovery at ${url} has no http(s) token_endpoint`);
  }
  return endpoint;
}

/** application/x-www-form-urlencoded encoding of one value (spaces as +). */
function formEncode(value: string): string {
  return new URLSearchParams({ v: value }).toString().slice(2);
}

async function send(url: string, init: RequestInit, timeoutMs: number): Promise<Response> {
  try {
    // redirect: error — a token request carries the client's credentials; never re-send them elsewhere.
    return await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TimeoutError' || name === 'AbortError') {
      throw new TokenEndpointError('timeout', `${url} did not answer within ${timeoutMs} ms`);
    }
    const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const code = (cause as { code?: unknown } | null)?.code;
    const why =
      typeof code === 'string' ? code : cause instanceof Error ? cause.message.slice(0, 80) : 'network error';
    throw new TokenEndpointError('network', `${url} unreachable (${why})`);
  }
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text().catch(() => '');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** RFC 6749 §5.2 error response → TokenEndpointError (invalid_client is a configuration error). */
function endpointError(response: Response, json: unknown): TokenEndpointError {
  const body = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const oauthError = typeof body['error'] === 'string' ? body['error'] : undefined;
  const description =
    typeof body['error_description'] === 'string'
      ? `: ${scrubSecrets(body['error_description']).slice(0, 200)}`
      : '';
  const status = response.status;
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
  const message = `token endpoint answered ${status}${oauthError === undefined ? '' : ` ${oauthError}`}${description}`;
  // RFC 6749 §5.2: invalid_client (400 or 401) — unknown client, wrong secret, bad assertion.
  if (oauthError === 'invalid_client' || oauthError === 'unauthorized_client') {
    return new TokenEndpointError('invalid_client', message, { status, oauthError });
  }
  if (oauthError !== undefined && status < 500 && status !== 429) {
    return new TokenEndpointError('oauth_error', message, { status, oauthError });
  }
  return new TokenEndpointError('http_error', message, {
    status,
    ...(oauthError === undefined ? {} : { oauthError }),
    retryAfterMs,
  });
}

/** RFC 6749 §5.1: access_token and token_type are required; expires_in is recommended. */
function parseTokenResponse(json: unknown): IssuedToken {
  const body = (typeof json === 'object' && json !== null ? json : {}) as Record<string, unknown>;
  const token = body['access_token'];
  if (typeof token !== 'string' || secretProblem(token) !== undefined) {
    throw new TokenEndpointError('invalid_response', 'the token response has no usable access_token');
  }
  const type = body['token_type'];
  // RFC 6749 §7.1: only Bearer tokens (RFC 6750) can be sent as they are; type names are case-insensitive.
  if (typeof type === 'string' && type.toLowerCase() !== 'bearer') {
    throw new TokenEndpointError('invalid_response', `the token_type is ${type.slice(0, 20)}, not Bearer`);
  }
  // Entra ID v1 sends expires_in as a string.
  const raw = body['expires_in'];
  const seconds =
    typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw) ? Number(raw) : undefined;
  return { accessToken: token, expiresInSeconds: seconds !== undefined && seconds > 0 ? seconds : undefined };
}
