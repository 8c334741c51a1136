/**
 * Bearer token extraction (RFC 6750 §2). Only the Authorization request header field is accepted:
 * form-encoded body parameters (§2.2) would need the body, and URI query parameters (§2.3) leak
 * into logs and caches, so a query `access_token` is refused rather than ignored.
 */
import { GatewayError } from '../errors.ts';
import type { TraceSink } from '../policy/trace.ts';

export interface BearerInput {
  /** `req.headersDistinct.authorization`: Node's `req.headers` silently keeps one of two. */
  readonly authorization: readonly string[] | undefined;
  /** The raw search part of the URL including `?`, or ''. */
  readonly query: string;
}

// RFC 9110 §11.1: auth-scheme = token; credentials follow after 1*SP.
const CREDENTIALS = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?: +(.*))?$/s;
// RFC 6750 §2.1 allows any b64token; a JWT (RFC 7515 §7.1 compact JWS) is the subset of three
// base64url parts joined by dots, so that is what is checked. The signature may be empty so that an
// `alg: none` token is reported as an algorithm problem, not as a malformed token.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

function queryHasAccessToken(query: string): boolean {
  // Cheap pre-check: only parse when the name (possibly percent-encoded) could be there.
  if (query.length < 2 || (!query.includes('access') && !query.includes('%'))) return false;
  return new URLSearchParams(query).has('access_token');
}

/**
 * Returns the bearer token of a request or throws a GatewayError:
 * `invalid_request` (query token, two Authorization headers), `token_missing` (no header, or a
 * scheme other than Bearer: RFC 6750 §3.1 says such a request "lacks any authentication
 * information", so the challenge carries no `error`), `token_too_large`, `token_malformed`.
 *
 * @param maxTokenBytes - Largest accepted token in bytes (GATEWAY_MAX_TOKEN_BYTES, default 8192).
 */
export function extractBearerToken(input: BearerInput, maxTokenBytes: number, trace?: TraceSink): string {
  const token = readBearerToken(input, maxTokenBytes, trace);
  checkTokenShape(token, trace);
  return token;
}

/** The `Bearer` scheme in the usual spelling, followed by one space. */
const BEARER_PREFIX = 'Bearer ';

/** The credentials after an auth scheme, or undefined when `value` is not `scheme 1*SP credentials`. */
function bearerCredentials(value: string): string | undefined {
  // The usual `Bearer <token>` without the regular expression: it would copy the whole token
  // through a capture group on every request.
  if (value.startsWith(BEARER_PREFIX) && value.charCodeAt(BEARER_PREFIX.length) !== 0x20) {
    return value.slice(BEARER_PREFIX.length);
  }
  const match = CREDENTIALS.exec(value);
  if (match === null || match[1]?.toLowerCase() !== 'bearer') return undefined;
  return match[2] ?? '';
}

/**
 * `extractBearerToken` without the compact-JWS shape check: for the verified-token cache, whose
 * hit proves the token passed that check before (the same token, by its SHA-256). A miss must
 * call `checkTokenShape` before the token is verified or looked up among refusals.
 */
export function readBearerToken(input: BearerInput, maxTokenBytes: number, trace?: TraceSink): string {
  if (queryHasAccessToken(input.query)) {
    trace?.step({ stage: 'token', check: 'extract', ok: false, detail: 'access_token in the query string' });
    throw new GatewayError(
      'invalid_request',
      'Send the token in the Authorization header, not the query string',
    );
  }
  const headers = input.authorization;
  if (headers === undefined || headers.length === 0) {
    trace?.step({ stage: 'token', check: 'extract', ok: false, detail: 'no Authorization header' });
    throw new GatewayError(
      'token_missing',
      'This route requires a bearer token (Authorization: Bearer <token>)',
    );
  }
  if (headers.length > 1) {
    trace?.step({
      stage: 'token',
      check: 'extract',
      ok: false,
      detail: `${headers.length} Authorization headers`,
    });
    throw new GatewayError('invalid_request', 'Send exactly one Authorization header');
  }
  const token = bearerCredentials(headers[0] ?? '');
  if (token === undefined) {
    trace?.step({
      stage: 'token',
      check: 'extract',
      ok: false,
      detail: 'Authorization scheme is not Bearer',
    });
    throw new GatewayError('token_missing', 'Only the Bearer authorization scheme is accepted');
  }
  // Tokens are ASCII once they pass COMPACT_JWS, so length in UTF-16 units bounds the byte size;
  // checked first so neither the shape's regular expression nor the cache's hash runs over an
  // oversized value.
  if (token.length > maxTokenBytes) {
    trace?.step({
      stage: 'token',
      check: 'extract',
      ok: false,
      detail: `token longer than ${maxTokenBytes} bytes`,
    });
    throw new GatewayError('token_too_large', `The token exceeds ${maxTokenBytes} bytes`);
  }
  return token;
}

/** Throws `token_malformed` unless `token` is a compact JWS (three base64url parts). */
export function checkTokenShape(token: string, trace?: TraceSink): void {
  if (!COMPACT_JWS.test(token)) {
    trace?.step({
      stage: 'token',
      check: 'extract',
      ok: false,
      detail: 'not a compact JWS (three base64url parts)',
    });
    throw new GatewayError('token_malformed', 'The bearer token is not a compact JWS');
  }
  trace?.step({ stage: 'token', check: 'extract', ok: true, detail: `bearer token, ${token.length} bytes` });
}
