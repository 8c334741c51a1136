/**
 * The undici dispatch handler of one forwarded request: it relays the upstream response to the
 * caller's ServerResponse chunk by chunk (pausing the upstream when the caller is slow), counts
 * the request body as undici sends it, and turns every way a forward can end into exactly one
 * settled promise.
 *
 * Invariants (fastify-reply-from style):
 * - at most one response is started on `res`; after it started, a failure destroys the caller's
 *   connection (a truncated body must look truncated) and is reported, never re-rendered;
 * - the caller leaving (socket closed before the response finished) aborts the upstream request;
 * - the request body is never buffered here: undici reads `req` (or the small buffered copy
 *   forward.ts made for a credential retry) with backpressure;
 * - with `holdUnauthorized`, a 401 is held back instead of relayed (headers and up to
 *   HOLD_LIMIT_BYTES of body) so forward.ts can renew the credential and retry; it relays the
 *   held answer itself (`relayHeld`) when there is nothing to retry with.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Dispatcher } from 'undici';
import { GatewayError } from '../errors.ts';
import { tooLarge } from './body-limit.ts';
import { noteRelayedBytes } from './buffer-reclaim.ts';
import { toGatewayError } from './transport-errors.ts';
import { buildClientResponseHeaders } from './upstream-headers.ts';

/** How a forward ended, for the caller's log line. */
export interface ForwardResult {
  /** Status sent to the caller: the upstream's, or 499 when the caller left before any response. */
  readonly status: number;
  /** Milliseconds from dispatch to the upstream's response headers (or to the failure). */
  readonly upstreamMs: number;
  /** Milliseconds from dispatch to the end of the relayed response (or to the failure). */
  readonly totalMs: number;
  /** Request body bytes sent upstream. */
  readonly bytesSent: number;
  /** Response body bytes relayed to the caller. */
  readonly bytesReceived: number;
  /** A failure after the response had started; the caller's connection was destroyed. */
  readonly error?: GatewayError;
  /** The caller closed the connection before the response was complete; the upstream was aborted. */
  readonly clientAborted?: boolean;
}

/** Status logged when the caller leaves before any response (nginx's convention). */
export const CLIENT_CLOSED_STATUS = 499;

export interface ForwardHandlerOptions {
  /** Request body limit in bytes. */
  readonly maxBodyBytes: number;
  /** Lower-case credential header never relayed back to the caller. */
  readonly credentialHeader: string | undefined;
  /** Hold a 401 back (see `held`) instead of relaying it. Default false. */
  readonly holdUnauthorized?: boolean;
}

/** A 401 held back for a credential retry. */
export interface HeldResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly chunks: Buffer[];
  bytes: number;
}

/** Largest 401 body held back (bytes); a larger one is relayed as it comes, without a retry. */
export const HOLD_LIMIT_BYTES = 64 * 1024;

export class ForwardHandler implements Dispatcher.DispatchHandler {
  readonly promise: Promise<ForwardResult>;
  readonly #req: IncomingMessage;
  readonly #res: ServerResponse;
  readonly #socket: Socket | null;
  readonly #options: ForwardHandlerOptions;
  readonly #resolve: (result: ForwardResult) => void;
  readonly #reject: (error: GatewayError) => void;
  readonly #startedAt = performance.now();
  #controller: Dispatcher.DispatchController | undefined;
  /** Set when we abort before undici handed us a controller. */
  #pendingAbort: Error | undefined;
  #headersAt = 0;
  #status = 0;
  #bytesSent = 0;
  #bytesReceived = 0;
  #clientGone = false;
  #settled = false;
  #held: HeldResponse | undefined;
  #heldComplete = false;
  #drainListening = false;
  /** The upstream's declared Content-Length, or -1: the chunk that completes it ends `res`. */
  #declaredBytes = -1;
  #ended = false;

