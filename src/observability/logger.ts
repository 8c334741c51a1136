/**
 * The gateway's pino logger. Redaction lives here, in the logger configuration, so no caller has
 * to remember it: Authorization, cookies, credential headers, tokens and secrets are replaced with
 * `[REDACTED]` wherever they appear under the listed paths, and error messages are scrubbed of
 * anything shaped like a JWT or a `Bearer` credential before they are written.
 */
import { fstatSync } from 'node:fs';
import { Socket } from 'node:net';
import { isatty } from 'node:tty';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { LineBatcher } from './line-batcher.ts';
import { PipeSink } from './pipe-sink.ts';
import { markRequestLineShape } from './request-line.ts';

export type { Logger } from 'pino';

const SECRET_KEYS = [
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
  'x-functions-key',
  'x-api-key',
  'api-key',
  'token',
  'accessToken',
  'access_token',
  'refreshToken',
  'idToken',
  'secret',
  'clientSecret',
  'client_secret',
  'password',
  'apiKey',
  'credential',
];

const SECRET_KEY_SET: ReadonlySet<string> = new Set(SECRET_KEYS);

/**
 * Replaces secret-named values with `[REDACTED]`: at the top level, one level down, and in a
 * `headers` object one level down (`req.headers.authorization`). Objects are copied only when they
 * hold a secret, so the usual request line costs one walk over its keys. This replaced pino's
 * path-based `redact`, which parsed every redact path against every field of every line and cost
 * more CPU than the whole proxy path (docs/performance.md).
 */
export function redactSecrets(obj: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let out: Record<string, unknown> | undefined;
  for (const key in obj) {
    const value = obj[key];
    let next: unknown = value;
    if (SECRET_KEY_SET.has(key)) next = '[REDACTED]';
    else if (
      value !== null &&
      typeof value === 'object' &&
      !(value instanceof Error) &&
      (depth === 0 || (depth === 1 && key === 'headers'))
    ) {
      next = redactSecrets(value as Record<string, unknown>, depth + 1);
    }
    if (next !== value) {
      out ??= Array.isArray(obj)
        ? ([...(obj as unknown[])] as unknown as Record<string, unknown>)
        : { ...obj };
      out[key] = next;
    }
  }
  return out ?? obj;
}

// Compact JWS (three base64url parts) and `Bearer xxx` credentials.
const TOKEN_PATTERN = /\b(eyJ[\w-]{4,}\.[\w-]{4,}\.[\w-]*)|(\bBearer\s+)[\w.~+/=-]+/gi;

/** Replaces JWT-shaped strings and Bearer credentials in free text. */
export function scrubSecrets(text: string): string {
  return text.replace(TOKEN_PATTERN, (_m, _jwt: string | undefined, bearer: string | undefined) =>
    bearer === undefined ? '[REDACTED]' : `${bearer}[REDACTED]`,
  );
}

function serializeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: scrubSecrets(String(err)) };
  const out: Record<string, unknown> = {
    type: err.name,
    message: scrubSecrets(err.message),
  };
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') out['code'] = code;
  if (err.stack !== undefined) out['stack'] = scrubSecrets(err.stack);
  if (err.cause !== undefined) out['cause'] = serializeError(err.cause);
  return out;
}

/** The three digits of a millisecond, '000' to '999', made once. */
const MILLIS: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));

/**
 * pino's `isoTime` field (`,"time":"<toISOString()>"`) for `ms` since the epoch, from the text of
 * its second, formatted when the second changes, and its millisecond from a table.
 *
 * Why not `toISOString` once per millisecond, as before: V8 formats a date through `vsnprintf` in
 * C++, ~7,000 instructions a call (valgrind's count), and a busy gateway logs in nearly every
 * millisecond, so it paid that a thousand times a second; now a change of second costs one call
 * and a change of millisecond one concatenation (docs/performance.md, "Ninth session").
 */
export class IsoTime {
  #second = NaN;
  /** `,"time":"YYYY-MM-DDTHH:MM:SS.` of #second. */
  #head = '';
  #ms = NaN;
  #stamp = '';

