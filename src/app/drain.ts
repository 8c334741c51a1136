/**
 * Graceful shutdown: count in-flight requests; on close stop accepting, answer what is in flight
 * (with `Connection: close`, so keep-alive clients reconnect to another replica), and give up
 * after the grace period. Kubernetes sends SIGTERM and waits terminationGracePeriodSeconds.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export class Drain {
  #inflight = 0;
  #draining = false;
  #idle: (() => void) | undefined;

  get draining(): boolean {
    return this.#draining;
  }

  get inflight(): number {
    return this.#inflight;
  }

  readonly #done = (): void => {
    this.#inflight -= 1;
    if (this.#inflight === 0) this.#idle?.();
  };

  /** Wraps a handler so its requests are counted until the response is closed. */
  track(handler: Handler): Handler {
    return (req, res) => {
      this.#inflight += 1;
      // 'close' fires once for finished and for aborted responses alike. One bound listener for
      // all requests: no closure (and no `once` wrapper) per request.
      res.on('close', this.#done);
      if (this.#draining) res.setHeader('connection', 'close');
      return handler(req, res);
    };
  }

  /**
   * Stops accepting connections and waits up to `graceMs` for in-flight requests.
   * @returns true if every request finished within the grace period.
   */
  async close(server: Server, graceMs: number): Promise<boolean> {
    this.#draining = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    // Connections that finish a response during the drain become idle; close them as they do.
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    const idle =
      this.#inflight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            this.#idle = resolve;
          });
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), graceMs);
    });
    const finished = await Promise.race([idle.then(() => true as const), timedOut]);
    clearTimeout(timer);
    clearInterval(sweeper);
    server.closeAllConnections();
    await closed;
    return finished;
  }
}
