/**
 * Where a static upstream credential comes from: `env:NAME` or `file:/path` (here), or
 * `keyvault:` (`keyvault-secret-source.ts`, behind the same interface). A file is re-read when it
 * changes, so a rotated Kubernetes Secret is picked up without a restart. The value is never
 * logged; only the reference (`env:ADLS_KEY`, `file:/var/run/...`) is.
 */
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { SecretRef } from '../policy/route.ts';
import type { CredentialStatus } from './credential-provider.ts';

/**
 * The subset of a pino logger the credential code uses. Fields name the secret reference as
 * `source`, never `credential` (which the gateway's logger redacts) and never the value.
 */
export interface CredentialLog {
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  /** Configuration errors (e.g. a token endpoint answering invalid_client); `warn` when absent. */
  error?(fields: Record<string, unknown>, message: string): void;
}

/** Logs nothing: the default when the caller passes no logger. */
export const silentLog: CredentialLog = { info() {}, warn() {}, error() {} };

export interface SecretSource {
  /** The reference as written (`env:NAME`, `file:/path`); safe to log. */
  readonly ref: string;
  /** The current value, or `undefined` while none is usable. */
  current(): string | undefined;
  /** Why there is no usable value (`undefined` when there is one). Never contains the value. */
  reason(): string | undefined;
  /** Re-reads the source now (files only); resolves when done. Never rejects. */
  refresh(): Promise<void>;
  /** Stops watchers and timers. */
  close(): void;
  /**
   * Remote sources: the first read while it is still in flight (so the first request waits for
   * it instead of failing); undefined once it has finished. Local sources omit it.
   */
  pending?(): Promise<void> | undefined;
  /**
   * The upstream rejected `rejected` (this source's value): re-read now (coalesced, with a
   * cooldown) and resolve with a different value to retry with (the new one, or the previous
   * one within its rotation grace period), or undefined. Never rejects. Optional.
   */
  renew?(rejected: string): Promise<string | undefined>;
  /** Remote sources: state, version, expiry and last check, for readiness and `check`. */
  status?(): CredentialStatus;
}

export interface SecretSourceOptions {
  /** Environment to read `env:` refs from. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Watch the file's directory with fs.watch. Default true. */
  readonly watch?: boolean;
  /** Milliseconds between fallback re-reads of a file (fs.watch misses events on some mounts). Default 10000; 0 disables. */
  readonly pollIntervalMs?: number;
  readonly log?: CredentialLog;
  /** Why a value cannot be used, or undefined when it can. Default `secretProblem` (a header value). */
  readonly check?: (value: string) => string | undefined;
}

/**
 * Opens an `env:` or `file:` reference; reads it synchronously once, so start-up problems show
 * at load. `keyvault:` references are opened by `KeyVaultSecretSource` (they need a vault client).
 */
export function openSecretSource(
  ref: Exclude<SecretRef, { kind: 'keyvault' }>,
  options: SecretSourceOptions = {},
): SecretSource {
  const log = options.log ?? silentLog;
  const check = options.check ?? secretProblem;
  if (ref.kind === 'env') return envSecretSource(ref.name, ref.text, options.env ?? process.env, log, check);
  return new FileSecretSource(ref.path, ref.text, options, log, check);
}

/**
 * Why `value` cannot be sent as a header value, or undefined when it can. RFC 9110 §5.5: field
 * values are visible ASCII, SP, HTAB and obs-text, without leading or trailing whitespace.
 */
export function secretProblem(value: string): string | undefined {
  if (value === '') return 'is empty';
  if (!HEADER_SAFE.test(value))
    return 'contains characters not allowed in a header value (e.g. a line break)';
  return undefined;
}

