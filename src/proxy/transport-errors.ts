/**
 * Maps what undici and the socket layer throw into the gateway's closed error set, keeping the
 * original as `cause` for the log. The message is generic on purpose: it may be rendered to the
 * caller, and upstream host names are internal topology.
 */
import { GatewayError, isGatewayError } from '../errors.ts';

/** Connection could not be made or was lost before the response: 502 upstream_unreachable. */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EHOSTDOWN',
  'ENETDOWN',
  'EADDRNOTAVAIL',
  'ENOTFOUND', // DNS: no such host
  'EAI_AGAIN', // DNS: temporary failure
  'EAI_FAIL',
  'EAI_NONAME',
  'UND_ERR_SOCKET', // "other side closed" before the response completed
  'UND_ERR_CONNECT', // proxy tunnel / connector failure
  // TLS: the upstream cannot be reached over a trusted channel.
  'CERT_HAS_EXPIRED',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);

/** Took too long: 504 upstream_timeout. */
const TIMEOUT = new Set([
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'ETIMEDOUT',
]);

/** The upstream spoke, but not valid HTTP/1.1 (or broke its own framing): 502 upstream_error. */
const PROTOCOL = new Set([
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_INFO', // e.g. an unexpected 101 / upgrade
  'UND_ERR_NOT_SUPPORTED',
]);

/** The pool was closed or destroyed: the gateway is shutting down. */
const CLOSED = new Set(['UND_ERR_CLOSED', 'UND_ERR_DESTROYED']);

/**
 * The transport failure as a GatewayError (`cause` = the original error):
 * connect refused/reset/DNS/TLS → `upstream_unreachable` (502); connect, header or body timeout
 * → `upstream_timeout` (504); malformed HTTP (llhttp `HPE_*`), oversized headers, length
 * mismatch → `upstream_error` (502); closed pool → `shutting_down` (503). A GatewayError passes
 * through unchanged. Anything else (e.g. undici rejecting an argument we built) is our bug:
 * `internal_error` (500).
 */
export function toGatewayError(error: unknown): GatewayError {
  if (isGatewayError(error)) return error;
  // undici's llhttp errors do not always carry an `HPE_*` code; their name is stable.
  if (error instanceof Error && error.name === 'HTTPParserError') {
    return new GatewayError('upstream_error', 'The upstream sent an invalid HTTP response.', {
      cause: error,
    });
  }
  const code = errorCode(error);
  if (code !== undefined) {
    if (TIMEOUT.has(code)) {
      return new GatewayError('upstream_timeout', 'The upstream did not answer in time.', { cause: error });
    }
    if (UNREACHABLE.has(code)) {
      return new GatewayError('upstream_unreachable', 'The upstream could not be reached.', { cause: error });
    }
    if (PROTOCOL.has(code) || code.startsWith('HPE_')) {
      return new GatewayError('upstream_error', 'The upstream sent an invalid HTTP response.', {
        cause: error,
      });
    }
    if (CLOSED.has(code)) {
      return new GatewayError('shutting_down', 'The gateway is shutting down.', { cause: error });
    }
  }
  return new GatewayError('internal_error', 'Forwarding to the upstream failed unexpectedly.', {
    cause: error,
  });
}

/**
 * The `code` of an error; for an AggregateError (Node's happy-eyeballs connect tries several
 * addresses) the code of its first inner error when it has none of its own.
 */
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') return code;
  if (error instanceof AggregateError) return errorCode(error.errors[0]);
  return undefined;
}
