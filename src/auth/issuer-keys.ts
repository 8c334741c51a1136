/**
 * The verification keys of one issuer: OIDC discovery once, then its JWKS (`jwks-cache.ts`),
 * both retried with exponential backoff until they have loaded once. Status for `/readyz`.
 */
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters } from 'jose';
import { GatewayError } from '../errors.ts';
import { describeError } from './describe-error.ts';
import { JwksCache } from './jwks-cache.ts';
import { resolveJwksSettings, type JwksSettings } from './jwks-settings.ts';
import { silentLogger, type Logger } from './logger.ts';
import { DiscoveryError, fetchDiscovery } from './oidc-discovery.ts';

export interface IssuerKeysOptions extends Partial<JwksSettings> {
  /** Expected `issuer` of the discovery document (exact match). */
  readonly issuer: string;
  readonly discoveryUrl: string;
  /** Default: logs nothing. */
  readonly logger?: Logger;
  /** Milliseconds since the epoch; default Date.now. Drives max age, cooldown and stale window. */
  readonly now?: () => number;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/** Per-issuer detail for `/readyz` and `explain`. Times are ISO 8601. */
export interface IssuerStatus {
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly jwksUri: string | undefined;
  readonly discoveryOk: boolean;
  readonly keysLoaded: boolean;
  /** Keys usable for signatures (not `use: enc`). */
  readonly keyCount: number;
  readonly lastSuccess: string | undefined;
  /** The latest failure of the current streak; cleared by a success. */
  readonly lastError: string | undefined;
  readonly lastErrorAt: string | undefined;
  /** Keys are past max age and the refetch failed: validating from the stale window. */
  readonly stale: boolean;
}

function iso(ms: number | undefined): string | undefined {
  return ms === undefined ? undefined : new Date(ms).toISOString();
}

export class IssuerKeys {
  readonly issuer: string;
  readonly discoveryUrl: string;
  readonly #settings: JwksSettings;
  readonly #logger: Logger;
  readonly #now: () => number;
  readonly #fetch: typeof fetch;
  #cache: JwksCache | undefined;
  #discoveryError: string | undefined;
  #discoveryErrorAt: number | undefined;
  #attempt = 0;
  #retryTimer: NodeJS.Timeout | undefined;
  #started = false;
  #closed = false;
  readonly #loaded: Promise<boolean>;
  #settleLoaded: (loaded: boolean) => void = () => {};

  /** Throws a ConfigError when a setting is out of range. */
  constructor(options: IssuerKeysOptions) {
    this.issuer = options.issuer;
    this.discoveryUrl = options.discoveryUrl;
    this.#settings = resolveJwksSettings(options);
    this.#logger = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    this.#fetch = options.fetch ?? fetch;
    this.#loaded = new Promise((resolve) => (this.#settleLoaded = resolve));
  }

  /** Starts discovery and the first JWKS fetch, retried with exponential backoff until they succeed. */
  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    void this.#initialLoad();
  }

  /** True once discovery and the JWKS have been fetched once (the `/readyz` condition). */
  get loaded(): boolean {
    return this.#cache?.loadedAt !== undefined;
  }

  /** Resolves true once loaded, false if closed first. */
  whenLoaded(): Promise<boolean> {
    return this.#loaded;
  }

  /** Open, loaded and within max age (see JwksCache.fresh): the current key set needs no refetch. */
  get fresh(): boolean {
    return !this.#closed && this.#cache?.fresh === true;
  }

  /** True after `close()`: the registry retired this store. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Changes when a fetch brings a different key set (see JwksCache.version). */
  get version(): number {
    return this.#cache?.version ?? 0;
  }

  /**
   * The jose key resolver for `compactVerify`. Throws `issuer_unavailable` (never loaded, closed,
   * or stale past the window) or jose's JWKSNoMatchingKey / JWKSMultipleMatchingKeys.
   */
  readonly getKey = (header: JWSHeaderParameters, token?: FlattenedJWSInput): Promise<CryptoKey> => {
    if (this.#cache === undefined || this.#closed) {
      return Promise.reject(
        new GatewayError('issuer_unavailable', 'The keys of the token issuer are not available yet'),
      );
    }
    return this.#cache.getKey(header, token);
  };

  status(): IssuerStatus {
    const cache = this.#cache;
    return {
      issuer: this.issuer,
      discoveryUrl: this.discoveryUrl,
      jwksUri: cache?.jwksUri,
      discoveryOk: cache !== undefined,
      keysLoaded: cache?.loadedAt !== undefined,
      keyCount: cache?.keyCount ?? 0,
      lastSuccess: iso(cache?.loadedAt),
      lastError: cache === undefined ? this.#discoveryError : cache.lastError,
      lastErrorAt: iso(cache === undefined ? this.#discoveryErrorAt : cache.lastErrorAt),
      stale: cache?.stale ?? false,
    };
  }

  /** Stops retries; later key lookups answer `issuer_unavailable`. A fetch in flight finishes unobserved. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    this.#settleLoaded(false);
  }

  async #initialLoad(): Promise<void> {
    if (this.#closed) return;
    this.#attempt += 1;
    const base = { issuer: this.issuer, discoveryUrl: this.discoveryUrl, attempt: this.#attempt };
    if (this.#cache === undefined) {
      try {
        const { jwksUri } = await fetchDiscovery(this.discoveryUrl, this.issuer, {
          timeoutMs: this.#settings.timeoutMs,
          fetch: this.#fetch,
        });
        this.#cache = new JwksCache({
          issuer: this.issuer,
          jwksUri,
          settings: this.#settings,
          logger: this.#logger,
          now: this.#now,
          fetch: this.#fetch,
        });
      } catch (err) {
        if (this.#closed) return;
        this.#discoveryError = describeError(err);
        this.#discoveryErrorAt = this.#now();
        const fields = { ...base, retryInMs: this.#scheduleRetry(), error: this.#discoveryError };
        // A mismatch is a configuration error: fetching keys from that document is never tried.
        if (err instanceof DiscoveryError && err.reason === 'issuer_mismatch') {
          this.#logger.error(fields, 'OIDC discovery failed; keys not loaded, retrying');
        } else {
          this.#logger.warn(fields, 'OIDC discovery failed; keys not loaded, retrying');
        }
        return;
      }
    }
    if (this.#closed) return;
    const cache = this.#cache;
    if (await cache.fetch()) {
      this.#logger.info({ ...base, jwksUri: cache.jwksUri, keyCount: cache.keyCount }, 'issuer keys loaded');
      this.#settleLoaded(true);
      return;
    }
    if (this.#closed) return;
    const retryInMs = this.#scheduleRetry();
    this.#logger.warn(
      { ...base, jwksUri: cache.jwksUri, retryInMs, error: cache.lastError },
      'JWKS fetch failed; keys not loaded, retrying',
    );
  }

  /** Schedules the next attempt; returns its delay in milliseconds. */
  #scheduleRetry(): number {
    const { retryInitialMs, retryMaxMs } = this.#settings;
    const delay = Math.min(retryMaxMs, retryInitialMs * 2 ** Math.min(this.#attempt - 1, 30));
    this.#retryTimer = setTimeout(() => void this.#initialLoad(), delay);
    // The server keeps the process alive; a retry alone must not (tests, CLI `explain`).
    this.#retryTimer.unref();
    return delay;
  }
}
