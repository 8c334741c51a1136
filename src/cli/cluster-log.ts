/**
 * The logger of every process in cluster mode (GATEWAY_WORKERS > 1): the gateway's logger (same
 * redaction, format, level and destination, whose writes stay within PIPE_BUF so processes sharing
 * stdout never splice lines), with every line naming its process: `pid`, and `role: "primary"` on
 * the primary's lines, so an operator can tell N processes apart in one stream.
 */
import { createLogger, type Logger } from '../observability/logger.ts';

/**
 * @param level pino level name (GATEWAY_LOG_LEVEL).
 * @param role `primary` for the cluster primary; workers carry only their pid.
 */
export function createClusterLogger(level: string, role?: 'primary'): Logger {
  // Bindings rather than a child logger, so lines the logger writes itself (a pipe's
  // dropped-lines report) name the process too.
  return createLogger({
    level,
    sharedStdout: true,
    bindings: role === undefined ? { pid: process.pid } : { pid: process.pid, role },
  });
}
