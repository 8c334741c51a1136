/**
 * `forwardClaims`: values from the verified token sent upstream as headers. Only strings, numbers,
 * booleans and arrays of them are forwarded; anything that would not be a valid header value
 * (CR, LF, NUL and other controls: RFC 9110 §5.5) is dropped rather than sent, so a claim can never
 * smuggle a second header.
 */
import { readClaim } from '../auth/claim-path.ts';
import type { CompiledRoute } from '../policy/route.ts';

// RFC 9110 §5.5 field-value: visible ASCII, space, tab and obs-text; no CR, LF or NUL.
const SAFE_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

function asHeaderValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value) && value.every((v) => typeof v === 'string' || typeof v === 'number')) {
    return value.join(',');
  }
  return undefined;
}

type ClaimHeaders = readonly (readonly [string, string])[];

const NONE: ClaimHeaders = Object.freeze([]);

/**
 * A frozen claims set (the verified-token cache's) → the pairs last computed from it and the route
 * they were for. Every request with a cached token would otherwise read the same claims and test
 * the same values again (~1,300 instructions a request for one forwarded claim, valgrind's count).
 */
const computed = new WeakMap<object, { readonly route: CompiledRoute; readonly pairs: ClaimHeaders }>();

/** `[header, value]` pairs for the route's forwardClaims that the token actually carries. */
export function claimHeaders(
  route: CompiledRoute,
  claims: Readonly<Record<string, unknown>> | undefined,
): ClaimHeaders {
  if (route.forwardClaims.length === 0 || claims === undefined) return NONE;
  // Only frozen sets are ever kept, so a hit needs no isFrozen (which walks every property).
  const last = computed.get(claims);
  if (last !== undefined && last.route === route) return last.pairs;
  const pairs: [string, string][] = [];
  for (const { claim, header } of route.forwardClaims) {
    const value = asHeaderValue(readClaim(claims, claim));
    if (value !== undefined && value !== '' && SAFE_VALUE.test(value)) pairs.push([header, value]);
  }
  // Only a frozen set can be kept: nothing can change it after the pairs were computed.
  if (Object.isFrozen(claims)) computed.set(claims, { route, pairs: Object.freeze(pairs) });
  return pairs;
}
