/**
 * The one log line per request, written without pino's generic serializer when it can be.
 *
 * Every request writes this line, always with the same fields. pino serializes any object: it
 * walks the keys, looks up serializers and stringifiers per key, and runs the `log` formatter
 * (redaction). For this fixed shape that was about 6 µs of the gateway's ~165 µs per proxied
 * request (docs/performance.md). Here the line is concatenated directly, with pino's own level
 * prefix, timestamp function and bindings, so the output is the same line pino would write (the
 * tests compare the two, key order included).
 *
 * The shortcut is taken only for loggers made by `createLogger` (whose options are known: no
 * mixin, no hooks, no message prefix, and a `log` formatter that changes none of these keys), for
 * a destination that needs no metadata (not a multistream), and for lines without an error. Every
 * other line goes through pino.
 */
import { pino, type Logger } from 'pino';

export interface RequestLine {
  readonly reqId: string;
  readonly method: string;
  readonly path: string | undefined;
  readonly route: string | undefined;
  readonly decision: 'forwarded' | 'failed' | 'aborted' | 'refused';
  readonly reason: string | undefined;
  readonly status: number;
  readonly ms: number;
  readonly upstreamMs?: number | undefined;
  readonly clientIp: string;
  readonly sub: string | undefined;
  readonly clientId: string | undefined;
  /** Serialized by the logger's `err` serializer (scrubbed); forces pino's path. */
  readonly err?: unknown;
}

export type RequestLogWriter = (level: 'info' | 'error', line: RequestLine) => void;

/** Loggers whose options `createLogger` set, so the shortcut writes what pino would. */
const knownShape = new WeakSet<object>();

/** Marks a logger (and, through pino's prototype chain, its children) as made by `createLogger`. */
export function markRequestLineShape(logger: Logger): void {
  knownShape.add(logger);
}

// pino's internal slots. All are exported in `pino.symbols`; the type declarations omit a few.
const SYMBOLS = pino.symbols as unknown as Readonly<Record<string, symbol>>;
function slot(name: string): symbol {
  const found = SYMBOLS[name];
  if (found === undefined) throw new Error(`pino.symbols.${name} is missing`);
  return found;
}
const CHINDINGS = slot('chindingsSym');
const LEVEL_PREFIXES = slot('lsCacheSym');
const NEEDS_METADATA = slot('needsMetadataGsym');
const STREAM = slot('streamSym');
const TIME = slot('timeSym');
const HOOKS = slot('hooksSym');
const MIXIN = slot('mixinSym');
const MSG_PREFIX = slot('msgPrefixSym');

interface Destination {
  write(line: string): unknown;
}

function get<T>(owner: object, symbol: symbol): T {
  return (owner as Record<symbol, T>)[symbol] as T;
}

function madeByCreateLogger(logger: Logger): boolean {
  // Children inherit from their parent through the prototype chain.
  for (let o: object | null = logger; o !== null; o = Object.getPrototypeOf(o) as object | null) {
    if (knownShape.has(o)) return true;
  }
  return false;
}

// What JSON.stringify would escape: controls, quote, backslash, and surrogates (a lone one is
// written as \uXXXX). The expression tests each UTF-16 unit on its own, so a surrogate matches
// whether or not it is half of a pair.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** `,"key":` and the value as JSON.stringify writes it; `opening` is `,"key":"`. */
function escaped(opening: string, value: string): string {
  return NEEDS_ESCAPE.test(value) ? opening.slice(0, -1) + JSON.stringify(value) : opening + value + '"';
}

/**
 * `escaped` for one field of the line, remembering the last value that needed no escaping: most
 * fields repeat from line to line (the method, the route, the client, the caller), and a repeat
 * then costs one string comparison instead of a test of its characters. A value that needs
 * escaping is never remembered. This replaced one test over all the fields joined (the ninth
 * session's): the join, its flattening and the test of ~100 characters cost ~2,500 instructions
 * a line, the request id's test and the comparisons ~1,000 (docs/performance.md, "Tenth session").
 */
function lastPlain(): (opening: string, value: string) => string {
  let known = '';
  return (opening, value) => {
    if (value === known) return opening + value + '"';
    if (NEEDS_ESCAPE.test(value)) return opening.slice(0, -1) + JSON.stringify(value);
    known = value;
    return opening + value + '"';
  };
}

