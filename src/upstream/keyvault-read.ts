/**
 * One read of a Key Vault secret, as the gateway wants it: the newest version that is enabled
 * and inside its `nbf`/`exp` window. Key Vault returns the latest version of a versionless GET even
 * when it is not yet valid or expired, and refuses a disabled one with 403 `SecretDisabled`; in
 * those cases the versions listing (followed through `nextLink`) finds the newest usable older
 * version. A pinned version is used only when it is usable itself.
 *
 * Every failure is classified (`ReadFailure.outcome`) so the caller can tell a secret that must
 * not be used (`permanent`) from a vault or identity endpoint that is failing (serve stale).
 */
import type { KeyVaultSecret, SecretProperties } from '@azure/keyvault-secrets';
import { scrubSecrets } from '../observability/logger.ts';
import { parseRetryAfter } from './backoff.ts';
import type { SecretReader } from './keyvault-clients.ts';

export type ReadOutcome =
  | 'ok'
  | 'disabled'
  | 'expired'
  | 'not_yet_valid'
  | 'invalid_value'
  | 'not_found'
  | 'forbidden'
  | 'unauthorized'
  | 'throttled'
  | 'identity_unavailable'
  | 'timeout'
  | 'unavailable';

export interface ReadSuccess {
  readonly ok: true;
  readonly value: string;
  readonly version: string | undefined;
  readonly expiresOn: Date | undefined;
  /** Why the latest version was passed over for an older one (undefined when it was not). */
  readonly latestProblem: string | undefined;
}

export interface ReadFailure {
  readonly ok: false;
  readonly outcome: Exclude<ReadOutcome, 'ok'>;
  /** For logs and status: names the problem, never the value. */
  readonly reason: string;
  /** The secret's own state forbids its use (disabled, expired, not yet valid): drop the value. */
  readonly permanent: boolean;
  /** The version the failure is about, when known. */
  readonly version?: string;
  readonly status?: number;
  /** Milliseconds from the vault's Retry-After (429, 503). */
  readonly retryAfterMs?: number;
}

export type ReadResult = ReadSuccess | ReadFailure;

export interface ReadRequest {
  readonly name: string;
  /** undefined = versionless. */
  readonly version: string | undefined;
  /** Why a value cannot be used (e.g. not a valid header value), or undefined. */
  readonly check: (value: string) => string | undefined;
  readonly signal: AbortSignal;
  /** Default Date.now. */
  readonly now?: () => number;
}

/** Most versions looked at when the latest one is unusable (25 per page in Key Vault). */
const MAX_VERSIONS = 1000;

/** Reads the secret; never rejects. */
export async function readKeyVaultSecret(reader: SecretReader, request: ReadRequest): Promise<ReadResult> {
  const now = request.now ?? Date.now;
  try {
    const latest = await reader.getSecret(request.name, request.version, request.signal);
    const problem = attributeProblem(latest.properties, now());
    if (problem === undefined) return accept(latest, request, undefined);
    if (request.version !== undefined) return problem;
    return await olderUsableVersion(reader, request, latest.properties.version, problem, now);
  } catch (error) {
    const failure = classify(error);
    if (failure.outcome !== 'disabled' || request.version !== undefined) return failure;
    // 403 SecretDisabled on a versionless GET: the latest version is disabled.
    return olderUsableVersion(reader, request, undefined, failure, now).catch(classify);
  }
}

function accept(secret: KeyVaultSecret, request: ReadRequest, latestProblem: string | undefined): ReadResult {
  const version = secret.properties.version;
  const value = secret.value;
  const invalid = value === undefined ? 'has no value' : request.check(value);
  if (value === undefined || invalid !== undefined) {
    return {
      ok: false,
      outcome: 'invalid_value',
      reason: `the secret value ${invalid}`,
      permanent: false,
      ...(version === undefined ? {} : { version }),
    };
  }
  return { ok: true, value, version, expiresOn: secret.properties.expiresOn, latestProblem };
}

