/**
 * Verified-token cache: the payload of a token whose signature verified, keyed by a SHA-256 of
 * the token, so a token seen again costs a hash and a map lookup instead of an RSA verification
 * (Envoy's `jwt_cache`, fast-jwt's `cache` option). What it holds is only "this exact token was
 * signed by this issuer's key set"; the route's claim checks still run on every request.
 *
 * An entry is used only while all of these hold, so it can never be more permissive than a fresh
 * verification:
 * - the same issuer key store (`owner`) at the same key-set `version` (any JWKS refetch evicts,
 *   so a removed key stops accepting at once);
 * - the token's `alg` is still in the route's allowlist (a policy reload may narrow it);
 * - it is before the token's `exp` and within `maxAgeSeconds` of the verification.
 * Bounded in size (least recently used dropped first). Only tokens with a valid signature get in,
 * so a flood of garbage tokens cannot evict the entries of valid callers.
 */
import { hash } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { ConfigError } from '../errors.ts';
import { LruMap, type LruLinks } from './lru-map.ts';

/** The key-set identity an entry is bound to; `IssuerKeys` is one. */
export interface KeySetOwner {
  /** Changes whenever a refetch brings a different key set (`IssuerKeys.version`). */
  readonly version: number;
}

/** What a successful verification leaves in the cache. */
export interface VerifiedToken {
  /** The verified claims set, deep-frozen: requests share it. */
  readonly payload: Readonly<JWTPayload>;
  /** Header `alg` the signature was verified with. */
  readonly alg: string;
  /** Header `kid`, to ask the key store for the same key again. */
  readonly kid: string | undefined;
}

export interface VerifiedTokenCacheOptions {
  /** Most tokens kept; beyond it the least recently used is dropped. Default 10000, range 1-1000000. */
  readonly maxEntries?: number;
  /**
   * Seconds an entry may be used after its verification whatever its `exp` (and the only bound
   * for a token without `exp`). Default 300, range 1-86400.
   */
  readonly maxAgeSeconds?: number;
}

interface Entry extends VerifiedToken, LruLinks {
  readonly owner: KeySetOwner;
  readonly version: number;
  /** Milliseconds since the epoch. */
  readonly usableUntil: number;
}

export const DEFAULT_MAX_ENTRIES = 10_000;
export const DEFAULT_MAX_AGE_SECONDS = 300;

/** A cache size or age option: an integer from 1 to `max`, else a ConfigError naming it. */
export function checkedInteger(
  name: string,
  value: number | undefined,
  fallback: number,
  max: number,
): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) {
    throw new ConfigError(`${name} must be an integer from 1 to ${max}, got ${String(value)}`);
  }
  return n;
}

/** Freezes the claims set and everything in it: one request must not change what the next sees. */
function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/**
 * The cache key of a token: SHA-256 of the whole compact JWS, base64url. The whole token, never
 * the signature alone: a cached signature with an edited payload must miss. The token itself is
 * never stored.
 */
export function tokenCacheKey(token: string): string {
  return hash('sha256', token, 'base64url');
}

/**
 * The cache key of the token a connection sent last. A keep-alive connection mostly carries one
 * caller, and a service reuses its token until it nears expiry, so the next request on the
 * connection usually sends the same token again: recognising it costs one string comparison
 * instead of a SHA-256 of ~1 KB. The comparison is of the whole token, so a token that differs
 * anywhere gets its own hash. The memo holds a reference to that one token string until the
 * connection's next token or its end; the cache itself still stores no token.
 */
export class TokenKeyMemo {
  #token: string | undefined;
  #key = '';

  /** `tokenCacheKey(token)`, computed only when `token` is not the one seen last. */
  keyOf(token: string): string {
    if (token !== this.#token) {
      this.#key = tokenCacheKey(token);
      this.#token = token;
    }
    return this.#key;
  }
}

export class VerifiedTokenCache {
  readonly maxEntries: number;
  readonly maxAgeSeconds: number;
  // A hit makes its entry the most recently used; beyond maxEntries the least recently used goes.
  readonly #entries: LruMap<Entry>;

  /** Throws a ConfigError when an option is out of range. */
  constructor(options: VerifiedTokenCacheOptions = {}) {
    this.maxEntries = checkedInteger('maxEntries', options.maxEntries, DEFAULT_MAX_ENTRIES, 1_000_000);
    this.maxAgeSeconds = checkedInteger(
      'maxAgeSeconds',
      options.maxAgeSeconds,
      DEFAULT_MAX_AGE_SECONDS,
      86_400,
    );
    this.#entries = new LruMap<Entry>(this.maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The verification of `key` if it is still usable for a route verifying with `owner` and
   * allowing `algorithms`; drops an entry that no longer is.
   *
   * @param nowMs - Milliseconds since the epoch.
   */
  get(
    key: string,
    owner: KeySetOwner,
    algorithms: readonly string[],
    nowMs: number,
  ): VerifiedToken | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    if (nowMs >= entry.usableUntil || entry.owner.version !== entry.version) {
      this.#entries.delete(key);
      return undefined;
    }
    // Another issuer's store, or an alg the route does not allow: a miss, but the entry is still
    // right for the route that verified it, so it stays.
    if (entry.owner !== owner || !algorithms.includes(entry.alg)) return undefined;
    // A move in the cache's own list, never a delete and re-insert in the Map (lru-map.ts).
    this.#entries.touch(entry);
    return entry;
  }

  /**
   * Records a successful signature verification of the token with cache key `key`, made with
   * `owner`'s keys at `version` (read it before verifying, so a refetch during the
   * verification leaves a stale entry rather than a wrong one). Freezes `verified.payload`.
   *
   * @param nowMs - Milliseconds since the epoch.
   */
  set(key: string, owner: KeySetOwner, version: number, verified: VerifiedToken, nowMs: number): void {
    const exp = verified.payload.exp;
    const ageLimit = nowMs + this.maxAgeSeconds * 1000;
    const usableUntil =
      typeof exp === 'number' && Number.isFinite(exp) ? Math.min(exp * 1000, ageLimit) : ageLimit;
    if (usableUntil <= nowMs) return;
    this.#entries.set(key, {
      payload: deepFreeze(verified.payload),
      alg: verified.alg,
      kid: verified.kid,
      owner,
      version,
      usableUntil,
      lruKey: key,
      lruOlder: undefined,
      lruYounger: undefined,
    });
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }

  /** Forgets every entry (e.g. after a revocation the cache cannot otherwise see). */
  clear(): void {
    this.#entries.clear();
  }
}
