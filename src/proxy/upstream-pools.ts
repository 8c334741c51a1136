/**
 * Keep-alive connection pools, one undici `Pool` per upstream origin. A pool is chosen only from
 * a route's configured origin, never from anything in the request, so a request cannot steer
 * the gateway to another host.
 */
import { Pool } from 'undici';
import { GatewayError } from '../errors.ts';

export interface UpstreamPoolsOptions {
  /** Max sockets per origin; `null` = unlimited. Default `null`. */
  readonly connections?: number | null;
  /** Milliseconds an idle keep-alive socket is kept (the upstream's `Keep-Alive: timeout` can lower it). Default 4000. */
  readonly keepAliveTimeoutMs?: number;
  /** Max bytes of upstream response headers. Default 16384. */
  readonly maxHeaderBytes?: number;
}

export interface PoolOptions {
  /** Milliseconds to establish the TCP (+TLS) connection (setting GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS, default 5000). */
  readonly connectTimeoutMs: number;
}

export class UpstreamPools {
  readonly #pools = new Map<string, Pool>();
  readonly #options: Required<UpstreamPoolsOptions>;
  #closed = false;
  #closing: Promise<void> | undefined;

  constructor(options: UpstreamPoolsOptions = {}) {
    this.#options = {
      connections: options.connections ?? null,
      keepAliveTimeoutMs: options.keepAliveTimeoutMs ?? 4000,
      maxHeaderBytes: options.maxHeaderBytes ?? 16384,
    };
  }

  /**
   * The pool for `origin` (`http(s)://host:port`, no path), created on first use and reused.
   * Routes to one origin with different connect timeouts get one pool each, since undici
   * applies the connect timeout per pool. Throws `shutting_down` after `close()`.
   */
  pool(origin: string, options: PoolOptions): Pool {
    if (this.#closed) throw new GatewayError('shutting_down', 'The gateway is shutting down.');
    const key = `${options.connectTimeoutMs} ${origin}`;
    let pool = this.#pools.get(key);
    if (pool === undefined) {
      pool = new Pool(origin, {
        connections: this.#options.connections,
        connectTimeout: options.connectTimeoutMs,
        keepAliveTimeout: this.#options.keepAliveTimeoutMs,
        maxHeaderSize: this.#options.maxHeaderBytes,
        // HTTP/1.1 only: the hop-by-hop rules and streaming here are written for it, and
        // ALPN-negotiated h2 would change both per upstream without a config change.
        allowH2: false,
      });
      this.#pools.set(key, pool);
    }
    return pool;
  }

  /** Number of pools created so far (for status pages and tests). */
  get size(): number {
    return this.#pools.size;
  }

  /** Lets in-flight requests finish, then closes every socket. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= Promise.all([...this.#pools.values()].map((pool) => pool.close())).then(
      () => undefined,
    );
    await this.#closing;
  }

  /** Aborts in-flight requests and closes every socket now (e.g. after the shutdown grace, even during `close()`). */
  async destroy(): Promise<void> {
    this.#closed = true;
    const live = [...this.#pools.values()].filter((pool) => !pool.destroyed);
    await Promise.all(live.map((pool) => pool.destroy()));
  }
}