const HEADER_SAFE = /^[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/;

/** Kubernetes and editors end secret files with one newline that is not part of the secret. */
function trimOneNewline(text: string): string {
  if (text.endsWith('\r\n')) return text.slice(0, -2);
  if (text.endsWith('\n')) return text.slice(0, -1);
  return text;
}

function envSecretSource(
  name: string,
  ref: string,
  env: NodeJS.ProcessEnv,
  log: CredentialLog,
  check: (value: string) => string | undefined,
): SecretSource {
  // Read once: the environment of a running process does not change under it.
  const raw = env[name];
  const problem = raw === undefined ? 'is not set' : check(raw);
  const why = problem === undefined ? undefined : `environment variable ${name} ${problem}`;
  if (why !== undefined) log.warn({ source: ref, reason: why }, 'upstream credential unavailable');
  const value = why === undefined ? raw : undefined;
  return {
    ref,
    current: () => value,
    reason: () => why,
    refresh: () => Promise.resolve(),
    close() {},
  };
}

class FileSecretSource implements SecretSource {
  readonly ref: string;
  readonly #path: string;
  readonly #log: CredentialLog;
  readonly #check: (value: string) => string | undefined;
  #value: string | undefined;
  #reason: string | undefined;
  /** Last problem logged, so a persistent failure is logged once, not every poll. */
  #logged: string | undefined;
  #watcher: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #reading: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(
    path: string,
    ref: string,
    options: SecretSourceOptions,
    log: CredentialLog,
    check: (value: string) => string | undefined,
  ) {
    this.ref = ref;
    this.#path = path;
    this.#log = log;
    this.#check = check;
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      this.#problem(`cannot read ${path} (${codeOf(error)})`);
    }
    if (text !== undefined) this.#accept(trimOneNewline(text));
    if (options.watch ?? true) this.#watch();
    const every = options.pollIntervalMs ?? 10_000;
    if (every > 0) {
      this.#poll = setInterval(() => void this.refresh(), every);
      this.#poll.unref();
    }
  }

  current(): string | undefined {
    return this.#value;
  }

  reason(): string | undefined {
    return this.#value === undefined ? this.#reason : undefined;
  }

  refresh(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#reading !== undefined) {
      // A change may land while a read is in flight: read once more after it.
      this.#again = true;
      return this.#reading;
    }
    this.#reading = this.#read().finally(() => {
      this.#reading = undefined;
      if (this.#again) {
        this.#again = false;
        void this.refresh();
      }
    });
    return this.#reading;
  }

  close(): void {
    this.#closed = true;
    this.#watcher?.close();
    clearInterval(this.#poll);
    clearTimeout(this.#debounce);
  }

  /**
   * Kubernetes mounts a Secret as `key -> ..data/key` and rotates it by renaming a new `..data`
   * symlink over the old one, so the file itself never changes: watch the directory.
   */
  #watch(): void {
    try {
      this.#watcher = watch(dirname(this.#path), { persistent: false }, () => this.#changed());
      // e.g. the directory vanished: the periodic re-read still covers it.
      this.#watcher.on('error', () => this.#watcher?.close());
    } catch {
      this.#watcher = undefined;
    }
  }

  /** A rotation fires several events in a burst; read once after it settles. */
  #changed(): void {
    if (this.#closed) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.refresh(), 20);
    this.#debounce.unref();
  }

  async #read(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.#path, 'utf8');
    } catch (error) {
      if (!this.#closed) this.#problem(`cannot read ${this.#path} (${codeOf(error)})`);
      return;
    }
    if (!this.#closed) this.#accept(trimOneNewline(text));
  }

  #accept(value: string): void {
    const problem = this.#check(value);
    if (problem !== undefined) {
      this.#problem(`${this.#path} ${problem}`);
      return;
    }
    if (value === this.#value) return;
    const rotated = this.#value !== undefined;
    this.#value = value;
    this.#reason = undefined;
    this.#logged = undefined;
    if (rotated) this.#log.info({ source: this.ref }, 'upstream credential reloaded');
  }

  /** Keeps the last good value (if any) and logs each distinct problem once. */
  #problem(reason: string): void {
    this.#reason = reason;
    if (this.#logged === reason) return;
    this.#logged = reason;
    const message =
      this.#value === undefined
        ? 'upstream credential unavailable'
        : 'upstream credential re-read failed; keeping the last good value';
    this.#log.warn({ source: this.ref, reason }, message);
  }
}

function codeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'error';
}
