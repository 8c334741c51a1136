/**
 * Process-wide settings: each from a `GATEWAY_*` env var or a CLI flag (the flag wins), checked
 * once at start. A bad value is a ConfigError that names the variable or flag, the unit and the
 * accepted range, so the operator can fix it without reading the source.
 */
import { ConfigError } from '../errors.ts';
import { SETTING_SPECS, type SettingSpec } from './setting-specs.ts';

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly policiesDir: string;
  readonly policyWatch: boolean;
  readonly trustedProxies: readonly string[];
  readonly logLevel: LogLevel;
  readonly shutdownGraceSeconds: number;
  readonly workers: number;
  readonly maxBodyBytes: number;
  /** Body bytes relayed between two young-generation GC hints; 0 = off (src/proxy/buffer-reclaim.ts). */
  readonly streamReclaimBytes: number;
  readonly maxHeaderBytes: number;
  readonly maxTokenBytes: number;
  readonly upstreamConnectTimeoutMs: number;
  readonly upstreamTimeoutMs: number;
  readonly jwksMaxAgeSeconds: number;
  readonly jwksCooldownSeconds: number;
  readonly jwksTimeoutMs: number;
  readonly jwksStaleSeconds: number;
  readonly redisUrl: string | undefined;
  readonly azureCredential: 'managed' | 'default';
  readonly keyVaultDisableChallengeResourceVerification: boolean;
  readonly keyVaultRefreshSeconds: number;
  readonly keyVaultTimeoutMs: number;
  readonly secretExpiryWarningDays: number;
  readonly secretRotationGraceSeconds: number;
  readonly credentialRetryBodyBytes: number;
}

/**
 * Reads settings from `env` and `flags` (flag name without `--` → value).
 * @throws ConfigError listing every bad value at once.
 */
export function loadSettings(
  env: Readonly<Record<string, string | undefined>>,
  flags: Readonly<Record<string, string | undefined>> = {},
): Settings {
  const problems: string[] = [];
  const out: Record<string, unknown> = {};
  for (const spec of SETTING_SPECS) {
    const fromFlag = flags[spec.flag];
    const raw = fromFlag ?? env[spec.env];
    const origin = fromFlag === undefined ? spec.env : `--${spec.flag}`;
    if (raw === undefined || raw === '') {
      out[spec.key] = spec.default;
      continue;
    }
    const parsed = parseValue(spec, raw.trim());
    if (parsed instanceof Problem) problems.push(`${origin}=${JSON.stringify(raw)}: ${parsed.message}`);
    else out[spec.key] = parsed;
  }
  for (const flag of Object.keys(flags)) {
    if (!SETTING_SPECS.some((s) => s.flag === flag)) problems.push(`--${flag}: unknown option`);
  }
  if (problems.length > 0) {
    throw new ConfigError(`invalid settings:\n  ${problems.join('\n  ')}`, problems);
  }
  return Object.freeze(out) as unknown as Settings;
}

class Problem {
  readonly message: string;
  constructor(message: string) {
    this.message = message;
  }
}

function parseValue(spec: SettingSpec, raw: string): unknown {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(raw)) return true;
      if (/^(false|0|no|off)$/i.test(raw)) return false;
      return new Problem('expected true or false');
    case 'integer': {
      if (!/^\d+$/.test(raw)) return new Problem(`expected a whole number (${spec.unit})`);
      const n = Number(raw);
      const [min, max] = spec.range;
      if (n < min || n > max) return new Problem(`expected ${min}..${max} (${spec.unit})`);
      return n;
    }
    case 'enum':
      return spec.values.includes(raw) ? raw : new Problem(`expected one of ${spec.values.join(', ')}`);
    case 'list': {
      const items = raw
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');
      const bad = items.filter((item) => !spec.item(item));
      return bad.length > 0 ? new Problem(`not ${spec.itemName}: ${bad.join(', ')}`) : Object.freeze(items);
    }
  }
}

/** The effective settings as a loggable object; URLs are shown without credentials. */
export function describeSettings(settings: Settings): Record<string, unknown> {
  const shown: Record<string, unknown> = { ...settings };
  if (settings.redisUrl !== undefined) shown['redisUrl'] = redactUrl(settings.redisUrl);
  return shown;
}

function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '[REDACTED]';
    if (url.username !== '') url.username = '[REDACTED]';
    return url.toString();
  } catch {
    return '[REDACTED]';
  }
}
