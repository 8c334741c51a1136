/**
 * The forwarding stage: after the policy engine accepted a request, stream it to the route's
 * upstream with the connector's credential and stream the answer back. Built on undici's
 * `Pool.dispatch` with the raw Node request/response (no fetch(), no Web streams, no buffering).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { GatewayError, isGatewayError } from '../errors.ts';
import type { CompiledRoute } from '../policy/route.ts';
import type { CredentialProvider } from '../upstream/credential-provider.ts';
import type { CredentialRegistry } from '../upstream/credential-registry.ts';
import { checkDeclaredLength, methodForwardsBody } from './body-limit.ts';
import { CLIENT_CLOSED_STATUS, ForwardHandler, type ForwardResult } from './forward-handler.ts';
import { createPlanCache, type RoutePlan } from './route-plan.ts';
import {
  buildUpstreamRequestHead,
  type ForwardedFacts,
  type UpstreamRequestHead,
} from './upstream-headers.ts';
import type { UpstreamPools } from './upstream-pools.ts';

export type { ForwardResult } from './forward-handler.ts';

export interface ForwardOptions extends ForwardedFacts {
  /** Path as received, validated and normalised by the policy engine, before the rewrite. */
  readonly path: string;
  /** Query string as received: `''` or starting with `?`. */
  readonly search: string;
  /** Request body limit in bytes (setting GATEWAY_MAX_BODY_BYTES, default 1 GiB). */
  readonly maxBodyBytes: number;
}

export interface ForwarderDeps {
  readonly pools: UpstreamPools;
  readonly credentials: CredentialRegistry;
  /**
   * Bytes: a request body up to this size is buffered when the route's credential can be
   * renewed, so the request can be retried once after a 401 (setting
   * GATEWAY_CREDENTIAL_RETRY_BODY_BYTES). 0 = retry only requests without a body. Default 65536.
   */
  readonly retryBodyBytes?: number;
}

export type Forwarder = (
  req: IncomingMessage,
  res: ServerResponse,
  route: CompiledRoute,
  options: ForwardOptions,
) => Promise<ForwardResult>;

/**
 * Creates the forwarder. The returned function:
 * - rejects with a GatewayError when nothing was sent to the caller yet — `payload_too_large`
 *   (413, declared length over the limit, or a chunked body growing past it),
 *   `upstream_credential_unavailable` (503, the upstream got nothing), `upstream_unreachable`
 *   (502), `upstream_timeout` (504), `upstream_error` (502), `shutting_down` (503) — and the
 *   app renders it; `res` is untouched except a `Connection: close` header when the request
 *   body was not read to its end;
 * - resolves with a ForwardResult once the response was relayed, or when it failed after the
 *   response had started (`result.error`; the caller's connection was destroyed), or when the
 *   caller left (`result.clientAborted`; the upstream request was aborted).
 *
 * Note: undici destroys `req` when it is done with the body, which detaches `req.socket`;
 * read anything needed from the socket before calling.
 */
