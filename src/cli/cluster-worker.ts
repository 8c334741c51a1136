/**
 * What changes for `serve` when it runs as a node:cluster worker (GATEWAY_WORKERS > 1). The serve
 * path itself is the single-process one; besides its logger (`cluster-log.ts`), a worker only has
 * to close its IPC channel to the primary when serve returns, or the channel would keep the process
 * alive after the drain (and after a failed start).
 */
import cluster from 'node:cluster';

/**
 * Milliseconds a worker waits for its issuer keys and credentials before it listens: the primary
 * hands a worker connections as soon as it listens, with no readiness probe in between, so a
 * replacement worker listening at once would answer its first token requests with 503
 * `issuer_unavailable`. Past this it listens anyway (IdP down: the same 503s as a single process).
 */
export const WORKER_WARM_UP_MS = 10_000;

/**
 * Whether this process is a cluster worker forked by `runClusterPrimary`. A worker ignores
 * GATEWAY_WORKERS (it sees the same env and argv as the primary) and serves as a single process.
 */
export function isClusterWorker(): boolean {
  return cluster.isWorker;
}

/**
 * Runs `serve` as a worker: resolves or rejects with it, and in both cases disconnects from the
 * primary so the process can exit with the code the CLI sets.
 */
export async function runAsWorker<T>(serve: () => Promise<T>): Promise<T> {
  try {
    return await serve();
  } finally {
    cluster.worker?.disconnect();
  }
}
