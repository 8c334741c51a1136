/**
 * Refused-token cache: the tokens whose signature did NOT verify, keyed by the same SHA-256 as the
 * verified-token cache, so a token refused once is refused again for a hash and a map lookup
 * instead of another RSA verification. Without it a flood of forged tokens costs more per request
 * than the valid traffic it competes with (a refusal paid a full verification, an accepted token
 * a lookup), and garbage could starve valid callers.
 *
 * Only a signature mismatch (`token_signature_invalid` because the signature does not match, not
 * because it could not be checked) is remembered: it is the one refusal that is expensive and that
 * depends on nothing but the token bytes and the issuer's key set. Malformed tokens and bad headers
 * are refused before any cryptography; claim checks (expiry, audience, scope) are cheap and run on
 * every request anyway. An entry is used only while:
 * - the same issuer key store is at the same key-set `version` (a JWKS change, such as a rotation
 *   that publishes a new key under the same `kid`, re-verifies);
 * - within `maxAgeSeconds` of the refusal.
 * It is a separate map from the verified tokens, bounded on its own (oldest refusal dropped
 * first), so a flood of unique garbage evicts only other garbage, never a valid caller's entry.
 */
import { LruMap, type LruLinks } from './lru-map.ts';
import { checkedInteger, type KeySetOwner } from './verified-token-cache.ts';

export interface RefusedTokenCacheOptions {
  /** Most refusals kept; beyond it the oldest is dropped. Default 10000, range 1-1000000. */
  readonly maxEntries?: number;
  /** Seconds a refusal is remembered. Default 300, range 1-86400. */
  readonly maxAgeSeconds?: number;
}

interface Refusal extends LruLinks {
  readonly owner: KeySetOwner;
  readonly version: number;
  /** Milliseconds since the epoch. */
  readonly until: number;
}

export const DEFAULT_REFUSED_ENTRIES = 10_000;
export const DEFAULT_REFUSED_MAX_AGE_SECONDS = 300;

export class RefusedTokenCache {
  readonly maxEntries: number;
  readonly maxAgeSeconds: number;
  // Oldest refusal first; a hit does not move it (a flood of one forged token stays one entry).
  readonly #entries: LruMap<Refusal>;

  /** Throws a ConfigError when an option is out of range. */
  constructor(options: RefusedTokenCacheOptions = {}) {
    this.maxEntries = checkedInteger('maxEntries', options.maxEntries, DEFAULT_REFUSED_ENTRIES, 1_000_000);
    this.maxAgeSeconds = checkedInteger(
      'maxAgeSeconds',
      options.maxAgeSeconds,
      DEFAULT_REFUSED_MAX_AGE_SECONDS,
      86_400,
    );
    this.#entries = new LruMap<Refusal>(this.maxEntries);
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * True when the token with cache key `key` failed signature verification with `owner`'s current
   * key set within the last `maxAgeSeconds`; drops an entry that no longer applies.
   *
   * @param nowMs - Milliseconds since the epoch.
   */
  has(key: string, owner: KeySetOwner, nowMs: number): boolean {
    const entry = this.#entries.get(key);
    if (entry === undefined) return false;
    if (nowMs >= entry.until || entry.owner.version !== entry.version) {
      this.#entries.delete(key);
      return false;
    }
    // Refused by another issuer's keys: says nothing about this issuer.
    return entry.owner === owner;
  }

  /**
   * Records that the token with cache key `key` failed signature verification with `owner`'s keys
   * at `version` (read before verifying, so a refetch during the verification leaves a stale
   * entry rather than a wrong one).
   *
   * @param nowMs - Milliseconds since the epoch.
   */
  add(key: string, owner: KeySetOwner, version: number, nowMs: number): void {
    this.#entries.set(key, {
      owner,
      version,
      until: nowMs + this.maxAgeSeconds * 1000,
      lruKey: key,
      lruOlder: undefined,
      lruYounger: undefined,
    });
  }

  clear(): void {
    this.#entries.clear();
  }
}
