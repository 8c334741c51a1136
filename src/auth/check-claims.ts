/**
 * Every claim check of a route, in the order the request path runs them. Needs no signature, so
 * `explain --claims` calls it on a decoded payload.
 */
import type { JWTPayload } from 'jose';
import type { JwtRequirements } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';
import { checkRegisteredClaims } from './token-claims.ts';
import { checkRequiredClaims, checkScopes } from './token-requirements.ts';

/**
 * Checks registered claims, then scopes, then required claims; throws the first failure as a
 * GatewayError (401 codes for an invalid token, 403 for missing permissions).
 *
 * @param nowSeconds - Current time in seconds since the epoch (may be fractional).
 */
export function checkClaims(
  payload: JWTPayload,
  jwt: JwtRequirements,
  nowSeconds: number,
  trace?: TraceSink,
): void {
  checkRegisteredClaims(payload, jwt, nowSeconds, trace);
  checkScopes(payload, jwt.requiredScopes, trace);
  checkRequiredClaims(payload, jwt.requiredClaims, trace);
}
