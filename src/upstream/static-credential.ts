/**
 * The static credential providers: `apiKey` sends the secret as the header value,
 * `bearer` sends `Bearer <secret>` (RFC 6750 §2.1). The secret comes from a SecretSource
 * (`env:`, `file:` or `keyvault:`).
 */
import { GatewayError } from '../errors.ts';
import type { CredentialSpec } from '../policy/route.ts';
import type { CredentialProvider, CredentialStatus } from './credential-provider.ts';
import type { SecretSource } from './secret-source.ts';

type StaticSpec = Extract<CredentialSpec, { type: 'apiKey' | 'bearer' }>;

export class StaticCredentialProvider implements CredentialProvider {
  readonly type: StaticSpec['type'];
  readonly header: string;
  readonly source: string;
  /** Present only when the source can re-read on demand (Key Vault); see CredentialProvider. */
  readonly renew?: (rejected: string) => Promise<string | undefined>;
  readonly #secret: SecretSource;
  readonly #prefix: string;
  /** The secret the cached header value was built from; rebuilt only when it rotates. */
  #raw: string | undefined;
  #value = '';

  constructor(spec: StaticSpec, secret: SecretSource) {
    this.type = spec.type;
    this.header = spec.header.toLowerCase();
    this.source = secret.ref;
    this.#secret = secret;
    this.#prefix = spec.type === 'bearer' ? 'Bearer ' : '';
    const renew = secret.renew?.bind(secret);
    if (renew !== undefined) {
      this.renew = async (rejected) => {
        const raw = rejected.startsWith(this.#prefix) ? rejected.slice(this.#prefix.length) : rejected;
        const next = await renew(raw);
        return next === undefined ? undefined : this.#prefix + next;
      };
    }
  }

  /**
   * The header value; waits for a remote source's first read, then rejects with
   * `upstream_credential_unavailable` while the secret is unusable.
   */
  value(): Promise<string> {
    if (this.#secret.current() === undefined) {
      const first = this.#secret.pending?.();
      if (first !== undefined) return first.then(() => this.#now());
    }
    return this.#now();
  }

  /** The upstream rejected the value: re-read a file secret now instead of at the next poll. */
  invalidate(): void {
    void this.#secret.refresh();
  }

  status(): CredentialStatus {
    const detailed = this.#secret.status?.();
    if (detailed !== undefined) return detailed;
    const available = this.#secret.current() !== undefined;
    return available
      ? { available, state: 'authenticated', obtained: true }
      : { available, reason: this.#secret.reason() ?? 'is unavailable', state: 'failed', obtained: false };
  }

  close(): void {
    this.#secret.close();
  }

  /** The header value when the secret is usable now; undefined when `value()` must be asked. */
  ready(): string | undefined {
    const raw = this.#secret.current();
    // An empty secret goes the slow way, where the forwarder reports it.
    if (raw === undefined || raw === '') return undefined;
    return this.#header(raw);
  }

  #header(raw: string): string {
    if (raw !== this.#raw) {
      this.#raw = raw;
      this.#value = this.#prefix + raw;
    }
    return this.#value;
  }

  #now(): Promise<string> {
    const raw = this.#secret.current();
    if (raw === undefined) {
      // The reason names the reference, not the value; it goes to `cause` (logs), since the
      // message may be rendered to the caller and a file path is internal.
      const reason = new Error(`credential ${this.source} ${this.#secret.reason() ?? 'is unavailable'}`);
      return Promise.reject(
        new GatewayError('upstream_credential_unavailable', 'The upstream credential is unavailable.', {
          cause: reason,
        }),
      );
    }
    return Promise.resolve(this.#header(raw));
  }
}
