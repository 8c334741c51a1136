/**
 * `serve` with GATEWAY_WORKERS > 1 on a multi-core VM: this process becomes a node:cluster primary
 * that serves nothing and loads no policies. It forks the workers (same argv, env and execArgv;
 * each runs the single-process serve path and listens on the shared socket, which the primary
 * accepts on and hands out in turn), and then only supervises:
 *
 * - Start: one worker first, the rest once it listens, so a start-up error (bad policies, port in
 *   use) is printed once rather than N times. A worker that exits before it listens stops the
 *   gateway with exit 1: restarting cannot fix a bad policy directory or a port in use.
 * - Crash: a worker that dies while serving is replaced, within RestartBudget (as many
 *   replacements as there are workers per 10 s); past it the primary stops and exits 1, so the
 *   supervisor sees the crash loop instead of a primary that restarts forever.
 * - SIGTERM/SIGINT: every worker gets SIGTERM and drains exactly as a single process does
 *   (GATEWAY_SHUTDOWN_GRACE_SECONDS); the primary exits 0 once all of them exited 0, else 1.
 *
 * In Kubernetes keep one process per container (GATEWAY_WORKERS=1) and scale with replicas.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { flushLogger, type Logger } from '../observability/logger.ts';
import { RestartBudget } from './restart-budget.ts';

export interface ClusterPrimaryOptions {
  /** Worker processes to keep running; at least 2 (1 is the single-process path). */
  readonly workers: number;
  /** Seconds, 0..3600: how long each worker may drain on SIGTERM (GATEWAY_SHUTDOWN_GRACE_SECONDS). */
  readonly shutdownGraceSeconds: number;
  readonly logger: Logger;
}

/** Milliseconds: how long a restart counts against the crash-loop limit. */
export const RESTART_WINDOW_MS = 10_000;

/**
 * Milliseconds past the drain after which a worker that has not exited is killed: a worker needs
 * a moment after its drain to close pools and flush its log, but must not hold the stop forever.
 */
const EXIT_MARGIN_MS = 5_000;

/** GATEWAY_WORKERS → process count: 0 means one per core (`os.availableParallelism()`). */
export function resolveWorkerCount(setting: number, cores: number = availableParallelism()): number {
  return setting === 0 ? cores : setting;
}

/** Runs the primary until every worker has exited; resolves with the process exit code. */
export function runClusterPrimary(options: ClusterPrimaryOptions): Promise<number> {
  const { workers, logger } = options;
  const graceMs = options.shutdownGraceSeconds * 1000;
  const budget = new RestartBudget({ limit: workers, windowMs: RESTART_WINDOW_MS });
  const alive = new Set<Worker>();
  const listening = new Set<Worker>();
  let restForked = false;
  let startingInitial = true;
  let stopping = false;
  let exitCode = 0;
  let killTimer: NodeJS.Timeout | undefined;
  let finish!: (code: number) => void;
  const done = new Promise<number>((resolve) => (finish = resolve));

  const fork = (): void => {
    const worker = cluster.fork();
    alive.add(worker);
    worker.once('listening', () => onListening(worker));
    worker.once('exit', (code: number | null, signal: NodeJS.Signals | null) => onExit(worker, code, signal));
  };

  const onListening = (worker: Worker): void => {
    listening.add(worker);
    if (stopping) return;
    if (!restForked) {
      // The first worker got through loading the policies and binding the port: start the rest.
      restForked = true;
      for (let i = 1; i < workers; i++) fork();
    }
    if (!startingInitial) {
      logger.info({ workerPid: worker.process.pid }, 'replacement worker listening');
    } else if (listening.size === workers) {
      startingInitial = false;
      const pids = [...listening].map((w) => w.process.pid);
      logger.info({ workers, workerPids: pids }, 'all workers listening');
    }
  };

  const onExit = (worker: Worker, code: number | null, signal: NodeJS.Signals | null): void => {
    alive.delete(worker);
    const served = listening.delete(worker);
    const detail = { workerPid: worker.process.pid, code, signal };
    if (stopping) {
      // A worker still starting when SIGTERM came has no handler yet and dies of the signal.
      const clean = code === 0 || (!served && signal === 'SIGTERM');
      if (!clean) exitCode = 1;
      if (clean) logger.info(detail, 'worker exited');
      else logger.error(detail, 'worker did not exit cleanly');
      if (alive.size === 0) end();
      return;
    }
    if (!served) {
      logger.error(detail, 'worker failed to start (its error is above); stopping the gateway');
      stop(1);
      return;
    }
    if (!budget.take()) {
      logger.error(
        { ...detail, restarts: budget.used, windowSeconds: RESTART_WINDOW_MS / 1000 },
        'worker exited; restart limit reached, stopping the gateway',
      );
      stop(1);
      return;
    }
    // Exit code 0 means someone stopped the worker directly (e.g. SIGTERM to its pid): not a crash.
    if (code === 0) logger.warn(detail, 'worker exited; starting a replacement');
    else logger.error(detail, 'worker exited unexpectedly; starting a replacement');
    fork();
  };

  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    exitCode = Math.max(exitCode, code);
    for (const worker of alive) worker.process.kill('SIGTERM');
    killTimer = setTimeout(() => {
      for (const worker of alive) {
        logger.error({ workerPid: worker.process.pid }, 'worker still running after the drain; killing it');
        worker.process.kill('SIGKILL');
      }
      exitCode = 1;
    }, graceMs + EXIT_MARGIN_MS);
    if (alive.size === 0) end();
  };

  // SIGINT is forwarded as SIGTERM: Ctrl-C in a terminal already sent SIGINT to every worker (one
  // process group), and serve handles each signal once, so a second SIGINT would kill a worker
  // mid-drain. A worker that gets both drains once.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    logger.info({ signal, graceSeconds: options.shutdownGraceSeconds }, 'stopping workers');
    stop(0);
  };

  const end = (): void => {
    clearTimeout(killTimer);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    logger.info({ exitCode }, 'all workers exited');
    flushLogger(logger);
    finish(exitCode);
  };

  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  logger.info({ workers }, 'starting workers');
  fork();
  return done;
}
