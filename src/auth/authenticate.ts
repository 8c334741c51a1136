/**
 * The authentication stage of a `jwt` route: extract the bearer token, verify its signature with
 * the issuer's keys, check its claims against the route, and return who the caller is.
 * Runs on every request, so it allocates little and traces only when a sink is given.
 */
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters, JWTPayload } from 'jose';
import type { JwtRequirements } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';
import { extractBearerToken, type BearerInput } from './bearer-token.ts';
import { checkClaims } from './check-claims.ts';
import type { IssuerKeys } from './issuer-keys.ts';
import type { IssuerRegistry } from './issuer-registry.ts';
import { tokenCacheKey, VerifiedTokenCache, type VerifiedToken } from './verified-token-cache.ts';
import { verifySignature } from './verify-signature.ts';

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
}

// One cache per registry: it lives and dies with the key stores its entries are bound to.
const defaultCaches = new WeakMap<IssuerRegistry, VerifiedTokenCache>();

function cacheFor(registry: IssuerRegistry, option: VerifiedTokenCache | false | undefined) {
  if (option !== undefined) return option === false ? undefined : option;
  let cache = defaultCaches.get(registry);
  if (cache === undefined) {
    cache = new VerifiedTokenCache();
    defaultCaches.set(registry, cache);
  }
  return cache;
}

/** Verifies the signature and remembers the header that chose the key, for the cache entry. */
async function verifyAndCache(
  token: string,
  key: string,
  jwt: JwtRequirements,
  keys: IssuerKeys,
  cache: VerifiedTokenCache,
  nowMs: number,
): Promise<JWTPayload> {
  // Read before verifying: a refetch during the verification must make the entry stale.
  const version = keys.version;
  let used: JWSHeaderParameters | undefined;
  const resolveKey = (header: JWSHeaderParameters, flat: FlattenedJWSInput): Promise<CryptoKey> => {
    used = header;
    return keys.getKey(header, flat);
  };
  const payload = await verifySignature(token, jwt.algorithms, resolveKey);
  if (used?.alg !== undefined)
    cache.set(key, keys, version, { payload, alg: used.alg, kid: used.kid }, nowMs);
  return payload;
}

/**
 * Asks the key store for the key of a cached verification, so its rules stay in force on a hit:
 * the max-age refetch (which changes the version), the stale window, a kid that disappeared.
 * Costs a map lookup and a few microtasks; the key is already imported.
 */
async function stillServed(keys: IssuerKeys, hit: VerifiedToken): Promise<boolean> {
  // The cache returned the entry only at the current version.
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
async function verifyToken(
  token: string,
  jwt: JwtRequirements,
  registry: IssuerRegistry,
  cache: VerifiedTokenCache | undefined,
  nowMs: number,
  trace: TraceSink | undefined,
): Promise<JWTPayload> {
  const keys = registry.register(jwt);
  if (cache === undefined || trace !== undefined) {
    return verifySignature(token, jwt.algorithms, keys.getKey, trace);
  }
  const key = tokenCacheKey(token);
  const hit = cache.get(key, keys, jwt.algorithms, nowMs);
  if (hit !== undefined) {
    if (await stillServed(keys, hit)) return hit.payload;
    cache.delete(key);
  }
  return verifyAndCache(token, key, jwt, keys, cache, nowMs);
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value: unknown = payload[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Authenticates a request for a route with `validateJwt`. Throws a GatewayError: 400
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
  const token = extractBearerToken(input, options.maxTokenBytes, trace);
  const nowMs = (options.now ?? Date.now)();
  const claims = await verifyToken(token, jwt, registry, cacheFor(registry, options.cache), nowMs, trace);
  checkClaims(claims, jwt, nowMs / 1000, trace);
  const subject = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'azp') ?? stringClaim(claims, 'client_id');
  return {
    ...(subject === undefined ? {} : { subject }),
    ...(clientId === undefined ? {} : { clientId }),
    claims,
    token,
  };
}
