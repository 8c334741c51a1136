/**
 * The header rules of forwarding, both directions. Per route we compile the set of names never
 * copied from the caller; per request we walk `rawHeaders` once and emit undici's flat
 * `[name, value, name, value, ...]` array, which it takes without re-shaping.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { CompiledRoute } from '../policy/route.ts';
import {
  addConnectionTokens,
  HOP_BY_HOP_HEADERS,
  isPlainConnection,
  namesExtraFields,
} from './hop-by-hop.ts';
import { registerUpstreamHeaderNames } from './undici-header-names.ts';

/** What a route never copies from the caller, compiled once. */
export interface RequestHeaderPlan {
  /** Lower-case names dropped from the inbound request. */
  readonly drop: ReadonlySet<string>;
  /** Lower-case name of the route's credential header, if it has a credential. */
  readonly credentialHeader: string | undefined;
}

/** Headers the gateway itself sets; a caller's copy is always dropped first. */
const GATEWAY_SET = ['x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'x-request-id'] as const;
registerUpstreamHeaderNames(GATEWAY_SET);

/**
 * Names never copied from the caller for a route: hop-by-hop fields; `host` (undici sends the
 * upstream's own); `authorization` unless `forwardToken`; the route's credential header and
 * `forwardClaims` headers (a caller must not smuggle in its own credential or claims); the
 * X-Forwarded-* and X-Request-Id the gateway sets; `forwarded` (RFC 7239), which the gateway
 * does not maintain, so a caller-supplied one would contradict X-Forwarded-For; and `expect`:
 * Node answers `100-continue` to the caller itself, and undici refuses the field.
 */
export function compileRequestHeaderPlan(route: CompiledRoute): RequestHeaderPlan {
  const drop = new Set<string>(HOP_BY_HOP_HEADERS);
  drop.add('host');
  drop.add('forwarded');
  drop.add('expect');
  for (const name of GATEWAY_SET) drop.add(name);
  if (!route.forwardToken) drop.add('authorization');
  const credentialHeader = route.upstream.credential?.header.toLowerCase();
  if (credentialHeader !== undefined) drop.add(credentialHeader);
  for (const claim of route.forwardClaims) drop.add(claim.header.toLowerCase());
  // Sent on every request of the route: known to undici, its check of each name is a lookup.
  registerUpstreamHeaderNames([
    ...(route.upstream.credential === undefined ? [] : [route.upstream.credential.header]),
    ...route.forwardClaims.map((claim) => claim.header),
  ]);
  return { drop, credentialHeader };
}

/** The facts about the caller the gateway states to the upstream. */
export interface ForwardedFacts {
  /** Address the app resolved for the caller. */
  readonly clientIp: string;
  /** The peer is a trusted proxy: keep its X-Forwarded-For and append the peer's address. */
  readonly trustedPeer: boolean;
  readonly proto: 'http' | 'https';
  readonly requestId: string;
  /** `[lower-case name, value]` pairs, set after the caller's copies were dropped. */
  readonly claimHeaders: readonly (readonly [string, string])[];
}

/** The outcome of walking the inbound headers. */
export interface UpstreamRequestHead {
  /** Flat `[name, value, ...]` for undici; the credential is appended by the forwarder. */
  readonly headers: string[];
  /** Declared `Content-Length`, or -1 when absent. */
  readonly contentLength: number;
  /** The caller sent `Transfer-Encoding` (a chunked body). */
  readonly chunked: boolean;
}

/**
 * Builds the upstream request headers from the caller's `rawHeaders` (original case kept).
 * X-Forwarded-For: from a trusted peer, its chain plus `peerIp` (the hop that connected to us,
 * as every proxy in the chain appends its own peer); otherwise just `facts.clientIp`, discarding
 * whatever the caller claimed.
 * Fields named in the caller's `Connection` are removed (RFC 9110 §7.6.1), but that can never
 * remove `content-length` (framing) or anything the gateway sets, because those are added after
 * the removal. `content-length` is copied only when `withBody` (undici frames the body from it).
 */
export function buildUpstreamRequestHead(
  rawHeaders: readonly string[],
  plan: RequestHeaderPlan,
  facts: ForwardedFacts,
  peerIp: string,
  withBody: boolean,
): UpstreamRequestHead {
  const out: string[] = [];
  const drop = plan.drop;
  let host: string | undefined;
  let forwardedFor: string | undefined;
  let contentLength = -1;
  let chunked = false;
  let connectionTokens: Set<string> | undefined;

  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string;
    const value = rawHeaders[i + 1] as string;
    const lower = name.toLowerCase();
    if (lower === 'content-length') {
      contentLength = Number(value);
      if (withBody) out.push(name, value);
    } else if (lower === 'transfer-encoding') {
      chunked = true;
    } else if (lower === 'host') {
      host = value;
    } else if (lower === 'x-forwarded-for') {
      // RFC 9110 §5.3: repeated fields combine as a comma-separated list, in order.
      forwardedFor = forwardedFor === undefined ? value : `${forwardedFor}, ${value}`;
    } else if (lower === 'connection') {
      if (isPlainConnection(value)) continue;
      connectionTokens ??= new Set();
      addConnectionTokens(value, connectionTokens);
    } else if (!drop.has(lower)) {
      out.push(name, value);
    }
  }

  if (connectionTokens !== undefined && namesExtraFields(connectionTokens, drop)) {
    removeConnectionNamed(out, connectionTokens);
  }

  const xff = facts.trustedPeer && forwardedFor !== undefined ? `${forwardedFor}, ${peerIp}` : facts.clientIp;
  out.push('x-forwarded-for', xff, 'x-forwarded-proto', facts.proto);
  if (host !== undefined) out.push('x-forwarded-host', host);
  out.push('x-request-id', facts.requestId);
  for (const [name, value] of facts.claimHeaders) out.push(name, value);
  return { headers: out, contentLength, chunked };
}

/** Removes, in place, every pair whose name is in `tokens`, except `content-length`. */
function removeConnectionNamed(out: string[], tokens: ReadonlySet<string>): void {
  let write = 0;
  for (let read = 0; read + 1 < out.length; read += 2) {
    const name = out[read] as string;
    const lower = name.toLowerCase();
    if (tokens.has(lower) && lower !== 'content-length') continue;
    out[write++] = name;
    out[write++] = out[read + 1] as string;
  }
  out.length = write;
}

/**
 * The upstream's response headers as a flat `[name, value, ...]` array for `res.writeHead`:
 * hop-by-hop fields and those the upstream names in its `Connection` are removed
 * (RFC 9110 §7.6.1), and so is the route's credential header, should an upstream echo it back.
 */
export function buildClientResponseHeaders(
  headers: IncomingHttpHeaders,
  credentialHeader: string | undefined,
): string[] {
  let connectionTokens: Set<string> | undefined;
  const connection = headers.connection;
  if (connection !== undefined && !(typeof connection === 'string' && isPlainConnection(connection))) {
    connectionTokens = new Set();
    for (const value of typeof connection === 'string' ? [connection] : connection) {
      addConnectionTokens(value, connectionTokens);
    }
  }
  const out: string[] = [];
  for (const name in headers) {
    // undici hands over lower-case names.
    if (HOP_BY_HOP_HEADERS.has(name) || name === credentialHeader) continue;
    if (connectionTokens?.has(name) === true && name !== 'content-length') continue;
    const value = headers[name];
    if (value === undefined) continue;
    if (typeof value === 'string') out.push(name, value);
    else for (const item of value) out.push(name, item);
  }
  return out;
}
