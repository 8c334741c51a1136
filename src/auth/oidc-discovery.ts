/**
 * OpenID Connect Discovery 1.0 §4: fetch `{issuer}/.well-known/openid-configuration` and take the
 * `jwks_uri` from it. The only member the gateway needs is `jwks_uri`; `issuer` is checked because
 * §4.3 requires it to equal the issuer the document was fetched for (mix-up and impersonation).
 */
import { describeError } from './describe-error.ts';

/** Why a discovery fetch failed; `issuer_mismatch` is a configuration error, the rest transient. */
export type DiscoveryFailure =
  'unreachable' | 'timeout' | 'http_status' | 'invalid_document' | 'issuer_mismatch';

export class DiscoveryError extends Error {
  readonly reason: DiscoveryFailure;

  constructor(reason: DiscoveryFailure, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DiscoveryError';
    this.reason = reason;
  }
}

export interface DiscoveryResult {
  /** Absolute http(s) URL of the issuer's JWK Set. */
  readonly jwksUri: string;
}

export interface FetchDiscoveryOptions {
  /** Milliseconds before the request is aborted (GATEWAY_JWKS_TIMEOUT_MS, default 5000). */
  readonly timeoutMs: number;
  /** Injected for tests; default the global fetch. */
  readonly fetch?: typeof fetch;
}

/**
 * Fetches and validates the discovery document. Throws a DiscoveryError whose message names the
 * URL and what was wrong (never a secret: discovery needs no credentials).
 */
export async function fetchDiscovery(
  discoveryUrl: string,
  expectedIssuer: string,
  options: FetchDiscoveryOptions,
): Promise<DiscoveryResult> {
  const fetchImpl = options.fetch ?? fetch;
  let response: Response;
  try {
    response = await fetchImpl(discoveryUrl, {
      headers: { accept: 'application/json' },
      // A redirect would move trust to a URL nobody configured.
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (cause) {
    const timedOut = cause instanceof Error && cause.name === 'TimeoutError';
    throw new DiscoveryError(
      timedOut ? 'timeout' : 'unreachable',
      timedOut
        ? `discovery ${discoveryUrl} did not answer within ${options.timeoutMs} ms`
        : `discovery ${discoveryUrl} is unreachable: ${describeError(cause)}`,
      { cause },
    );
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    throw new DiscoveryError(
      'http_status',
      `discovery ${discoveryUrl} answered HTTP ${response.status}, expected 200`,
    );
  }
  let document: unknown;
  try {
    document = await response.json();
  } catch (cause) {
    throw new DiscoveryError('invalid_document', `discovery ${discoveryUrl} is not JSON`, { cause });
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new DiscoveryError('invalid_document', `discovery ${discoveryUrl} is not a JSON object`);
  }
  const { issuer, jwks_uri: jwksUri } = document as Record<string, unknown>;
  if (issuer !== expectedIssuer) {
    throw new DiscoveryError(
      'issuer_mismatch',
      `discovery ${discoveryUrl} names issuer ${JSON.stringify(issuer)}, expected exactly ${JSON.stringify(expectedIssuer)}`,
    );
  }
  const parsed = typeof jwksUri === 'string' ? URL.parse(jwksUri) : null;
  if (parsed === null || (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')) {
    throw new DiscoveryError(
      'invalid_document',
      `discovery ${discoveryUrl} has no absolute http(s) jwks_uri`,
    );
  }
  return { jwksUri: parsed.href };
}
