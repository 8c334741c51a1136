/**
 * The JWS protected header of a bearer token: decoded once and checked before any key is looked
 * up, so a refusal names the exact reason and no key fetch is spent on a token we would refuse.
 */
import { GatewayError } from '../errors.ts';
import type { TraceSink } from '../policy/trace.ts';

/**
 * Header members that point at or carry a key (RFC 7515 §4.1.2-4.1.6). Keys come only from the
 * issuer's JWKS found by discovery; trusting these would let the token choose its own key.
 */
const KEY_BEARING_MEMBERS = ['jku', 'jwk', 'x5u', 'x5c'] as const;

export interface CheckedHeader {
  readonly alg: string;
  readonly kid: string | undefined;
}

/** Decodes the first part of a compact JWS into a JSON object, else `token_malformed`. */
export function decodeProtectedHeader(token: string): Record<string, unknown> {
  const encoded = token.slice(0, token.indexOf('.'));
  let header: unknown;
  try {
    header = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch (cause) {
    throw new GatewayError('token_malformed', 'The token header is not valid JSON', { cause });
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) {
    throw new GatewayError('token_malformed', 'The token header is not a JSON object');
  }
  return header as Record<string, unknown>;
}

/**
 * Refuses key-bearing members and any `crit` (RFC 7515 §4.1.11: a recipient MUST reject a JWS
 * whose critical extensions it does not understand; the gateway understands none) with
 * `token_header_invalid`, then an `alg` outside `algorithms` (including `none`) with
 * `token_algorithm_not_allowed`.
 */
export function checkProtectedHeader(
  header: Readonly<Record<string, unknown>>,
  algorithms: readonly string[],
  trace?: TraceSink,
): CheckedHeader {
  for (const member of KEY_BEARING_MEMBERS) {
    if (Object.hasOwn(header, member)) {
      trace?.step({ stage: 'token', check: 'header', ok: false, detail: `header has "${member}"` });
      throw new GatewayError('token_header_invalid', `The token header must not carry "${member}"`);
    }
  }
  if (Object.hasOwn(header, 'crit')) {
    trace?.step({ stage: 'token', check: 'header', ok: false, detail: 'header has "crit"' });
    throw new GatewayError(
      'token_header_invalid',
      'The token header has critical extensions the gateway does not support',
    );
  }
  const { alg, kid } = header;
  if (kid !== undefined && typeof kid !== 'string') {
    trace?.step({ stage: 'token', check: 'header', ok: false, detail: 'kid is not a string' });
    throw new GatewayError('token_header_invalid', 'The token header kid must be a string');
  }
  trace?.step({
    stage: 'token',
    check: 'header',
    ok: true,
    detail: kid === undefined ? 'no kid' : `kid ${kid}`,
  });
  if (typeof alg !== 'string' || !algorithms.includes(alg)) {
    const shown = typeof alg === 'string' ? alg.slice(0, 20) : 'missing';
    trace?.step({
      stage: 'token',
      check: 'alg',
      ok: false,
      detail: `${shown} not in [${algorithms.join(', ')}]`,
    });
    throw new GatewayError(
      'token_algorithm_not_allowed',
      `The token algorithm is not allowed (allowed: ${algorithms.join(', ')})`,
    );
  }
  trace?.step({ stage: 'token', check: 'alg', ok: true, detail: alg });
  return { alg, kid };
}
