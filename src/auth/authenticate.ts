/**
 * The authentication stage of a `jwt` route: extract the bearer token, verify its signature with
 * the issuer's keys, check its claims against the route, and return who the caller is.
 * Runs on every request, so it allocates little and traces only when a sink is given.
 */
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters, JWTPayload } from 'jose';
import { GatewayError } from '../errors.ts';
import type { JwtRequirements } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';
import { checkTokenShape, extractBearerToken, readBearerToken, type BearerInput } from './bearer-token.ts';
import { checkClaims, checkClaimTimes } from './check-claims.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import type { IssuerRegistry } from './issuer-registry.ts';
import { RefusedTokenCache } from './refused-token-cache.ts';
import {
  tokenCacheKey,
  VerifiedTokenCache,
  type TokenKeyMemo,
  type VerifiedToken,
} from './verified-token-cache.ts';
import { isSignatureMismatch, verifySignature } from './verify-signature.ts';

/** The authenticated caller, for authorization, claim forwarding and logs. */
export interface Principal {
  /** `sub`, when a string. */
  readonly subject?: string;
  /** `azp`, else `client_id` (Keycloak sets both for client-credentials tokens). */
  readonly clientId?: string;
  /** The verified claims set. */
  readonly claims: Readonly<JWTPayload>;
  /** The token itself, for `forwardToken`; never log it. */
  readonly token: string;
}

export type AuthenticateInput = BearerInput;

export interface AuthenticateOptions {
  /** Largest accepted token in bytes (GATEWAY_MAX_TOKEN_BYTES, default 8192). */
  readonly maxTokenBytes: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
  /**
   * Verified-token cache. Default: one cache per `IssuerRegistry` with the defaults of
   * `VerifiedTokenCache` (10000 tokens, 300 s); `false` verifies every signature.
   */
  readonly cache?: VerifiedTokenCache | false;
  /**
   * Refused-token cache (bad signatures). Default: one per `IssuerRegistry` with the defaults of
   * `RefusedTokenCache` (10000 tokens, 300 s) when `cache` is not `false`; `false` verifies every
   * signature.
   */
  readonly refused?: RefusedTokenCache | false;
  /** The calling connection's memo of its last token's cache key (serving path); none = hash every time. */
  readonly keyMemo?: TokenKeyMemo;
}

interface TokenCaches {
  readonly verified: VerifiedTokenCache;
  readonly refused: RefusedTokenCache | undefined;
}

// One pair of caches per registry: they live and die with the key stores their entries are bound to.
const defaultCaches = new WeakMap<IssuerRegistry, TokenCaches>();

function cachesFor(registry: IssuerRegistry, options: AuthenticateOptions): TokenCaches | undefined {
  if (options.cache === false) return undefined;
  let defaults = defaultCaches.get(registry);
  if (defaults === undefined) {
    defaults = { verified: new VerifiedTokenCache(), refused: new RefusedTokenCache() };
    defaultCaches.set(registry, defaults);
  }
  if (options.cache === undefined && options.refused === undefined) return defaults;
  return {
    verified: options.cache ?? defaults.verified,
    refused: options.refused === false ? undefined : (options.refused ?? defaults.refused),
  };
}

/**
 * Verifies the signature and records the verdict: the payload and the header that chose the key
 * for a valid signature, the token's key for a bad one.
 */
async function verifyAndCache(
  token: string,
  key: string,
  jwt: JwtRequirements,
  keys: IssuerKeys,
  caches: TokenCaches,
  nowMs: number,
): Promise<JWTPayload> {
  // Read before verifying: a refetch during the verification must make the entry stale.
  const version = keys.version;
  let used: JWSHeaderParameters | undefined;
  const resolveKey = (header: JWSHeaderParameters, flat: FlattenedJWSInput): Promise<CryptoKey> => {
    used = header;
    return keys.getKey(header, flat);
  };
  let payload: JWTPayload;
  try {
    payload = await verifySignature(token, jwt.algorithms, resolveKey);
  } catch (error) {
    // Only a mismatch: "could not be verified" may be a key problem that the next fetch fixes.
    if (isSignatureMismatch(error)) caches.refused?.add(key, keys, version, nowMs);
    throw error;
  }
  if (used?.alg !== undefined)
    caches.verified.set(key, keys, version, { payload, alg: used.alg, kid: used.kid }, nowMs);
  return payload;
}

/**
 * Asks the key store for the key of a cached verification, so its rules stay in force on a hit:
 * the max-age refetch (which changes the version), the stale window, a kid that disappeared.
 * While the store is fresh the answer is known without asking: the cache returned the entry only
 * at the current version, and a fresh store serves exactly that key set.
 */
function stillServed(keys: IssuerKeys, hit: VerifiedToken): boolean | Promise<boolean> {
  return keys.fresh || stillServedAfterRefresh(keys, hit);
}

/** The slow path of `stillServed`: past max age, the lookup refetches (or uses the stale window). */
async function stillServedAfterRefresh(keys: IssuerKeys, hit: VerifiedToken): Promise<boolean> {
  const version = keys.version;
  try {
    await keys.getKey({ alg: hit.alg, kid: hit.kid });
  } catch {
    // The full verification that follows reports the reason with its own code.
    return false;
  }
  return keys.version === version;
}

