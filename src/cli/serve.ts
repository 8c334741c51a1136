/**
 * `connector-gateway serve`: settings from env and flags, start, print the effective settings
 * (no secrets), drain on SIGTERM/SIGINT and exit 0.
 */
import { describeSettings, loadSettings } from '../config/settings.ts';
import { SETTING_SPECS } from '../config/setting-specs.ts';
import { startGateway } from '../gateway.ts';
import { createLogger, flushLogger } from '../observability/logger.ts';
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
  const settings = loadSettings(process.env, args.values);
  const logger = createLogger({ level: settings.logLevel });
  logger.info({ settings: describeSettings(settings) }, 'effective settings');
  const gateway = await startGateway(settings, logger);
  logger.info({ url: gateway.url, routes: gateway.policies().routes.length }, 'listening');

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
