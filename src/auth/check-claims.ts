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

/**
 * Only the checks whose outcome can change with the time (`exp`, `nbf`, `iat`, the lifetime and
 * age), for a payload that already passed `checkClaims` with this same `jwt` object. The payload
 * is frozen and a route's requirements are immutable (a policy reload builds new ones), so the
 * other checks would pass again; what this throws is exactly what `checkClaims` would throw now.
 */
export function checkClaimTimes(payload: JWTPayload, jwt: JwtRequirements, nowSeconds: number): void {
  checkRegisteredClaims(payload, jwt, nowSeconds, undefined, true);
}
