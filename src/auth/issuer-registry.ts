/**
 * Every issuer the loaded policies use, each with one key store. Routes naming the same issuer
 * and discovery URL share a store, so an issuer's JWKS is fetched once however many routes use
 * it. A policy reload registers new issuers and `retain`s the ones still used.
 */
import type { JwksSettings } from './jwks-settings.ts';
import { resolveJwksSettings } from './jwks-settings.ts';
import { IssuerKeys, type IssuerStatus } from './issuer-keys.ts';
import type { Logger } from './logger.ts';

export interface IssuerRegistryOptions extends Partial<JwksSettings> {
  /** Default: logs nothing. */
  readonly logger?: Logger;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
  /** Default: the global fetch. */
  readonly fetch?: typeof fetch;
}

/** What identifies an issuer's key store: both come from a route's `JwtRequirements`. */
export interface IssuerSource {
  readonly issuer: string;
  readonly discoveryUrl: string;
}

function keyOf(source: IssuerSource): string {
  return `${source.issuer}\n${source.discoveryUrl}`;
}

export class IssuerRegistry {
  readonly #options: IssuerRegistryOptions;
  readonly #issuers = new Map<string, IssuerKeys>();
  // Per compiled route (`JwtRequirements` objects live as long as their policy set): the
  // per-request lookup without building the string key.
  readonly #bySource = new WeakMap<IssuerSource, IssuerKeys>();
  #closed = false;

  /** Throws a ConfigError when a JWKS setting is out of range. */
  constructor(options: IssuerRegistryOptions = {}) {
    resolveJwksSettings(options);
    this.#options = options;
  }

  /**
   * The key store of an issuer, created and started (discovery, then JWKS) on first use. Called
   * for every route at policy load, and by `authenticate` as a lookup.
   */
  register(source: IssuerSource): IssuerKeys {
    const known = this.#bySource.get(source);
    if (known !== undefined && !known.closed) return known;
    const key = keyOf(source);
    let keys = this.#issuers.get(key);
    if (keys === undefined) {
      keys = new IssuerKeys({ ...this.#options, issuer: source.issuer, discoveryUrl: source.discoveryUrl });
      this.#issuers.set(key, keys);
      if (this.#closed) keys.close();
      else keys.start();
    }
    this.#bySource.set(source, keys);
    return keys;
  }

  /**
   * Makes the registered issuers exactly `sources`: registers (and starts) new ones, closes and
   * forgets the ones no route uses any more. Call at policy load and after every reload.
   */
  sync(sources: Iterable<IssuerSource>): void {
    const list = [...sources];
    for (const source of list) this.register(source);
    this.retain(list);
  }

  /** Closes and forgets every issuer not in `sources` (after a policy reload). */
  retain(sources: Iterable<IssuerSource>): void {
    const keep = new Set<string>();
    for (const source of sources) keep.add(keyOf(source));
    for (const [key, keys] of this.#issuers) {
      if (!keep.has(key)) {
        keys.close();
        this.#issuers.delete(key);
      }
    }
  }

  /** True when every registered issuer has loaded its keys once (also true with none). */
  ready(): boolean {
    for (const keys of this.#issuers.values()) if (!keys.loaded) return false;
    return true;
  }

  /** Resolves true once every issuer registered now has loaded, false if one was closed first. */
  async whenReady(): Promise<boolean> {
    const results = await Promise.all([...this.#issuers.values()].map((keys) => keys.whenLoaded()));
    return results.every(Boolean);
  }

  status(): IssuerStatus[] {
    return [...this.#issuers.values()].map((keys) => keys.status());
  }

  /** Stops every retry timer; later lookups answer `issuer_unavailable`. */
  close(): void {
    this.#closed = true;
    for (const keys of this.#issuers.values()) keys.close();
  }
}
