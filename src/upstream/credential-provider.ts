/**
 * The seam for upstream credentials. One provider per route credential; `upstream/credential-registry.ts`
 * picks the implementation by `CredentialSpec.type`. Issue 4 adds Key Vault secret references and
 * OAuth2 client credentials as further implementations of this interface.
 */
export interface CredentialProvider {
  /** `apiKey`, `bearer`, ... */
  readonly type: string;
  /** Lower-case header name the credential is sent in (e.g. `x-functions-key`, `authorization`). */
  readonly header: string;
  /** Where the value comes from, safe to log (`env:ADLS_KEY`, `file:/var/run/...`). Never the value. */
  readonly source: string;
  /**
   * The header value to send. Resolves fast from a cache on the hot path. Rejects with a
   * GatewayError `upstream_credential_unavailable` when no usable value exists; never resolves
   * to an empty string.
   */
  value(): Promise<string>;
  /** Drop a cached value the upstream rejected (401) so the next `value()` fetches anew. */
  invalidate(): void;
  /** Stop timers and watchers. */
  close(): void;
  /** Whether a usable value exists now, for status pages; optional. */
  status?(): CredentialStatus;
}

/** A provider's health; `reason` names the source and the problem, never the value. */
export interface CredentialStatus {
  readonly available: boolean;
  readonly reason?: string;
}
