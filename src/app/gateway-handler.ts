/**
 * The proxy stage on the raw Node request and response: decide (route, IP, token), then stream to
 * the route's upstream. Works on `IncomingMessage`/`ServerResponse` directly rather than on Web
 * Request/Response objects, because converting every body to a Web Stream costs more per request
 * than the JWT check does (see issue 3's peer measurements). Writes exactly one log line per request.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { TokenKeyMemo } from '../auth/verified-token-cache.ts';
import type { Logger } from '../observability/logger.ts';
import type { Forwarder } from '../proxy/forward.ts';
import type { CompiledRoute } from '../policy/route.ts';
import { requestLogWriter } from '../observability/request-line.ts';
import { claimHeaders } from './claim-headers.ts';
import { decideNow, type Decision, type DecisionContext } from './decide.ts';
import { toGatewayError, writeError } from './error-response.ts';

export interface GatewayHandlerDeps {
  /** The current compiled policy set and issuer keys; re-read per request so a reload applies at once. */
  context(): DecisionContext;
  readonly forward: Forwarder;
  readonly clientIp: (peer: string | undefined, xff: string | string[] | undefined) => string;
  readonly isTrustedPeer: (peer: string | undefined) => boolean;
  readonly maxBodyBytes: number;
  readonly logger: Logger;
}

// A propagated request id is kept only if it is short and plain, so it cannot forge log fields.
const REQUEST_ID = /^[\w.:@-]{1,128}$/;

// Generated ids: a random prefix per process, then a counter. Unique across processes and
// restarts like a UUID (48 random bits per process), at the cost of an increment instead of
// `randomUUID` (~1.4 µs per request under load). Request ids identify, they are not secrets.
const ID_PREFIX = randomBytes(6).toString('hex');
let idCounter = 0;

export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  if (typeof given === 'string' && REQUEST_ID.test(given)) return given;
  idCounter += 1;
  return `${ID_PREFIX}-${idCounter.toString(36)}`;
}

/**
 * Every Authorization field of the request, from the raw header list (what Node's
 * `headersDistinct` gives, without building that object for all headers on every request):
 * two of them must be seen, since `req.headers` silently keeps one.
 */
export function authorizationFields(rawHeaders: readonly string[]): string[] | undefined {
  let found: string[] | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i];
    if (name !== undefined && name.length === 13 && name.toLowerCase() === 'authorization') {
      (found ??= []).push(rawHeaders[i + 1] ?? '');
    }
  }
  return found;
}

/**
 * The scheme the client used: a trusted proxy that terminated TLS says so in X-Forwarded-Proto;
 * anyone else is believed to have spoken plain HTTP to this listener.
 */
function forwardedProto(req: IncomingMessage): 'http' | 'https' {
  const given = req.headers['x-forwarded-proto'];
  return typeof given === 'string' && given.trim().toLowerCase() === 'https' ? 'https' : 'http';
}

export type GatewayHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

// One memo per connection (its last token's cache key), gone with the socket.
const keyMemos = new WeakMap<Socket, TokenKeyMemo>();

function keyMemoOf(socket: Socket): TokenKeyMemo {
  let memo = keyMemos.get(socket);
  if (memo === undefined) {
    memo = new TokenKeyMemo();
    keyMemos.set(socket, memo);
  }
  return memo;
}

export function createGatewayHandler(deps: GatewayHandlerDeps): GatewayHandler {
  const writeLine = requestLogWriter(deps.logger);
  return async function proxyRequest(req, res) {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const peer = req.socket.remoteAddress;
    const clientIp = deps.clientIp(peer, req.headers['x-forwarded-for']);
    const trustedPeer = deps.isTrustedPeer(peer);
    const method = req.method ?? 'GET';
    const seen: { route?: CompiledRoute; path?: string } = {};
    let decision: Decision | undefined;
    try {
      const decided = decideNow(
        {
          method,
          target: req.url ?? '/',
          hostHeader: req.headers.host,
          clientIp,
          authorization: authorizationFields(req.rawHeaders),
          keyMemo: keyMemoOf(req.socket),
        },
        deps.context(),
        undefined,
        seen,
      );
      // A cached token is decided synchronously: no await (a microtask) unless the token stage waits.
      decision = decided instanceof Promise ? await decided : decided;
      const result = await deps.forward(req, res, decision.route, {
        requestId,
        clientIp,
        trustedPeer,
        proto: trustedPeer ? forwardedProto(req) : 'http',
        path: decision.path,
        search: decision.search,
        claimHeaders: claimHeaders(decision.route, decision.principal?.claims),
        maxBodyBytes: deps.maxBodyBytes,
      });
      const failed = result.error;
      writeLine('info', {
        reqId: requestId,
        method,
        path: decision.path,
        route: decision.route.id,
        decision: result.clientAborted === true ? 'aborted' : failed === undefined ? 'forwarded' : 'failed',
        reason: result.clientAborted === true ? 'client_aborted' : failed?.code,
        status: result.status,
        ms: Math.round(performance.now() - started),
        // Microseconds are plenty, and a short number is cheaper to format than all 17 digits.
        upstreamMs: Math.round(result.upstreamMs * 1000) / 1000,
        clientIp,
        sub: decision.principal?.subject,
        clientId: decision.principal?.clientId,
        err: failed?.cause,
      });
    } catch (thrown) {
      const err = toGatewayError(thrown);
      writeError(res, err, requestId);
      writeLine(err.status >= 500 ? 'error' : 'info', {
        reqId: requestId,
        method,
        path: seen.path,
        route: seen.route?.id,
        decision: err.status >= 500 ? 'failed' : 'refused',
        reason: err.code,
        status: err.status,
        ms: Math.round(performance.now() - started),
        clientIp,
        sub: decision?.principal?.subject,
        clientId: decision?.principal?.clientId,
        err: err.status >= 500 ? (err.cause ?? err) : undefined,
      });
    }
  };
}
