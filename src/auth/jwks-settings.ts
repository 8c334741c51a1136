/**
 * Timing settings of the issuer key stores, their defaults (the GATEWAY_JWKS_* settings) and
 * their validation. Checked once when the registry is built, so a bad value fails at start-up.
 */
import { ConfigError } from '../errors.ts';

export interface JwksSettings {
  /** Seconds keys are used before they are refetched (GATEWAY_JWKS_MAX_AGE_SECONDS, default 600). */
  readonly cacheMaxAgeSeconds: number;
  /** Seconds between refetches caused by an unknown kid or a failing IdP (GATEWAY_JWKS_COOLDOWN_SECONDS, default 30). */
  readonly cooldownSeconds: number;
  /** Seconds past max age the last good keys stay usable while the IdP fails (GATEWAY_JWKS_STALE_SECONDS, default 21600). */
  readonly staleSeconds: number;
  /** Milliseconds per discovery or JWKS request (GATEWAY_JWKS_TIMEOUT_MS, default 5000). */
  readonly timeoutMs: number;
  /** Milliseconds before the first retry of a failed initial load, doubled per attempt (default 1000). */
  readonly retryInitialMs: number;
  /** Milliseconds, the cap of that backoff (default 60000). */
  readonly retryMaxMs: number;
}

export const DEFAULT_JWKS_SETTINGS: JwksSettings = {
  cacheMaxAgeSeconds: 600,
  cooldownSeconds: 30,
  staleSeconds: 21600,
  timeoutMs: 5000,
  retryInitialMs: 1000,
  retryMaxMs: 60000,
};

const RANGES: Record<
  keyof JwksSettings,
  { readonly min: number; readonly max: number; readonly unit: string }
> = {
  cacheMaxAgeSeconds: { min: 1, max: 86400, unit: 'seconds' },
  cooldownSeconds: { min: 0, max: 86400, unit: 'seconds' },
  staleSeconds: { min: 0, max: 604800, unit: 'seconds' },
  timeoutMs: { min: 1, max: 120000, unit: 'milliseconds' },
  retryInitialMs: { min: 1, max: 3600000, unit: 'milliseconds' },
  retryMaxMs: { min: 1, max: 3600000, unit: 'milliseconds' },
};

/** Applies defaults and throws a ConfigError naming every out-of-range option with its unit and range. */
export function resolveJwksSettings(input: Partial<JwksSettings> = {}): JwksSettings {
  const settings = { ...DEFAULT_JWKS_SETTINGS, ...input };
  const problems: string[] = [];
  for (const [name, range] of Object.entries(RANGES) as [
    keyof JwksSettings,
    (typeof RANGES)[keyof JwksSettings],
  ][]) {
    const value = settings[name];
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      problems.push(
        `${name} must be an integer number of ${range.unit} in [${range.min}, ${range.max}], got ${value}`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(`invalid JWKS settings: ${problems.join('; ')}`, problems);
  return settings;
}