  constructor(req: IncomingMessage, res: ServerResponse, options: ForwardHandlerOptions) {
    this.#req = req;
    this.#res = res;
    // Captured now: undici detaches `req.socket` when it destroys the body stream.
    this.#socket = req.socket;
    this.#options = options;
    const { promise, resolve, reject } = Promise.withResolvers<ForwardResult>();
    this.promise = promise;
    this.#resolve = resolve;
    this.#reject = reject;
    // Left in place after the forward settles (#onClose checks #settled): removing listeners
    // costs more per request than the check, and `res` lives no longer than this request.
    res.on('close', this.#onClose);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#pendingAbort !== undefined) controller.abort(this.#pendingAbort);
  }

  onBodySent(chunk: Buffer): void {
    this.#bytesSent += chunk.length;
    noteRelayedBytes(chunk.length);
    // Only a chunked body can get here over the limit: Node's parser stops a declared-length
    // body at its Content-Length, which was checked before dispatch. The upstream sees at most
    // one chunk past the limit and never a complete request (its socket is destroyed).
    if (this.#bytesSent > this.#options.maxBodyBytes) this.#abort(tooLarge());
  }

  onResponseStart(
    _controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx interim responses are hop-by-hop here: Node already answered the caller's
    // `Expect: 100-continue`, and 103 Early Hints are not relayed.
    if (statusCode < 200) return;
    this.#headersAt = performance.now();
    this.#status = statusCode;
    if (statusCode === 401 && this.#options.holdUnauthorized === true) {
      this.#held = { status: statusCode, headers, chunks: [], bytes: 0 };
      return;
    }
    const length = headers['content-length'];
    if (typeof length === 'string') this.#declaredBytes = declaredLength(length);
    try {
      this.#res.writeHead(statusCode, buildClientResponseHeaders(headers, this.#options.credentialHeader));
    } catch (error) {
      // Thrown back into undici, which aborts the upstream and calls onResponseError.
      throw new GatewayError('upstream_error', 'The upstream sent a header that cannot be relayed.', {
        cause: error,
      });
    }
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const held = this.#held;
    if (held !== undefined) {
      held.chunks.push(chunk);
      held.bytes += chunk.length;
      // Too large to hold: relay what came so far and stream the rest, without a retry.
      if (held.bytes > HOLD_LIMIT_BYTES && !this.#releaseHeld()) this.#pause(controller);
      return;
    }
    this.#bytesReceived += chunk.length;
    noteRelayedBytes(chunk.length);
    if (this.#bytesReceived === this.#declaredBytes) {
      // The last chunk (undici's parser never passes more than the declared length): head, body
      // and end go out in one corked write, without the separate write()'s deferred uncork.
      this.#ended = true;
      this.#res.end(chunk);
      return;
    }
    // Backpressure: stop reading the upstream socket until the caller's socket drains.
    if (!this.#res.write(chunk)) this.#pause(controller);
  }

  onResponseEnd(): void {
    this.#settle();
    if (this.#held !== undefined) {
      // forward.ts decides: retry with a renewed credential, or `relayHeld()`.
      this.#heldComplete = true;
      this.#resolve(this.#result(undefined));
      return;
    }
    // Upstream trailers are not relayed (they would need `TE: trailers` from the caller).
    if (!this.#ended) this.#res.end();
    this.#resolve(this.#result(undefined));
  }

  /** The 401 held back, once the upstream finished sending it; undefined otherwise. */
  get held(): HeldResponse | undefined {
    return this.#heldComplete ? this.#held : undefined;
  }

  /** Relays the held 401 to the caller (nothing to retry with); returns the final result. */
  relayHeld(): ForwardResult {
    const held = this.#held;
    this.#held = undefined;
    if (held !== undefined && !this.#res.destroyed) {
      try {
        this.#res.writeHead(
          held.status,
          buildClientResponseHeaders(held.headers, this.#options.credentialHeader),
        );
      } catch (error) {
        this.#res.destroy();
        const cause = { cause: error };
        return this.#result(
          new GatewayError('upstream_error', 'The upstream sent a header that cannot be relayed.', cause),
        );
      }
      for (const chunk of held.chunks) this.#res.write(chunk);
      this.#bytesReceived += held.bytes;
      this.#res.end();
    }
    return this.#result(undefined);
  }

  /** Writes the held head and body to the caller; false when the caller's buffer is full. */
  #releaseHeld(): boolean {
    const held = this.#held;
    this.#held = undefined;
    if (held === undefined) return true;
    try {
      this.#res.writeHead(
        held.status,
        buildClientResponseHeaders(held.headers, this.#options.credentialHeader),
      );
    } catch (error) {
      // Thrown back into undici, which aborts the upstream and calls onResponseError.
      throw new GatewayError('upstream_error', 'The upstream sent a header that cannot be relayed.', {
        cause: error,
      });
    }
    let writable = true;
    for (const chunk of held.chunks) writable = this.#res.write(chunk);
    this.#bytesReceived += held.bytes;
    return writable;
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.#settled) return;
    this.#settle();
    const res = this.#res;
    if (this.#clientGone || this.#socket?.destroyed === true) {
      res.destroy();
      this.#resolve({ ...this.#result(undefined), clientAborted: true });
      return;
    }
    const failure = toGatewayError(error);
    if (res.headersSent) {
      // The caller already has a status line: a second response is impossible, and ending
      // normally would pass a truncated body off as complete.
      res.destroy();
      this.#resolve(this.#result(failure));
      return;
    }
    // The caller may still be uploading: close after the error response instead of reading
    // (up to maxBodyBytes of) a body nobody will use.
    if (!this.#req.complete) res.setHeader('connection', 'close');
    this.#reject(failure);
  }

  /** Aborts the upstream request now, or as soon as undici starts it. */
  #abort(reason: Error): void {
    if (this.#controller === undefined) this.#pendingAbort ??= reason;
    else this.#controller.abort(reason);
  }

  /** Pauses the upstream until the caller's socket drains; the listener is added on first use. */
  #pause(controller: Dispatcher.DispatchController): void {
    if (!this.#drainListening) {
      this.#drainListening = true;
      this.#res.on('drain', this.#onDrain);
    }
    controller.pause();
  }

  readonly #onDrain = (): void => {
    if (this.#controller?.paused === true) this.#controller.resume();
  };

  readonly #onClose = (): void => {
    if (this.#settled) return;
    // Nobody will read the answer: stop the upstream's work and free the pooled connection.
    this.#clientGone = true;
    this.#abort(new Error('The caller closed the connection.'));
  };

  #settle(): void {
    this.#settled = true;
    if (this.#drainListening) this.#res.off('drain', this.#onDrain);
  }

  #result(error: GatewayError | undefined): ForwardResult {
    const now = performance.now();
    const status = this.#status === 0 ? CLIENT_CLOSED_STATUS : this.#status;
    const result: ForwardResult = {
      status,
      upstreamMs: (this.#headersAt === 0 ? now : this.#headersAt) - this.#startedAt,
      totalMs: now - this.#startedAt,
      bytesSent: this.#bytesSent,
      bytesReceived: this.#bytesReceived,
    };
    return error === undefined ? result : { ...result, error };
  }
}

/** A Content-Length value as a byte count, or -1 when it is not a plain decimal number. */
function declaredLength(value: string): number {
  return /^\d{1,15}$/.test(value) ? Number(value) : -1;
}