/** The secret attributes that forbid its use now, as a permanent failure; undefined when usable. */
export function attributeProblem(properties: SecretProperties, now: number): ReadFailure | undefined {
  const version = properties.version === undefined ? {} : { version: properties.version };
  if (properties.enabled === false) {
    return {
      ok: false,
      outcome: 'disabled',
      reason: 'the secret version is disabled',
      permanent: true,
      ...version,
    };
  }
  const nbf = properties.notBefore?.getTime();
  if (nbf !== undefined && nbf > now) {
    const reason = `the secret version is not valid before ${new Date(nbf).toISOString()} (nbf)`;
    return { ok: false, outcome: 'not_yet_valid', reason, permanent: true, ...version };
  }
  const exp = properties.expiresOn?.getTime();
  if (exp !== undefined && exp <= now) {
    const reason = `the secret version expired at ${new Date(exp).toISOString()} (exp)`;
    return { ok: false, outcome: 'expired', reason, permanent: true, ...version };
  }
  return undefined;
}

async function olderUsableVersion(
  reader: SecretReader,
  request: ReadRequest,
  latestVersion: string | undefined,
  latestFailure: ReadFailure,
  now: () => number,
): Promise<ReadResult> {
  let best: SecretProperties | undefined;
  let seen = 0;
  for await (const properties of reader.listVersions(request.name, request.signal)) {
    if (++seen > MAX_VERSIONS) break;
    if (properties.version === undefined || properties.version === latestVersion) continue;
    if (attributeProblem(properties, now()) !== undefined) continue;
    const created = properties.createdOn?.getTime() ?? 0;
    if (best === undefined || created > (best.createdOn?.getTime() ?? 0)) best = properties;
  }
  if (best?.version === undefined) {
    return {
      ...latestFailure,
      reason: `${latestFailure.reason}, and no older version is enabled and within nbf/exp`,
    };
  }
  const older = await reader.getSecret(request.name, best.version, request.signal);
  const problem = attributeProblem(older.properties, now());
  if (problem !== undefined) return problem;
  return accept(older, request, latestFailure.reason);
}

interface RestErrorShape {
  readonly name?: unknown;
  readonly message?: unknown;
  readonly statusCode?: unknown;
  readonly code?: unknown;
  readonly details?: { readonly error?: { readonly innerError?: { readonly code?: unknown } } };
  readonly response?: { readonly headers?: { get(name: string): string | undefined } };
}

/** RestError / identity errors / aborts → a failure the caller can act on. */
export function classify(error: unknown): ReadFailure {
  const e = (typeof error === 'object' && error !== null ? error : {}) as RestErrorShape;
  const status = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const code = typeof e.code === 'string' ? e.code : undefined;
  const message = typeof e.message === 'string' ? scrubSecrets(e.message).slice(0, 300) : String(error);
  const base = { ok: false as const, permanent: false, ...(status === undefined ? {} : { status }) };
  if (status !== undefined) {
    const inner = e.details?.error?.innerError?.code;
    const retryAfterMs = parseRetryAfter(e.response?.headers?.get('retry-after'));
    const retry = retryAfterMs === undefined ? {} : { retryAfterMs };
    const said = `Key Vault answered ${status}${code === undefined ? '' : ` ${code}`}`;
    if (status === 403 && inner === 'SecretDisabled') {
      return { ...base, outcome: 'disabled', reason: 'the secret version is disabled', permanent: true };
    }
    if (status === 429) return { ...base, ...retry, outcome: 'throttled', reason: `${said} (throttled)` };
    if (status === 401)
      return { ...base, outcome: 'unauthorized', reason: `${said}: the access token was refused` };
    if (status === 403)
      return { ...base, outcome: 'forbidden', reason: `${said}: the identity may not get this secret` };
    if (status === 404)
      return { ...base, outcome: 'not_found', reason: `${said}: no such secret or version` };
    return { ...base, ...retry, outcome: 'unavailable', reason: `${said}: ${message}` };
  }
  const name = typeof e.name === 'string' ? e.name : '';
  if (name === 'AbortError' || name === 'TimeoutError') {
    return { ...base, outcome: 'timeout', reason: 'the Key Vault read timed out' };
  }
  if (
    name === 'CredentialUnavailableError' ||
    name === 'AuthenticationError' ||
    name === 'AuthenticationRequiredError'
  ) {
    return { ...base, outcome: 'identity_unavailable', reason: `no access token for Key Vault: ${message}` };
  }
  return { ...base, outcome: 'unavailable', reason: `Key Vault request failed: ${message}` };
}
