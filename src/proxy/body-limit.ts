/**
 * The request body limit (setting GATEWAY_MAX_BODY_BYTES). A declared length is checked before
 * the upstream is contacted; a chunked body is counted as undici sends it (see forward-handler).
 */
import { GatewayError } from '../errors.ts';

/** Default limit: 1 GiB, in bytes. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024 * 1024;

/** Methods whose request body the gateway forwards; GET and HEAD bodies are never sent on. */
export function methodForwardsBody(method: string): boolean {
  // RFC 9110 §9.3.1/§9.3.2: content in GET/HEAD has no defined semantics, and forwarding it is
  // a classic request-smuggling lever, so it is dropped (Node still reads it off the wire).
  return method !== 'GET' && method !== 'HEAD';
}

/**
 * Throws `payload_too_large` (413) when the declared `Content-Length` exceeds `maxBodyBytes`.
 * @param contentLength - Declared length in bytes, -1 when absent.
 * @param maxBodyBytes - Limit in bytes.
 */
export function checkDeclaredLength(contentLength: number, maxBodyBytes: number): void {
  if (contentLength > maxBodyBytes) throw tooLarge();
}

/** The 413 for a body over the limit; the message states the limit, never the content. */
export function tooLarge(): GatewayError {
  return new GatewayError('payload_too_large', 'The request body exceeds the configured limit.');
}
