/**
 * The logging seam of the auth stage: the subset of pino's API the key stores use, so the lead can
 * pass the gateway's pino logger (or a child of it) and tests can pass a recorder.
 */
export interface Logger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** Drops everything; the default when no logger is given. */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