export function createForwarder(deps: ForwarderDeps): Forwarder {
  const planFor = createPlanCache(deps);
  const retryBodyBytes = deps.retryBodyBytes ?? 65_536;

  /** Sends the request upstream; the handler's promise settles when the forward ended. */
  const send = (
    req: IncomingMessage,
    res: ServerResponse,
    plan: RoutePlan,
    options: ForwardOptions,
    headers: string[],
    body: IncomingMessage | Buffer | null,
    hold: boolean,
  ): ForwardHandler => {
    const handler = new ForwardHandler(req, res, {
      maxBodyBytes: options.maxBodyBytes,
      credentialHeader: plan.headers.credentialHeader,
      holdUnauthorized: hold,
    });
    plan.pool.dispatch(
      {
        path: plan.rewrite(options.path, options.search),
        method: req.method ?? 'GET',
        headers,
        body,
        headersTimeout: plan.headersTimeoutMs,
        bodyTimeout: plan.bodyTimeoutMs,
      },
      handler,
    );
    return handler;
  };

  /** Everything after the credential is known. */
  const forwardWith = (
    req: IncomingMessage,
    res: ServerResponse,
    plan: RoutePlan,
    options: ForwardOptions,
    head: UpstreamRequestHead,
    hasBody: boolean,
    credential: string | undefined,
  ): Promise<ForwardResult> => {
    const provider = plan.credential;
    if (provider !== undefined && credential !== undefined) head.headers.push(provider.header, credential);
    // 401-then-retry: only when the credential can be renewed and the request can be sent again,
    // i.e. it has no body or a small one buffered here; a streamed body is never retried.
    const retryable =
      provider?.renew !== undefined &&
      credential !== undefined &&
      (!hasBody || (!head.chunked && head.contentLength <= retryBodyBytes));
    // Captured before dispatch: undici detaches `req.socket` when it is done with the body.
    const socket = req.socket as Socket | null;
    // The upstream refused the credential (RFC 9110 §15.5.2): renew it and retry once.
    const retryRenewed = async (
      first: ForwardHandler,
      result: ForwardResult,
      body: Buffer | null,
    ): Promise<ForwardResult> => {
      const renewed =
        provider?.renew === undefined || credential === undefined
          ? undefined
          : await provider.renew(credential).catch(() => undefined);
      if (callerGone(socket)) return { ...result, clientAborted: true };
      if (renewed === undefined || renewed === '') return first.relayHeld();
      const headers = [...head.headers];
      headers[headers.length - 1] = renewed;
      return send(req, res, plan, options, headers, body, false).promise;
    };
    const sendFirst = (body: IncomingMessage | Buffer | null): Promise<ForwardResult> => {
      // The caller may have left while the credential resolved: send nothing then.
      if (callerGone(socket)) return Promise.resolve(abandoned());
      const first = send(req, res, plan, options, head.headers, body, retryable);
      if (!retryable) return first.promise;
      // A retryable request's body is null or the buffered copy, never the stream.
      const again = body instanceof Buffer ? body : null;
      return first.promise.then((result) =>
        first.held === undefined ? result : retryRenewed(first, result, again),
      );
    };
    if (retryable && hasBody) {
      return readSmallBody(req).then((buffered) =>
        buffered === undefined ? abandoned() : sendFirst(buffered),
      );
    }
    return sendFirst(hasBody ? req : null);
  };

  // Not an async function: a request whose credential is at hand reaches undici without a
  // microtask, and its only promise is the handler's. Never throws; every failure rejects.
  return function forward(req, res, route, options) {
    try {
      const plan = planFor(route);
      const method = req.method ?? 'GET';
      const withBody = methodForwardsBody(method);
      const peerIp = options.trustedPeer ? peerAddress(req, options.clientIp) : options.clientIp;
      const head = buildUpstreamRequestHead(req.rawHeaders, plan.headers, options, peerIp, withBody);
      if (head.contentLength > options.maxBodyBytes) {
        // The caller may be sending the body right now: close after the 413 instead of having
        // Node read (and discard) up to the declared length to keep the connection.
        res.setHeader('connection', 'close');
        checkDeclaredLength(head.contentLength, options.maxBodyBytes);
      }
      const hasBody = withBody && (head.contentLength > 0 || head.chunked);
      const provider = plan.credential;
      const ready = provider?.ready?.();
      if (provider === undefined || ready !== undefined) {
        return forwardWith(req, res, plan, options, head, hasBody, ready);
      }
      return credentialValue(provider).then((value) =>
        forwardWith(req, res, plan, options, head, hasBody, value),
      );
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
  };
}

/**
 * Reads a request body whose declared length is within the retry buffer limit (and so within
 * GATEWAY_MAX_BODY_BYTES, checked before). Resolves undefined when the caller leaves first.
 */
function readSmallBody(req: IncomingMessage): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', () => resolve(undefined));
    req.once('close', () => {
      if (!req.complete) resolve(undefined);
    });
  });
}

/** The provider's value, never empty; any failure becomes `upstream_credential_unavailable`. */
async function credentialValue(provider: CredentialProvider): Promise<string> {
  let value: string;
  try {
    value = await provider.value();
  } catch (error) {
    if (isGatewayError(error) && error.code === 'upstream_credential_unavailable') throw error;
    throw new GatewayError('upstream_credential_unavailable', 'The upstream credential is unavailable.', {
      cause: error,
    });
  }
  if (value === '') {
    throw new GatewayError('upstream_credential_unavailable', 'The upstream credential is unavailable.', {
      cause: new Error(`credential ${provider.source} resolved to an empty value`),
    });
  }
  return value;
}

/** Captured before dispatch: undici detaches `req.socket` when it is done with the body. */
function callerGone(socket: Socket | null): boolean {
  return socket === null || socket.destroyed;
}

/** The TCP peer, as X-Forwarded-For writes it (IPv4-mapped IPv6 shown as IPv4). */
function peerAddress(req: IncomingMessage, fallback: string): string {
  const address = req.socket.remoteAddress;
  if (address === undefined) return fallback;
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address;
}

function abandoned(): ForwardResult {
  return {
    status: CLIENT_CLOSED_STATUS,
    upstreamMs: 0,
    totalMs: 0,
    bytesSent: 0,
    bytesReceived: 0,
    clientAborted: true,
  };
}
