/**
 * The one place a GatewayError becomes an HTTP response: a JSON body with the stable code and,
 * for token problems, an RFC 6750 `WWW-Authenticate` header. Messages are written for the caller;
 * causes stay in the log.
 */
import type { ServerResponse } from 'node:http';
import { GatewayError, isGatewayError } from '../errors.ts';
import { wwwAuthenticate } from '../auth/www-authenticate.ts';

/** Realm named in `WWW-Authenticate` challenges (RFC 6750 §3). */
export const GATEWAY_REALM = 'connector-gateway';

export interface ErrorBody {
  error: { code: string; message: string; status: number; requestId: string };
}

/** Any thrown value as a GatewayError; unknown failures become `internal_error` (cause kept). */
export function toGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  return new GatewayError('internal_error', 'internal error', { cause: err });
}

export function errorBody(err: GatewayError, requestId: string): ErrorBody {
  return { error: { code: err.code, message: err.message, status: err.status, requestId } };
}

export function errorHeaders(err: GatewayError, requestId: string): Record<string, string> {
  const headers: Record<string, string> = {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-request-id': requestId,
  };
  const challenge = wwwAuthenticate(err, GATEWAY_REALM);
  if (challenge !== undefined) headers['www-authenticate'] = challenge;
  return headers;
}

/**
 * Writes the error to a raw Node response. If the response has already started (an upstream
 * failed mid-stream), the connection is destroyed instead: a second status line would corrupt it.
 */
export function writeError(res: ServerResponse, err: GatewayError, requestId: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = JSON.stringify(errorBody(err, requestId));
  const headers = errorHeaders(err, requestId);
  headers['content-length'] = String(Buffer.byteLength(body));
  res.writeHead(err.status, headers);
  res.end(body);
}
