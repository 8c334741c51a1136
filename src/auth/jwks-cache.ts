/**
 * The JWK Set of one issuer with the refresh policy the gateway needs, built on jose's
 * `createRemoteJWKSet` (key selection that skips `use: enc` keys and keys without `verify` in
 * `key_ops`, an imported-key cache, one shared in-flight fetch, a timeout).
 *
 * What jose does not do, and this class adds: on a failed reload jose throws to every caller and
 * refetches on the very next call, so an unreachable IdP would fail every request once keys pass
 * max age and cost one fetch per unknown kid. Here jose's own age and cooldown reloads are turned
 * off (both Infinity) and this class decides when to reload:
 * - keys older than max age are refetched; if that fails, the last good keys stay usable for
 *   the stale window (RFC 5861 §4 `stale-if-error`), with one warning per failure streak;
 * - an unknown kid refetches (the IdP rotated keys), but at most once per cooldown counted from
 *   the last attempt, successful or not, so a flood of random kids costs one fetch per cooldown.
 */
import { createRemoteJWKSet, customFetch, errors } from 'jose';
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters, RemoteJWKSet } from 'jose';
import { GatewayError } from '../errors.ts';
import { describeError } from './describe-error.ts';
import type { JwksSettings } from './jwks-settings.ts';
import type { Logger } from './logger.ts';

export interface JwksCacheOptions {
  /** For log lines. */
  readonly issuer: string;
  readonly jwksUri: string;
  readonly settings: JwksSettings;
  readonly logger: Logger;
  /** Milliseconds since the epoch. */
  readonly now: () => number;
  readonly fetch: typeof fetch;
}

export class JwksCache {
  readonly jwksUri: string;
  readonly #issuer: string;
  readonly #settings: JwksSettings;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #remote: RemoteJWKSet;
  #loadedAt: number | undefined;
  #lastAttemptAt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<boolean> | undefined;
  #failures = 0;
  #lastError: string | undefined;
  #lastErrorAt: number | undefined;
  #expiredLogged = false;
  #keyCount = 0;
  #version = 0;
  #fingerprint: string | undefined;