  at(ms: number): string {
    if (ms === this.#ms) return this.#stamp;
    // Date.now() is a whole number; anything else is formatted whole.
    if (!Number.isInteger(ms)) return `,"time":"${new Date(ms).toISOString()}"`;
    const second = Math.floor(ms / 1000);
    if (second !== this.#second) {
      const text = new Date(second * 1000).toISOString();
      this.#second = second;
      this.#head = `,"time":"${text.slice(0, -4)}`;
    }
    this.#ms = ms;
    this.#stamp = this.#head + MILLIS[ms - second * 1000] + 'Z"';
    return this.#stamp;
  }
}

const processTime = new IsoTime();
export function isoTimeCached(): string {
  return processTime.at(Date.now());
}

/**
 * Bytes: the largest write of log lines to stdout when several processes share it. POSIX
 * guarantees that a write of at most PIPE_BUF bytes to a pipe is not interleaved with another
 * process's writes (Linux: 4096), and with GATEWAY_WORKERS several processes share one stdout:
 * with 16 KiB writes and three workers behind a slow reader, 4 % of the lines came out spliced
 * into each other; capped, none did.
 */
export const PIPE_BUF = 4096;
/** Bytes of log lines gathered before one write into a terminal (sonic-boom requires it below the cap). */
export const LOG_BUFFER_BYTES = PIPE_BUF - 512;
/** Milliseconds: the longest a buffered line waits before it is written anyway. */
export const LOG_FLUSH_INTERVAL_MS = 200;

/**
 * How lines reach stdout:
 * - `sync`: a regular file (`serve > gateway.log` on a VM) or /dev/null. Such a write never waits
 *   on a reader, so it is made at once; an asynchronous write would be a job on libuv's thread
 *   pool, whose hand-over and completion wake-up cost more than the write itself when the gateway
 *   has one core. Measured with the log going to a file, in alternating runs: +4 to +12 % req/s
 *   (docs/performance.md).
 * - `stream`: a pipe or a socket, which is what a container runtime gives (Kubernetes reads the
 *   container's stdout through a FIFO). Node holds it as a non-blocking stream: a write is tried
 *   at once and queued only when the pipe is full (PipeSink), so a stalled reader never stops the
 *   gateway.
 * - `async`: a terminal, or anything unrecognised. Node makes a terminal's writes blocking, and a
 *   terminal paused with Ctrl-S must not stop the gateway: sonic-boom writes on the thread pool.
 */
export function stdoutWriteMode(fd: number): 'sync' | 'stream' | 'async' {
  try {
    const stat = fstatSync(fd);
    if (stat.isFile()) return 'sync';
    if (stat.isFIFO() || stat.isSocket()) return 'stream';
    return stat.isCharacterDevice() && !isatty(fd) ? 'sync' : 'async';
  } catch {
    return 'async';
  }
}

/**
 * Characters of log lines gathered before one write into a regular file, /dev/null, or a pipe
 * this process has to itself: no reader can see a write there spliced with another's, so writes
 * need not stay within PIPE_BUF, and a larger batch means fewer write syscalls (and, for a pipe,
 * fewer wake-ups of its reader). Several processes sharing one regular file's description still
 * write whole batches: Linux serialises writes to a regular file at a shared offset.
 */
export const LOG_FILE_BATCH_CHARS = 16 * 1024;

/**
 * The default destination: stdout, gathering whole lines into one write instead of one write per
 * line (one per request under load, each a syscall on the gateway's core), as `stdoutWriteMode`
 * says:
 * - `sync` and `stream`: `LineBatcher` gathers up to LOG_FILE_BATCH_CHARS characters (at most
 *   PIPE_BUF bytes into a pipe shared with other processes) and writes them at once; it writes
 *   what waits every LOG_FLUSH_INTERVAL_MS and on exit.
 * - `async` (a terminal): sonic-boom gathers about LOG_BUFFER_BYTES, at most PIPE_BUF per write,
 *   and its timer writes what waits every LOG_FLUSH_INTERVAL_MS; pino flushes it synchronously on
 *   exit.
 * So a quiet gateway's lines still appear at once to an operator, and a crash (uncaught
 * exception, a signal Node handles) still reaches the exit flush. Only a SIGKILL can lose the
 * last interval's lines, and a pipe whose reader has stalled can lose what is queued behind it
 * (PipeSink drops and counts lines past its backlog limit rather than grow without bound).
 *
 * @param sharedStdout - Other processes write to the same stdout (the cluster's workers).
 */
function stdoutDestination(sharedStdout: boolean): { stream: DestinationStream; pipe?: PipeSink } {
  const mode = stdoutWriteMode(1);
  if (mode === 'sync') {
    // maxWrite: a batch of LOG_FILE_BATCH_CHARS is at most three times as many bytes.
    const file = pino.destination({ dest: 1, sync: true, minLength: 0, maxWrite: 3 * LOG_FILE_BATCH_CHARS });
    return { stream: flushedOnExit(new LineBatcher(file, LOG_FILE_BATCH_CHARS, LOG_FLUSH_INTERVAL_MS)) };
  }
  if (mode === 'stream' && process.stdout instanceof Socket) {
    const pipe = new PipeSink(process.stdout);
    const batcher = sharedStdout
      ? new LineBatcher(pipe, PIPE_BUF, LOG_FLUSH_INTERVAL_MS, true)
      : new LineBatcher(pipe, LOG_FILE_BATCH_CHARS, LOG_FLUSH_INTERVAL_MS);
    return { stream: flushedOnExit(batcher), pipe };
  }
  const terminal = pino.destination({
    dest: 1,
    sync: false,
    minLength: LOG_BUFFER_BYTES,
    maxWrite: PIPE_BUF,
    periodicFlush: LOG_FLUSH_INTERVAL_MS,
  });
  return { stream: terminal };
}

/**
 * pino registers its exit flush only for its own asynchronous destinations; lines waiting in a
 * batcher need one too, or a crash loses them.
 *
 * Two flushes. When the event loop runs dry ('beforeExit'), what waits is written while the
 * process can still wait: into a pipe whose reader is behind, the write is queued and keeps the
 * process alive until the reader takes it. At 'exit' nothing can wait any more, and a write into a
 * full pipe is lost; that flush is for the ways out that skip 'beforeExit' (`process.exit`, an
 * uncaught exception). A line logged as the last work of a process (the report of lines dropped
 * behind a stalled reader, written when the reader catches up) was lost that way under load.
 */
function flushedOnExit(batcher: LineBatcher): LineBatcher {
  // Emitted each time the loop runs dry; with nothing waiting the flush writes nothing and the
  // process exits.
  process.on('beforeExit', () => batcher.flush());
  process.once('exit', () => {
    try {
      batcher.flushSync();
    } catch {
      // A closed stdout cannot be flushed; nothing else to do on the way out.
    }
  });
  return batcher;
}

export interface LoggerSettings {
  level: string;
  /** Where lines go; default stdout (see `stdoutDestination`). */
  destination?: DestinationStream;
  /**
   * Other processes write to the same stdout (GATEWAY_WORKERS > 1), so writes into a pipe stay
   * within PIPE_BUF. Default false.
   */
  sharedStdout?: boolean;
  /** Fields on every line, after `service` (the cluster's `pid` and `role`). Default none. */
  bindings?: Readonly<Record<string, string | number>>;
}

export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level,
    base: { service: 'connector-gateway', ...settings.bindings },
    timestamp: isoTimeCached,
    serializers: { err: serializeError, error: serializeError },
    formatters: { level: (label) => ({ level: label }), log: (obj) => redactSecrets(obj) },
  };
  const stdout =
    settings.destination === undefined ? stdoutDestination(settings.sharedStdout === true) : undefined;
  const logger = pino(options, settings.destination ?? stdout?.stream);
  if (stdout?.pipe !== undefined) {
    // After a stall of the log's reader: say in the log itself how many lines it is missing.
    stdout.pipe.onDropped = (droppedLines) =>
      logger.warn({ droppedLines }, 'log lines dropped: stdout was not read fast enough');
  }
  // request-line.ts writes the per-request line itself for loggers with exactly these options.
  markRequestLineShape(logger);
  return logger;
}

/** Flush an asynchronous destination before the process exits. */
export function flushLogger(logger: Logger): void {
  try {
    logger.flush();
  } catch {
    // A closed stdout cannot be flushed; nothing else to do on the way out.
  }
}
