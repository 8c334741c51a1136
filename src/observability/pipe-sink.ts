/**
 * Where batches of log lines go when stdout is a pipe or a socket: in Kubernetes that is always
 * the case, the container runtime reads the container's stdout through a FIFO.
 *
 * Why not sonic-boom's asynchronous mode, which this replaced: every write of it is a job on
 * libuv's thread pool (fs.write), so each batch paid a hand-over to a worker thread and a
 * wake-up back on the gateway's core, and its `write` re-measured the growing pending string
 * for every line. Node already holds stdout as a non-blocking libuv stream when it is a pipe or
 * a socket (`process.stdout` is a net.Socket there, opened O_NONBLOCK): a write on it is tried
 * at once, on the calling thread, and queued in memory only when the pipe is full. Measured with
 * the gateway's log in a pipe (`npm run bench --compare`, medians of four alternating rounds):
 * 0.88× the CPU per request of the thread-pool writes on the anonymous route, 0.98× for S1, 0.96×
 * for S2 (docs/performance.md, "Sixth session").
 *
 * A stalled reader must never stop the gateway, and must not make it grow without bound either:
 * once more than `maxBacklogBytes` wait in the stream's queue, whole batches are dropped and
 * counted, and when the queue has drained `onDropped` is told how many lines were lost, so the
 * gap is visible in the log itself. A broken pipe (the reader went away) stops the writes for
 * good instead of crashing the process with an unhandled 'error' event.
 */
import type { SyncDestination } from './line-batcher.ts';

/** The part of a Node writable stream (process.stdout on a pipe) used here. */
export interface PipeStream {
  write(chunk: string): boolean;
  readonly writableLength: number;
  once(event: 'drain', listener: () => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
}

export interface PipeSinkOptions {
  /**
   * Bytes queued in the stream (unread by the pipe's reader) past which new batches are dropped
   * instead of queued. Default DEFAULT_MAX_BACKLOG_BYTES.
   */
  readonly maxBacklogBytes?: number;
}

/** 16 MiB: some 50,000 request lines, several seconds of a busy gateway's log. */
export const DEFAULT_MAX_BACKLOG_BYTES = 16 * 1024 * 1024;

function countLines(batch: string): number {
  let lines = 0;
  for (let i = batch.indexOf('\n'); i !== -1; i = batch.indexOf('\n', i + 1)) lines += 1;
  return lines;
}

export class PipeSink implements SyncDestination {
  readonly maxBacklogBytes: number;
  /**
   * Told, once the queue has drained, how many lines were dropped since the last report. Set
   * after construction: the logger that reports them is made after its destination.
   */
  onDropped: ((lines: number) => void) | undefined;
  readonly #stream: PipeStream;
  #dropped = 0;
  #awaitingDrain = false;
  #broken = false;

  constructor(stream: PipeStream, options: PipeSinkOptions = {}) {
    this.#stream = stream;
    this.maxBacklogBytes = options.maxBacklogBytes ?? DEFAULT_MAX_BACKLOG_BYTES;
    stream.on('error', () => {
      // EPIPE and the like: nobody reads the log any more. Serving goes on.
      this.#broken = true;
    });
  }

  /** Lines dropped and not yet reported. */
  get dropped(): number {
    return this.#dropped;
  }

  write(batch: string): void {
    if (this.#broken) return;
    if (this.#stream.writableLength > this.maxBacklogBytes) {
      this.#dropped += countLines(batch);
      if (!this.#awaitingDrain) {
        this.#awaitingDrain = true;
        this.#stream.once('drain', this.#report);
      }
      return;
    }
    this.#stream.write(batch);
  }

  /**
   * Nothing to do: `write` already tried the write on this thread, and what a full pipe left
   * queued cannot be forced out synchronously. A graceful stop does not need it either: the
   * queued write keeps the event loop, and so the process, alive until the reader took it.
   */
  flushSync(): void {}

  readonly #report = (): void => {
    this.#awaitingDrain = false;
    const lines = this.#dropped;
    this.#dropped = 0;
    if (lines > 0) this.onDropped?.(lines);
  };
}
