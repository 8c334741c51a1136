/**
 * `connector-gateway serve`: settings from env and flags, start, print the effective settings
 * (no secrets), drain on SIGTERM/SIGINT and exit 0. With GATEWAY_WORKERS > 1 this process becomes
 * a cluster primary (`cluster-primary.ts`) and each worker it forks runs the same single-process
 * path (`cluster-worker.ts` and `cluster-log.ts` say what differs for a worker).
 */
import { describeSettings, loadSettings, type Settings } from '../config/settings.ts';
import { SETTING_SPECS } from '../config/setting-specs.ts';
import { startGateway, type StartOptions } from '../gateway.ts';
import { createLogger, flushLogger, type Logger } from '../observability/logger.ts';
import { createClusterLogger } from './cluster-log.ts';
import { resolveWorkerCount, runClusterPrimary } from './cluster-primary.ts';
import { isClusterWorker, runAsWorker, WORKER_WARM_UP_MS } from './cluster-worker.ts';
import { parseCommandArgs } from './usage.ts';

export function serveHelp(): string {
  const rows = SETTING_SPECS.map((s) => {
    const def = Array.isArray(s.default) ? s.default.join(',') : String(s.default ?? '(unset)');
    const unit = s.type === 'integer' ? ` [${s.unit}]` : '';
    return `  --${s.flag.padEnd(28)} ${s.env.padEnd(36)} default ${def === '' ? '(none)' : def}${unit}\n      ${s.help}`;
  });
  return `Usage: connector-gateway serve [options]

Runs the gateway. Every option can also be set with its environment variable; a flag wins.

${rows.join('\n')}
`;
}

export async function serveCommand(argv: string[]): Promise<number> {
  const args = parseCommandArgs(
    argv,
    SETTING_SPECS.map((s) => s.flag),
  );
  if (args.flags.has('help')) {
    process.stdout.write(serveHelp());
    return 0;
  }
  // Settings are checked here, in the primary too, so a bad value stops the start before any fork.
  const settings = loadSettings(process.env, args.values);
  if (isClusterWorker()) {
    const logger = createClusterLogger(settings.logLevel);
    return runAsWorker(() => serveProcess(settings, logger, { warmUpMs: WORKER_WARM_UP_MS }));
  }
  const workers = resolveWorkerCount(settings.workers);
  if (workers > 1) {
    const logger = createClusterLogger(settings.logLevel, 'primary');
    return runClusterPrimary({ workers, shutdownGraceSeconds: settings.shutdownGraceSeconds, logger });
  }
  return serveProcess(settings, createLogger({ level: settings.logLevel }));
}

/** The single-process gateway: serve until SIGTERM/SIGINT, drain, resolve 0. */
async function serveProcess(settings: Settings, logger: Logger, start: StartOptions = {}): Promise<number> {
  logger.info({ settings: describeSettings(settings) }, 'effective settings');
  const gateway = await startGateway(settings, logger, start);
  // The node flags, so an operator can see whether the shipped ones (node-flags.ts) are in effect.
  logger.info(
    { url: gateway.url, routes: gateway.policies().routes.length, nodeFlags: process.execArgv },
    'listening',
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, graceSeconds: settings.shutdownGraceSeconds }, 'draining');
      void gateway.shutdown(settings.shutdownGraceSeconds * 1000).then((finished) => {
        logger.info({ finished }, finished ? 'drained; exiting' : 'grace period over; exiting');
        flushLogger(logger);
        resolve(0);
      });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
