/**
 * The crash-loop limit of the cluster primary: how many workers it may replace within a sliding
 * window. A worker that keeps dying (a poisoned request, memory exhausted at start) must not be
 * restarted forever: past the limit the primary gives up and exits non-zero, so the supervisor
 * (systemd, the VM's process manager) sees the failure and an operator is alerted.
 */

export interface RestartBudgetOptions {
  /** Replacements allowed within the window; at least 1. */
  readonly limit: number;
  /** Milliseconds; a replacement counts against the limit this long. Default 10 000. */
  readonly windowMs?: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
}

export class RestartBudget {
  readonly limit: number;
  readonly windowMs: number;
  readonly #now: () => number;
  /** Times of the replacements still inside the window, oldest first. */
  #recent: number[] = [];

  constructor(options: RestartBudgetOptions) {
    if (!Number.isInteger(options.limit) || options.limit < 1) {
      throw new RangeError(`RestartBudget limit: expected a whole number >= 1, got ${options.limit}`);
    }
    this.limit = options.limit;
    this.windowMs = options.windowMs ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Asks for one more replacement. Returns true (and counts it) while fewer than `limit`
   * replacements happened within the last `windowMs`; false once the limit is used up.
   */
  take(): boolean {
    const now = this.#now();
    this.#recent = this.#recent.filter((at) => now - at < this.windowMs);
    if (this.#recent.length >= this.limit) return false;
    this.#recent.push(now);
    return true;
  }

  /** Replacements counted within the current window. */
  get used(): number {
    const now = this.#now();
    return this.#recent.filter((at) => now - at < this.windowMs).length;
  }
}