  constructor(options: JwksCacheOptions) {
    this.jwksUri = options.jwksUri;
    this.#issuer = options.issuer;
    this.#settings = options.settings;
    this.#logger = options.logger;
    this.#now = options.now;
    this.#remote = createRemoteJWKSet(new URL(options.jwksUri), {
      cacheMaxAge: Number.POSITIVE_INFINITY,
      cooldownDuration: Number.POSITIVE_INFINITY,
      timeoutDuration: options.settings.timeoutMs,
      [customFetch]: options.fetch,
    });
  }

  /** Milliseconds since the epoch of the last successful fetch. */
  get loadedAt(): number | undefined {
    return this.#loadedAt;
  }

  /** Keys usable for signatures in the last fetched set. */
  get keyCount(): number {
    return this.#keyCount;
  }

  /**
   * Changes when a fetch brings a different key set (not on every refresh, so the verified-token
   * cache survives the routine max-age refetch): an entry keyed on it never outlives a key removal.
   */
  get version(): number {
    return this.#version;
  }

  get lastError(): string | undefined {
    return this.#lastError;
  }

  get lastErrorAt(): number | undefined {
    return this.#lastErrorAt;
  }

  /**
   * Loaded and within max age: `getKey` would not refetch, so the key set (and with it every key
   * of the current `version`) is exactly what was fetched. Lets a verified-token cache hit skip
   * the asynchronous key lookup.
   */
  get fresh(): boolean {
    return (
      this.#loadedAt !== undefined && this.#now() - this.#loadedAt <= this.#settings.cacheMaxAgeSeconds * 1000
    );
  }

  /** Keys are past max age and the last refetch failed. */
  get stale(): boolean {
    const { cacheMaxAgeSeconds } = this.#settings;
    return (
      this.#loadedAt !== undefined &&
      this.#failures > 0 &&
      this.#now() - this.#loadedAt > cacheMaxAgeSeconds * 1000
    );
  }

  /**
   * The key for a token header. Throws `issuer_unavailable` (never loaded, or stale past the
   * window) or jose's JWKSNoMatchingKey / JWKSMultipleMatchingKeys.
   */
  async getKey(header: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<CryptoKey> {
    if (this.#loadedAt === undefined) {
      throw new GatewayError('issuer_unavailable', 'The keys of the token issuer are not available yet');
    }
    if (this.#now() - this.#loadedAt > this.#settings.cacheMaxAgeSeconds * 1000) {
      await this.#refresh();
      this.#assertWithinStaleWindow();
    }
    try {
      return await this.#remote(header, token);
    } catch (err) {
      // An unknown kid usually means the IdP rotated its signing key: refetch and look again.
      if (!(err instanceof errors.JWKSNoMatchingKey) || !(await this.#refresh())) throw err;
      return this.#remote(header, token);
    }
  }

  /** One JWKS fetch, shared by every caller while in flight; never rejects. True on success. */
  fetch(): Promise<boolean> {
    if (this.#inflight !== undefined) return this.#inflight;
    this.#lastAttemptAt = this.#now();
    const attempt = this.#remote
      .reload()
      .then(
        () => this.#onFetched(),
        (err: unknown) => this.#onFetchFailed(err),
      )
      .finally(() => (this.#inflight = undefined));
    this.#inflight = attempt;
    return attempt;
  }

  /** Refetches unless an attempt ran within the cooldown; joins a fetch in flight. */
  #refresh(): Promise<boolean> {
    if (this.#inflight !== undefined) return this.#inflight;
    if (this.#now() - this.#lastAttemptAt < this.#settings.cooldownSeconds * 1000)
      return Promise.resolve(false);
    return this.fetch();
  }

  #onFetched(): boolean {
    const recovered = this.#failures > 0 && this.#loadedAt !== undefined;
    this.#loadedAt = this.#now();
    this.#failures = 0;
    this.#lastError = undefined;
    this.#lastErrorAt = undefined;
    this.#expiredLogged = false;
    const fingerprint = JSON.stringify(this.#remote.jwks() ?? null);
    if (fingerprint !== this.#fingerprint) {
      this.#fingerprint = fingerprint;
      this.#version += 1;
    }
    // Count what jose would use for a signature (local.js isUsableJWK): not `use: enc`, and
    // `key_ops` absent or listing `verify`.
    this.#keyCount = (this.#remote.jwks()?.keys ?? []).filter(
      (jwk) =>
        (jwk.use === undefined || jwk.use === 'sig') &&
        (jwk.key_ops === undefined || jwk.key_ops.includes('verify')),
    ).length;
    const fields = { issuer: this.#issuer, jwksUri: this.jwksUri, keyCount: this.#keyCount };
    if (recovered) this.#logger.info(fields, 'JWKS refresh recovered');
    if (this.#keyCount === 0) this.#logger.warn(fields, 'JWKS has no signature keys');
    return true;
  }

  #onFetchFailed(err: unknown): boolean {
    this.#lastError = describeError(err);
    this.#lastErrorAt = this.#now();
    this.#failures += 1;
    if (this.#loadedAt !== undefined && this.#failures === 1) {
      const { cacheMaxAgeSeconds, staleSeconds } = this.#settings;
      this.#logger.warn(
        {
          issuer: this.#issuer,
          jwksUri: this.jwksUri,
          error: this.#lastError,
          usableUntil: new Date(this.#loadedAt + (cacheMaxAgeSeconds + staleSeconds) * 1000).toISOString(),
        },
        'JWKS refresh failed; validating with the last good keys',
      );
    }
    return false;
  }

  #assertWithinStaleWindow(): void {
    const loadedAt = this.#loadedAt ?? Number.NEGATIVE_INFINITY;
    const { cacheMaxAgeSeconds, staleSeconds } = this.#settings;
    if (this.#now() - loadedAt <= (cacheMaxAgeSeconds + staleSeconds) * 1000) return;
    if (!this.#expiredLogged) {
      this.#expiredLogged = true;
      this.#logger.error(
        {
          issuer: this.#issuer,
          jwksUri: this.jwksUri,
          lastSuccess: new Date(loadedAt).toISOString(),
          error: this.#lastError,
        },
        'issuer keys are past the stale window; refusing tokens of this issuer',
      );
    }
    throw new GatewayError('issuer_unavailable', 'The keys of the token issuer could not be refreshed');
  }
}
