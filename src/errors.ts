/**
 * The one error base of the gateway. Every refusal and failure a caller can see has a stable
 * `code` from the closed set below; callers (and tests) branch on `code`, never on message text.
 * `src/app/error-response.ts` is the only place that turns a GatewayError into an HTTP response.
 */

/** Every code, its HTTP status and a one-line meaning (rendered into the README's error table). */
export const ERROR_CODES = {
  // Request shape (checked before any route is matched).
  invalid_path: {
    status: 400,
    meaning: 'The path has `..` segments, encoded slashes or dots, backslashes or NUL.',
  },
  invalid_request: {
    status: 400,
    meaning: 'The request is malformed (e.g. two Authorization headers, token in the query string).',
  },
  method_not_allowed: {
    status: 405,
    meaning: 'The reserved paths /healthz and /readyz answer GET and HEAD only.',
  },
  payload_too_large: { status: 413, meaning: 'The request body exceeds the configured limit.' },
  // Routing and network policy.
  route_not_found: { status: 404, meaning: 'No route matches the method, host and path.' },
  ip_forbidden: { status: 403, meaning: "The caller's IP address is not allowed by the route's ipFilter." },
  // Bearer token (RFC 6750 §3.1: 401 invalid_token, 403 insufficient_scope).
  token_missing: { status: 401, meaning: 'The route requires a bearer token and none was sent.' },
  token_malformed: { status: 401, meaning: 'The token is not a well-formed compact JWS.' },
  token_too_large: { status: 401, meaning: 'The token exceeds the configured size limit.' },
  token_header_invalid: {
    status: 401,
    meaning: 'The token header uses jku, x5u, an embedded jwk or an unknown crit extension.',
  },
  token_algorithm_not_allowed: { status: 401, meaning: "The token's alg is not in the route's allowlist." },
  token_key_not_found: { status: 401, meaning: "No key in the issuer's JWKS matches the token's kid." },
  token_signature_invalid: { status: 401, meaning: 'The token signature does not verify.' },
  token_issuer_invalid: { status: 401, meaning: 'The iss claim is not an accepted issuer.' },
  token_audience_invalid: {
    status: 401,
    meaning: 'The aud claim is missing or holds none of the accepted audiences.',
  },
  token_expired: { status: 401, meaning: 'The token is past exp (after clock skew).' },
  token_not_yet_valid: {
    status: 401,
    meaning: 'The token nbf (or iat) is in the future (after clock skew).',
  },
  token_type_invalid: {
    status: 401,
    meaning: 'The typ claim is present and not Bearer (e.g. a Keycloak ID or refresh token).',
  },
  token_claim_invalid: {
    status: 401,
    meaning: 'A registered claim is missing or has the wrong type (e.g. exp not a number).',
  },
  token_lifetime_too_long: {
    status: 401,
    meaning: 'exp - iat exceeds maxLifetimeSeconds, or iat is older than maxTokenAgeSeconds.',
  },
  insufficient_scope: { status: 403, meaning: 'The token lacks a required scope.' },
  claim_requirement_failed: { status: 403, meaning: 'The token lacks a required claim value.' },
  issuer_unavailable: {
    status: 503,
    meaning: "The issuer's discovery document or keys have never been fetched.",
  },
  // Upstream.
  upstream_credential_unavailable: {
    status: 503,
    meaning: "The route's upstream credential cannot be obtained.",
  },
  upstream_unreachable: { status: 502, meaning: 'The upstream refused or reset the connection.' },
  upstream_timeout: { status: 504, meaning: 'The upstream did not answer within the timeout.' },
  upstream_error: { status: 502, meaning: 'The upstream answered with an invalid HTTP response.' },
  // Process.
  shutting_down: { status: 503, meaning: 'The gateway is draining and takes no new requests.' },
  internal_error: {
    status: 500,
    meaning: 'An unexpected error; the log line with the request id has the details.',
  },
} as const satisfies Record<string, { status: number; meaning: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface GatewayErrorOptions {
  /** The underlying error, kept for logs; never rendered to the caller. */
  cause?: unknown;
  /** For 403 insufficient_scope: the scopes the route requires (RFC 6750 §3 `scope`). */
  scope?: string;
}

export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly scope: string | undefined;

  constructor(code: ErrorCode, message: string, options: GatewayErrorOptions = {}) {
    // A refusal (4xx) is the caller's mistake and is built on every refused request, some of them
    // from floods: its stack trace says nothing useful and capturing it cost ~7% of a refusal's
    // CPU (docs/performance.md). Failures (5xx) keep theirs for the log.
    const stackTraceLimit = Error.stackTraceLimit;
    if (ERROR_CODES[code].status < 500) Error.stackTraceLimit = 0;
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    Error.stackTraceLimit = stackTraceLimit;
    this.name = 'GatewayError';
    this.code = code;
    this.status = ERROR_CODES[code].status;
    this.scope = options.scope;
  }
}

export function isGatewayError(value: unknown): value is GatewayError {
  return value instanceof GatewayError;
}

/** A start-up problem (bad setting, bad policy): printed and the process exits 1. */
export class ConfigError extends Error {
  /** One line per problem, already formatted for the admin (`file:line:col: path: message`). */
  readonly problems: readonly string[];

  // No constructor parameter property: `erasableSyntaxOnly` / Node's type stripping reject it.
  constructor(message: string, problems: readonly string[] = [message]) {
    super(message);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}
