/**
 * Gathers whole log lines into one string and hands each batch to its destination in a single
 * write: when the next line would take the batch past `maxLength`, every `flushIntervalMs`, and on
 * `flush`/`flushSync` (the exit flush).
 *
 * Why not sonic-boom's own `minLength`: its `write` measures the byte length of the whole pending
 * buffer on every call, and that buffer is a string grown by `+=`, so each line re-flattens and
 * re-scans everything gathered so far. With one line per request that was 1-1.5 % of the gateway's
 * CPU under load (docs/performance.md). Here a line costs a length read: by default the limit
 * counts UTF-16 units, not bytes, which is all a file or a pipe with one writer needs.
 *
 * With `exactBytes`, the limit counts UTF-8 bytes instead (one `Buffer.byteLength` per line): for a
 * pipe that several processes share (GATEWAY_WORKERS), where a write of at most PIPE_BUF bytes is
 * the only kind the kernel never splices into another writer's.
 *
 * For destinations that write, or at least try to, before `write` returns: a regular file or
 * /dev/null (sonic-boom, synchronous), or a non-blocking pipe (PipeSink). So the exit flush needs
 * nothing but `flushSync`. Lines are never split or reordered; a line longer than `maxLength`
 * goes out alone.
 */
import type { DestinationStream } from 'pino';

/** The part of a synchronous sonic-boom (`pino.destination({ sync: true })`) used here. */
export interface SyncDestination {
  write(data: string): unknown;
  flushSync(): void;
}

export class LineBatcher implements DestinationStream {
  readonly maxLength: number;
  /** Whether `maxLength` counts UTF-8 bytes (true) or UTF-16 units (false). */
  readonly exactBytes: boolean;
  readonly #destination: SyncDestination;
  #pending = '';
  /** Size of #pending in the unit `maxLength` counts. */
  #size = 0;
  readonly #timer: NodeJS.Timeout;

  /**
   * @param maxLength - Largest batch in UTF-16 units (at most 3 bytes each in UTF-8), or in
   *   UTF-8 bytes with `exactBytes`.
   * @param flushIntervalMs - The longest a line waits before it is written anyway.
   * @param exactBytes - Count bytes instead of UTF-16 units. Default false.
   */
  constructor(destination: SyncDestination, maxLength: number, flushIntervalMs: number, exactBytes = false) {
    this.#destination = destination;
    this.maxLength = maxLength;
    this.exactBytes = exactBytes;
    this.#timer = setInterval(() => this.#drain(), flushIntervalMs);
    // A quiet gateway must still be able to exit; the exit flush writes what waits.
    this.#timer.unref();
  }

  write(line: string): void {
    const size = this.exactBytes ? Buffer.byteLength(line) : line.length;
    if (this.#size + size > this.maxLength) this.#drain();
    this.#pending += line;
    this.#size += size;
  }

  /** Writes what waits; pino's `logger.flush(cb)` calls this. */
  flush(callback?: (error?: Error) => void): void {
    try {
      this.#drain();
    } catch (error) {
      callback?.(error as Error);
      return;
    }
    callback?.();
  }

  /** Writes what waits and flushes the destination, synchronously (for the exit flush). */
  flushSync(): void {
    this.#drain();
    this.#destination.flushSync();
  }

  /** Stops the interval timer (tests; the process-wide logger never closes). */
  close(): void {
    clearInterval(this.#timer);
    this.#drain();
  }

  #drain(): void {
    if (this.#pending === '') return;
    const batch = this.#pending;
    this.#pending = '';
    this.#size = 0;
    this.#destination.write(batch);
  }
}