function num(value: number): string {
  return Number.isFinite(value) ? String(value) : 'null';
}

// Numbers a line usually holds, written once: a status, a duration in ms, and the fraction of a
// duration rounded to the microsecond ('' for none, '.5', '.05', '.123'). `String(n)` on a number
// goes through V8's number-to-string cache, which takes a new entry (and a write barrier into old
// space) for most durations, and prints a fraction with the shortest-round-trip algorithm; in the
// gateway under load that was ~1 µs of every line (docs/performance.md, "Eighth session").
const SMALL_INTS: readonly string[] = Array.from({ length: 1000 }, (_, n) => String(n));
const FRACTIONS: readonly string[] = Array.from({ length: 1000 }, (_, n) =>
  n === 0 ? '' : `.${String(n).padStart(3, '0')}`.replace(/0+$/, ''),
);

/** `num` for a whole number, from the table when it is below 1000. */
function int(value: number): string {
  return value >= 0 && value < 1000 && Number.isInteger(value)
    ? (SMALL_INTS[value] ?? num(value))
    : num(value);
}

/**
 * `num` for a duration the handler rounded to the microsecond (`upstreamMs`): the whole part and
 * the fraction from the tables. Anything else (not a whole number of microseconds, negative, or
 * huge) goes through `num`, so the text is always exactly `String(value)`.
 */
export function millis(value: number): string {
  const micros = Math.round(value * 1000);
  if (!(micros >= 0 && micros < 1e12 && micros / 1000 === value)) return num(value);
  const whole = Math.floor(micros / 1000);
  return int(whole) + (FRACTIONS[micros - whole * 1000] ?? '');
}

/**
 * A writer bound to `logger`. Checks the level on every call, so a level changed at run time
 * applies at once.
 */
export function requestLogWriter(logger: Logger): RequestLogWriter {
  const fast =
    madeByCreateLogger(logger) &&
    get<unknown>(logger, MIXIN) === undefined &&
    get<unknown>(logger, MSG_PREFIX) === undefined &&
    get<{ streamWrite?: unknown }>(logger, HOOKS).streamWrite === undefined;
  const levels = logger.levels.values;
  const prefixes = get<Readonly<Record<number, string>>>(logger, LEVEL_PREFIXES);
  const time = get<() => string>(logger, TIME);

  // One memory per field and writer (each logger has its own writer).
  const plain = {
    method: lastPlain(),
    path: lastPlain(),
    route: lastPlain(),
    reason: lastPlain(),
    clientIp: lastPlain(),
    sub: lastPlain(),
    clientId: lastPlain(),
  };
  return function writeRequestLine(level, line) {
    const value = levels[level] ?? 30;
    if (value < logger.levelVal) return;
    const stream = get<Destination>(logger, STREAM);
    if (!fast || line.err !== undefined || get<unknown>(stream, NEEDS_METADATA) === true) {
      logger[level](line, 'request');
      return;
    }
    // The same order pino writes: level, time, bindings, the object's defined keys, msg.
    // Bindings are read each time: `setBindings` may change them.
    let out = (prefixes[value] ?? '') + time() + get<string>(logger, CHINDINGS);
    out += escaped(',"reqId":"', line.reqId) + plain.method(',"method":"', line.method);
    if (line.path !== undefined) out += plain.path(',"path":"', line.path);
    if (line.route !== undefined) out += plain.route(',"route":"', line.route);
    out += ',"decision":"' + line.decision + '"';
    if (line.reason !== undefined) out += plain.reason(',"reason":"', line.reason);
    out += ',"status":' + int(line.status) + ',"ms":' + int(line.ms);
    if (line.upstreamMs !== undefined) out += ',"upstreamMs":' + millis(line.upstreamMs);
    out += plain.clientIp(',"clientIp":"', line.clientIp);
    if (line.sub !== undefined) out += plain.sub(',"sub":"', line.sub);
    if (line.clientId !== undefined) out += plain.clientId(',"clientId":"', line.clientId);
    stream.write(out + ',"msg":"request"}\n');
  };
}
