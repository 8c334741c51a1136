/**
 * Request target → the path the matcher sees and the upstream receives. We do NOT decode the
 * path: matching a decoded path and forwarding an encoded one is how path-confusion bypasses happen
 * (the gateway checks `/a/..%2Fadmin` as one thing, the upstream routes it as another). Instead we
 * refuse every form whose meaning differs between parsers, and canonicalise the rest per RFC 3986
 * §6.2.2 (upper-case hex; `%41` → `A` for unreserved characters) so one resource has one spelling.
 * The matcher and the upstream then see the very same string.
 *
 * Refused with `invalid_path`: `.`/`..` segments and empty segments (`//`, RFC 3986 §5.2.4 dot
 * removal and slash merging differ between servers), `%2F`/`%5C` (encoded slash/backslash), `%2E`
 * (encoded dot), raw backslash, NUL/`%00` and other control characters raw or encoded, malformed
 * `%`, and any character RFC 3986 §3.3 does not allow in a path (space, `"`, `<`, `{`, `|`,
 * non-ASCII, ...). Refused with `invalid_request`: a target that is neither origin-form nor
 * absolute-form (RFC 9112 §3.2), e.g. the asterisk-form `*`, and a target with a `#fragment`.
 */
import { GatewayError } from '../errors.ts';
import type { TraceSink } from './trace.ts';

export interface RequestTarget {
  /** Canonical, still percent-encoded path; always starts with `/`. */
  readonly path: string;
  /** `''` or the query including its leading `?`, as received. */
  readonly search: string;
  /** For absolute-form targets (RFC 9112 §3.2.2): the lower-cased `host[:port]`. */
  readonly authority?: string;
}

// Characters allowed raw in a path: RFC 3986 §3.3 pchar (unreserved, sub-delims, ':' '@') and '/'.
const PATH_CHAR = new Uint8Array(128);
for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~!$&'()*+,;=:@/") {
  PATH_CHAR[c.charCodeAt(0)] = 1;
}
const UNRESERVED = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_~') {
  UNRESERVED[c.charCodeAt(0)] = 1;
}
const ABSOLUTE_FORM = /^https?:\/\//i;
const AUTHORITY = /^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$/;

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

function invalidPath(reason: string, trace: TraceSink | undefined): GatewayError {
  trace?.step({ stage: 'path', check: 'target', ok: false, detail: reason });
  return new GatewayError('invalid_path', `Invalid request path: ${reason}.`);
}

function invalidRequest(reason: string, trace: TraceSink | undefined): GatewayError {
  trace?.step({ stage: 'path', check: 'target', ok: false, detail: reason });
  return new GatewayError('invalid_request', `Invalid request target: ${reason}.`);
}

/** Checks and canonicalises `raw` (the path part only); throws `invalid_path`. */
function canonicalPath(raw: string, trace: TraceSink | undefined): string {
  let out: string | undefined; // built only once something changes
  let copied = 0; // raw[0..copied) is already in `out`
  let segmentStart = 1;
  const length = raw.length;
  for (let i = 1; i <= length; i++) {
    const c = i < length ? raw.charCodeAt(i) : 47;
    if (c === 47) {
      const segmentLength = i - segmentStart;
      if (segmentLength === 0 && i < length) throw invalidPath('empty path segment (//)', trace);
      if (
        (segmentLength === 1 && raw.charCodeAt(segmentStart) === 46) ||
        (segmentLength === 2 &&
          raw.charCodeAt(segmentStart) === 46 &&
          raw.charCodeAt(segmentStart + 1) === 46)
      ) {
        throw invalidPath('dot segment', trace);
      }
      segmentStart = i + 1;
      continue;
    }
    if (c === 37) {
      const high = i + 2 < length ? hexValue(raw.charCodeAt(i + 1)) : -1;
      const low = high === -1 ? -1 : hexValue(raw.charCodeAt(i + 2));
      if (low === -1) throw invalidPath('malformed percent-encoding', trace);
      const byte = high * 16 + low;
      if (byte === 0x2f || byte === 0x5c) throw invalidPath('encoded slash or backslash', trace);
      if (byte === 0x2e) throw invalidPath('encoded dot', trace);
      if (byte === 0) throw invalidPath('NUL byte', trace);
      if (byte < 0x20 || byte === 0x7f) throw invalidPath('encoded control character', trace);
      const replacement = UNRESERVED[byte] === 1 ? String.fromCharCode(byte) : undefined;
      const upper = raw.slice(i, i + 3).toUpperCase();
      if (replacement !== undefined || upper !== raw.slice(i, i + 3)) {
        out = (out ?? '') + raw.slice(copied, i) + (replacement ?? upper);
        copied = i + 3;
      }
      i += 2;
      continue;
    }
    if (c < 128 && PATH_CHAR[c] === 1) continue;
    if (c === 92) throw invalidPath('backslash', trace);
    if (c === 0) throw invalidPath('NUL byte', trace);
    if (c < 0x20 || c === 0x7f) throw invalidPath('control character', trace);
    throw invalidPath('character not allowed in a path (RFC 3986 §3.3)', trace);
  }
  return out === undefined ? raw : out + raw.slice(copied);
}

/** The query is forwarded as received; only bytes no HTTP/1.1 request line may hold are refused. */
function checkQuery(search: string, trace: TraceSink | undefined): void {
  for (let i = 0; i < search.length; i++) {
    const c = search.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f)
      throw invalidRequest('control, space or non-ASCII character in the query', trace);
  }
}

/**
 * Splits and checks a request target (`req.url`).
 *
 * @param rawUrl the request-target exactly as received: origin-form `/p?q` or absolute-form
 *   `http://host/p?q` (RFC 9112 §3.2.1-2).
 * @param trace optional decision trace (stage `path`).
 * @throws GatewayError `invalid_path` or `invalid_request` (both 400).
 */
export function parseRequestTarget(rawUrl: string, trace?: TraceSink): RequestTarget {
  if (rawUrl.includes('#')) throw invalidRequest('fragment in the request target', trace);
  let authority: string | undefined;
  let rest = rawUrl;
  if (!rawUrl.startsWith('/')) {
    if (rawUrl === '*') throw invalidRequest('asterisk-form is not routed', trace);
    const scheme = ABSOLUTE_FORM.exec(rawUrl);
    if (scheme === null) throw invalidRequest('neither origin-form nor absolute-form', trace);
    const afterScheme = scheme[0].length;
    let end = afterScheme;
    while (end < rawUrl.length && rawUrl[end] !== '/' && rawUrl[end] !== '?') end++;
    authority = rawUrl.slice(afterScheme, end).toLowerCase();
    // RFC 9110 §4.2.4: userinfo in an http(s) URI is deprecated and a phishing tool; refuse it.
    if (!AUTHORITY.test(authority)) throw invalidRequest('invalid authority in absolute-form target', trace);
    rest = rawUrl.slice(end);
    if (!rest.startsWith('/')) rest = `/${rest}`;
  }
  const question = rest.indexOf('?');
  const rawPath = question === -1 ? rest : rest.slice(0, question);
  const search = question === -1 ? '' : rest.slice(question);
  const path = canonicalPath(rawPath, trace);
  checkQuery(search, trace);
  trace?.step({ stage: 'path', check: 'target', ok: true, detail: `path ${path}` });
  return authority === undefined ? { path, search } : { path, search, authority };
}
