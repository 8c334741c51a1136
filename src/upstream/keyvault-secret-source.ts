/**
 * A `keyvault:` secret behind the SecretSource interface: read once at start, cached in memory,
 * re-read in the background every refresh interval, so a new version reaches the next request
 * without a restart and without a failed request.
 *
 * - Stale-if-error: while the vault or the identity endpoint fails, the last good value is served;
 *   the failure is logged once per streak and retried with backoff (Retry-After honoured).
 * - A version that is disabled, past `exp` or before `nbf` is never used (`keyvault-read.ts`); the
 *   value in use is dropped the moment its own `exp` passes.
 * - Rotation: the previous value is kept for a grace period, so a request the upstream rejects
 *   while it still expects the old value can be retried with it (`renew`).
 * - Audit: every read is logged (reference, version, outcome, duration), never the value.
 */
import { performance } from 'node:perf_hooks';
import type { SecretRef } from '../policy/route.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import type { CredentialStatus } from './credential-provider.ts';
import type { SecretReader } from './keyvault-clients.ts';
import {
  classify,
  readKeyVaultSecret,
  type ReadFailure,
  type ReadResult,
  type ReadSuccess,
} from './keyvault-read.ts';
import { Refresher } from './refresher.ts';
import type { CredentialLog, SecretSource } from './secret-source.ts';

type KeyVaultRef = Extract<SecretRef, { kind: 'keyvault' }>;

export interface KeyVaultSourceOptions {
  /** The vault's reader (one SecretClient per vault, see KeyVaultClients). */
  readonly reader: (vaultUrl: string) => Promise<SecretReader>;
  readonly log: CredentialLog;
  /** Milliseconds between background reads (the reference's own, or the setting). */
  readonly refreshIntervalMs: number;
  /** Milliseconds before `exp` from which the secret shows as `expiring`. */
  readonly expiryWarningMs: number;
  /** Milliseconds the previous value stays available to `renew` after a rotation. */
  readonly rotationGraceMs: number;
  /** Milliseconds one read (identity token + vault requests) may take. */
  readonly timeoutMs: number;
  /** Why a value cannot be used, or undefined (e.g. `secretProblem` for header values). */
  readonly check: (value: string) => string | undefined;
  readonly backoff?: BackoffOptions;
  /** Least milliseconds between two reads forced by upstream 401s. Default 5000. */
  readonly renewCooldownMs?: number;
}

export class KeyVaultSecretSource implements SecretSource {
  readonly ref: string;
  readonly #spec: KeyVaultRef;
  readonly #options: KeyVaultSourceOptions;
  readonly #backoff: Backoff;
  #value: string | undefined;
  #version: string | undefined;
  #expiresAt: number | undefined;
  #obtained = false;
  #previous: { readonly value: string; readonly until: number } | undefined;
  #reason: string | undefined;
  #lastCheckAt: number | undefined;
  /** Log-once keys: the latest-version problem and the expiring version already warned about. */
  #warnedLatest: string | undefined;
  #warnedExpiring: string | undefined;
  readonly #refresher = new Refresher(() => this.#read());
  #first: Promise<void> | undefined;
  #lastForcedAt = Number.NEGATIVE_INFINITY;

  constructor(spec: KeyVaultRef, options: KeyVaultSourceOptions) {
    this.ref = spec.text;
    this.#spec = spec;
    this.#options = options;
    this.#backoff = new Backoff(options.backoff);
    const first = this.refresh();
    this.#first = first;
    void first.finally(() => {
      this.#first = undefined;
    });
  }

  current(): string | undefined {
    if (this.#value !== undefined && this.#expiresAt !== undefined && Date.now() >= this.#expiresAt) {
      // Its exp passed between two reads: stop sending it now, and look for a newer version.
      this.#drop(`the secret version expired at ${new Date(this.#expiresAt).toISOString()} (exp)`);
      void this.refresh();
    }
    return this.#value;
  }

  reason(): string | undefined {
    if (this.current() !== undefined) return undefined;
    return this.#reason ?? 'has not been read yet';
  }

  pending(): Promise<void> | undefined {
    return this.#first;
  }

  /** Reads now (one read at a time; a call during a read joins it). Never rejects. */
  refresh(): Promise<void> {
    return this.#refresher.now();
  }

  async renew(rejected: string): Promise<string | undefined> {
    if (this.current() === undefined || this.#value === rejected) {
      const now = performance.now();
      if (!this.#refresher.running && now - this.#lastForcedAt >= (this.#options.renewCooldownMs ?? 5000)) {
        this.#lastForcedAt = now;
        await this.refresh();
      } else {
        await this.#refresher.current();
      }
    }
    const value = this.current();
    if (value !== undefined && value !== rejected) return value;
    const previous = this.#previous;
    if (previous !== undefined && previous.until > Date.now() && previous.value !== rejected)
      return previous.value;
    return undefined;
  }

