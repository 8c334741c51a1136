/**
 * The background loop of the remote credential sources (Key Vault secrets, access tokens): one
 * run at a time — callers during a run join it (single-flight) — and the next run on a timer
 * that never keeps the process alive. Nothing runs after `close()`.
 */

/** setTimeout's limit is 2^31-1 ms; no source waits longer than a day between runs anyway. */
const MAX_DELAY_MS = 86_400_000;

export class Refresher {
  readonly #run: () => Promise<void>;
  #running: Promise<void> | undefined;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  /** @param run one refresh; must not reject. */
  constructor(run: () => Promise<void>) {
    this.#run = run;
  }

  /** Whether a run is in flight. */
  get running(): boolean {
    return this.#running !== undefined;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Runs now, or joins the run in flight; cancels the scheduled one. Never rejects. */
  now(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#running === undefined) {
      clearTimeout(this.#timer);
      this.#running = this.#run().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  /** The run in flight, if any. */
  current(): Promise<void> | undefined {
    return this.#running;
  }

  /** Schedules the next run in `delayMs` milliseconds (at most a day), replacing any earlier one. */
  after(delayMs: number): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => void this.now(), Math.max(0, Math.min(delayMs, MAX_DELAY_MS)));
    this.#timer.unref();
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
