/**
 * The seam for upstream credentials. One provider per route credential; `upstream/credential-registry.ts`
 * picks the implementation by `CredentialSpec.type`: static secrets (`env:`, `file:`, `keyvault:`)
 * as apiKey/bearer headers, and OAuth2 client credentials.
 */
export interface CredentialProvider {
  /** `apiKey`, `bearer`, `clientCredentials`. */
  readonly type: string;
  /** Lower-case header name the credential is sent in (e.g. `x-functions-key`, `authorization`). */
  readonly header: string;
  /** Where the value comes from, safe to log (`env:ADLS_KEY`, `file:/var/run/...`). Never the value. */
  readonly source: string;
  /**
   * The header value to send. Resolves fast from a cache on the hot path (while the very first
   * fetch of a remote source is in flight, it waits for that fetch). Rejects with a GatewayError
   * `upstream_credential_unavailable` when no usable value exists; never resolves to an empty string.
   */
  value(): Promise<string>;
  /**
   * The header value when one is usable right now, or undefined when `value()` must be asked
   * (a first fetch in flight, no usable value). Optional; the forwarder reads it on the hot
   * path so a request with a cached credential waits on no promise. Never an empty string.
   */
  ready?(): string | undefined;
  /** Drop a cached value the upstream rejected (401) so the next `value()` fetches anew. */
  invalidate(): void;
  /**
   * The upstream answered 401 to a request sent with `rejected` (a header value from `value()`):
   * fetch anew (coalesced with concurrent calls) and resolve with a different header value to
   * retry that request with once, or `undefined` when there is none. Never rejects. Optional:
   * the forwarder retries (and buffers small bodies) only for providers that have it.
   */
  renew?(rejected: string): Promise<string | undefined>;
  /** Stop timers and watchers. */
  close(): void;
  /** Whether a usable value exists now, for status pages; optional. */
  status?(): CredentialStatus;
}

/**
 * `authenticated`: a usable value; `expiring`: usable, but it expires within the warning window;
 * `failed`: the last fetch failed (a still-valid older value may be served: see `available`);
 * `pending`: the first fetch has not finished yet.
 */
export type CredentialState = 'authenticated' | 'expiring' | 'failed' | 'pending';

/** A provider's health; `reason` names the source and the problem, never the value. */
export interface CredentialStatus {
  readonly available: boolean;
  readonly reason?: string;
  readonly state?: CredentialState;
  /** True once a usable value was obtained (readiness fails only while this is false). */
  readonly obtained?: boolean;
  /** ISO 8601: when the source was last asked (Key Vault read, token request). */
  readonly lastCheckAt?: string;
  /** ISO 8601: when the value in use stops being valid (secret `exp`, token expiry). */
  readonly expiresAt?: string;
  /** Key Vault version of the secret in use (an identifier, not a value). */
  readonly version?: string;
}