  status(): CredentialStatus {
    const available = this.current() !== undefined;
    const failing = this.#backoff.failures > 0;
    const expiring =
      available &&
      this.#expiresAt !== undefined &&
      this.#expiresAt - Date.now() <= this.#options.expiryWarningMs;
    const state = failing ? 'failed' : !this.#obtained ? 'pending' : expiring ? 'expiring' : 'authenticated';
    // While failing with a value in hand, the reason says why the last read failed.
    const reason = failing || !available ? (this.#reason ?? 'has not been read yet') : undefined;
    return {
      available,
      ...(reason === undefined ? {} : { reason }),
      state,
      obtained: this.#obtained,
      ...(this.#lastCheckAt === undefined ? {} : { lastCheckAt: new Date(this.#lastCheckAt).toISOString() }),
      ...(this.#expiresAt === undefined || !available
        ? {}
        : { expiresAt: new Date(this.#expiresAt).toISOString() }),
      ...(this.#version === undefined || !available ? {} : { version: this.#version }),
    };
  }

  close(): void {
    this.#refresher.close();
  }

  async #read(): Promise<void> {
    const started = performance.now();
    const result = await this.#attempt();
    if (this.#refresher.closed) return;
    this.#lastCheckAt = Date.now();
    this.#options.log.info(
      {
        event: 'audit',
        action: 'keyvault.secret.read',
        source: this.ref,
        version: result.ok ? result.version : result.version,
        outcome: result.ok ? 'ok' : result.outcome,
        ...(result.ok || result.status === undefined ? {} : { status: result.status }),
        durationMs: Math.round(performance.now() - started),
      },
      'Key Vault secret read',
    );
    if (result.ok) this.#succeeded(result);
    else this.#failed(result);
  }

  /** One read, bounded by the timeout even where the SDK does not pass the abort signal on. */
  async #attempt(): Promise<ReadResult> {
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<ReadFailure>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve({ ok: false, outcome: 'timeout', reason: 'the Key Vault read timed out', permanent: false });
      }, this.#options.timeoutMs);
    });
    const read = (async (): Promise<ReadResult> => {
      const reader = await this.#options.reader(this.#spec.vaultUrl);
      return readKeyVaultSecret(reader, {
        name: this.#spec.name,
        version: this.#spec.version,
        check: this.#options.check,
        signal: controller.signal,
      });
    })().catch(classify);
    try {
      return await Promise.race([read, timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  #succeeded(result: ReadSuccess): void {
    const log = this.#options.log;
    const now = Date.now();
    const failures = this.#backoff.failures;
    this.#backoff.reset();
    if (result.value !== this.#value) {
      if (this.#value !== undefined) {
        this.#previous = { value: this.#value, until: now + this.#options.rotationGraceMs };
        log.info(
          { source: this.ref, version: result.version, previousVersion: this.#version },
          'upstream credential rotated: a new Key Vault secret version is in use',
        );
      }
      this.#value = result.value;
    }
    this.#version = result.version;
    this.#expiresAt = result.expiresOn?.getTime();
    this.#obtained = true;
    this.#reason = undefined;
    if (failures > 0) log.info({ source: this.ref, failures }, 'Key Vault secret read recovered');
    if (result.latestProblem !== undefined && this.#warnedLatest !== result.latestProblem) {
      this.#warnedLatest = result.latestProblem;
      log.warn(
        { source: this.ref, version: result.version, reason: `latest version: ${result.latestProblem}` },
        'the latest Key Vault secret version is not usable; using the newest usable older version',
      );
    }
    if (
      this.#expiresAt !== undefined &&
      this.#expiresAt - now <= this.#options.expiryWarningMs &&
      this.#warnedExpiring !== result.version
    ) {
      this.#warnedExpiring = result.version;
      log.warn(
        { source: this.ref, version: result.version, expiresAt: new Date(this.#expiresAt).toISOString() },
        'the Key Vault secret in use expires soon; add a new version',
      );
    }
    const untilExpiry = this.#expiresAt === undefined ? Number.POSITIVE_INFINITY : this.#expiresAt - now + 1;
    this.#refresher.after(Math.min(this.#options.refreshIntervalMs, untilExpiry));
  }

  #failed(result: ReadFailure): void {
    const streakStarts = this.#backoff.failures === 0;
    if (result.permanent) this.#drop(result.reason);
    this.#reason = result.reason;
    const delay = this.#backoff.fail(result.retryAfterMs, this.#options.refreshIntervalMs);
    if (streakStarts) {
      const serving = this.#value !== undefined;
      this.#options.log.warn(
        {
          source: this.ref,
          outcome: result.outcome,
          reason: result.reason,
          ...(result.status === undefined ? {} : { status: result.status }),
          retryInMs: delay,
          servingLastGoodValue: serving,
        },
        serving
          ? 'Key Vault secret read failed; serving the last good value'
          : 'Key Vault secret read failed; the upstream credential is unavailable',
      );
    }
    this.#refresher.after(delay);
  }

  /** The secret's own state forbids its use: forget it (and the rotation fallback). */
  #drop(reason: string): void {
    this.#value = undefined;
    this.#version = undefined;
    this.#expiresAt = undefined;
    this.#previous = undefined;
    this.#reason = reason;
  }
}