/**
 * Verified payload of a token, from the verified-token cache when it holds this token for this
 * issuer's current key set (hash of token → payload, bounded LRU, evicted on `IssuerKeys.version`
 * change); claims are re-checked on every request after it, so a cached entry can never outlive
 * `exp`. With a trace (`explain`) the signature is always verified, so the trace shows it.
 */
function verifyToken(
  token: string,
  jwt: JwtRequirements,
  registry: IssuerRegistry,
  caches: TokenCaches | undefined,
  nowMs: number,
  trace: TraceSink | undefined,
  keyMemo: TokenKeyMemo | undefined,
): JWTPayload | Promise<JWTPayload> {
  const keys = registry.register(jwt);
  if (caches === undefined || trace !== undefined) {
    return verifySignature(token, jwt.algorithms, keys.getKey, trace);
  }
  // The caller left the shape check to here: a hit proves this token passed it before.
  const key = keyMemo === undefined ? tokenCacheKey(token) : keyMemo.keyOf(token);
  const hit = caches.verified.get(key, keys, jwt.algorithms, nowMs);
  if (hit !== undefined) {
    const served = stillServed(keys, hit);
    if (served === true) return hit.payload;
    return Promise.resolve(served).then((ok) => {
      if (ok) return hit.payload;
      caches.verified.delete(key);
      return verifyAndCache(token, key, jwt, keys, caches, nowMs);
    });
  }
  checkTokenShape(token);
  // Refused before with this key set: the same verification would fail the same way.
  if (caches.refused?.has(key, keys, nowMs) === true) {
    throw new GatewayError('token_signature_invalid', 'The token signature is invalid');
  }
  return verifyAndCache(token, key, jwt, keys, caches, nowMs);
}

/** What a cached payload passed, and the names it gives its caller. */
interface ClaimsPassed {
  /** The route requirements whose time-independent claim checks it last passed. */
  readonly jwt: JwtRequirements;
  readonly subject: string | undefined;
  readonly clientId: string | undefined;
}

/**
 * A cached (frozen) payload → what it last passed. A hit for the same route then re-runs only the
 * time-dependent checks (`checkClaimTimes`) and takes the subject and client id from here instead
 * of reading them from the claims again; another route, or the new requirement objects of a policy
 * reload, get the full checks.
 */
const claimsPassed = new WeakMap<Readonly<JWTPayload>, ClaimsPassed>();

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value: unknown = payload[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Authenticates a request for a route with `validateJwt`. Rejects with a GatewayError: 400
 * `invalid_request`, 401 `token_*`, 403 `insufficient_scope` / `claim_requirement_failed`,
 * 503 `issuer_unavailable`. Render the challenge with `wwwAuthenticate`.
 */
export async function authenticate(
  input: AuthenticateInput,
  jwt: JwtRequirements,
  registry: IssuerRegistry,
  options: AuthenticateOptions,
  trace?: TraceSink,
): Promise<Principal> {
  return authenticateNow(input, jwt, registry, options, trace);
}

/**
 * `authenticate` for the serving path: answers synchronously when it can (a verified-token cache
 * hit while the key set is fresh, the common case), and returns a promise only when it must wait
 * (a signature to verify, keys to fetch). Each `await` of the async form is a microtask and a
 * generator resumption per request. Throws synchronously what `authenticate` rejects with.
 */
export function authenticateNow(
  input: AuthenticateInput,
  jwt: JwtRequirements,
  registry: IssuerRegistry,
  options: AuthenticateOptions,
  trace?: TraceSink,
): Principal | Promise<Principal> {
  const caches = cachesFor(registry, options);
  const cached = caches !== undefined && trace === undefined;
  // With the cache, verifyToken checks the shape only on a miss.
  const token = cached
    ? readBearerToken(input, options.maxTokenBytes)
    : extractBearerToken(input, options.maxTokenBytes, trace);
  const nowMs = (options.now ?? Date.now)();
  const claims = verifyToken(token, jwt, registry, caches, nowMs, trace, options.keyMemo);
  if (claims instanceof Promise) {
    return claims.then((verified) => principalOf(verified, token, jwt, cached, nowMs, trace));
  }
  return principalOf(claims, token, jwt, cached, nowMs, trace);
}

/** Runs the route's claim checks on a verified payload and names the caller. */
function principalOf(
  claims: JWTPayload,
  token: string,
  jwt: JwtRequirements,
  cached: boolean,
  nowMs: number,
  trace: TraceSink | undefined,
): Principal {
  const passed = cached ? claimsPassed.get(claims) : undefined;
  if (passed !== undefined && passed.jwt === jwt) {
    checkClaimTimes(claims, jwt, nowMs / 1000);
    return principal(passed.subject, passed.clientId, claims, token);
  }
  checkClaims(claims, jwt, nowMs / 1000, trace);
  const subject = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'azp') ?? stringClaim(claims, 'client_id');
  // Only a frozen payload (the cache's) can come back, and nothing can change it since.
  if (cached && Object.isFrozen(claims)) claimsPassed.set(claims, { jwt, subject, clientId });
  return principal(subject, clientId, claims, token);
}

/** A Principal with only the names the token has, built from literals (no object spread). */
function principal(
  subject: string | undefined,
  clientId: string | undefined,
  claims: JWTPayload,
  token: string,
): Principal {
  if (subject !== undefined) {
    return clientId !== undefined ? { subject, clientId, claims, token } : { subject, claims, token };
  }
  return clientId !== undefined ? { clientId, claims, token } : { claims, token };
}
