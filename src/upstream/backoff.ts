/**
 * Retry timing for remote credential sources (Key Vault, identity and token endpoints): capped
 * exponential backoff with jitter, so replicas that failed together do not retry together, and a
 * floor from the server's `Retry-After` (RFC 9110 §10.2.3), which is honoured, never undercut.
 */

export interface BackoffOptions {
  /** Milliseconds before the first retry. Default 1000. */
  readonly initialMs?: number;
  /** Upper bound of the exponential part, in milliseconds. Default 60000. */
  readonly maxMs?: number;
  /** Fraction of the delay randomly taken off (0..1). Default 0.2. */
  readonly jitter?: number;
}

/** Longest Retry-After honoured (ms): a server asking for more gets asked again after this. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

export class Backoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #jitter: number;
  #failures = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initialMs = options.initialMs ?? 1000;
    this.#maxMs = options.maxMs ?? 60_000;
    this.#jitter = options.jitter ?? 0.2;
    if (!(this.#initialMs > 0) || this.#maxMs < this.#initialMs) {
      throw new RangeError('backoff: initialMs must be > 0 and maxMs >= initialMs (milliseconds)');
    }
  }

  /** Failures since the last success. */
  get failures(): number {
    return this.#failures;
  }

  /**
   * Records a failure and returns the milliseconds to wait before the next attempt.
   * @param retryAfterMs the server's Retry-After, if it sent one: the delay is at least this.
   * @param capMs an upper bound of the exponential part (e.g. the regular refresh interval).
   */
  fail(retryAfterMs?: number, capMs?: number): number {
    this.#failures += 1;
    const exponential = this.#initialMs * 2 ** Math.min(this.#failures - 1, 30);
    const capped = Math.min(exponential, this.#maxMs, capMs ?? Number.POSITIVE_INFINITY);
    const delay = Math.round(capped * (1 - Math.random() * this.#jitter));
    return retryAfterMs === undefined ? delay : Math.max(delay, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS));
  }

  reset(): void {
    this.#failures = 0;
  }
}

/**
 * RFC 9110 §10.2.3: `Retry-After` is delay-seconds or an HTTP-date.
 * @returns milliseconds from `now`, or undefined when absent or unparsable.
 */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
