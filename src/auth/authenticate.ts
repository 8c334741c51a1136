/**
 * The authentication stage of a `jwt` route: extract the bearer token, verify its signature with
 * the issuer's keys, check its claims against the route, and return who the caller is.
 * Runs on every request, so it allocates little and traces only when a sink is given.
 */
import type { JWTPayload } from 'jose';
import type { JwtRequirements } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';
import { extractBearerToken, type BearerInput } from './bearer-token.ts';
import { checkClaims } from './check-claims.ts';
import type { IssuerRegistry } from './issuer-registry.ts';
import { verifySignature } from './verify-signature.ts';

/** The authenticated caller, for authorization, claim forwarding and logs. */
export interface Principal {
  /** `sub`, when a string. */
  readonly subject?: string;
  /** `azp`, else `client_id` (Keycloak sets both for client-credentials tokens). */
  readonly clientId?: string;
  /** The verified claims set. */
  readonly claims: Readonly<JWTPayload>;
  /** The token itself, for `forwardToken`; never log it. */
  readonly token: string;
}

export type AuthenticateInput = BearerInput;

export interface AuthenticateOptions {
  /** Largest accepted token in bytes (GATEWAY_MAX_TOKEN_BYTES, default 8192). */
  readonly maxTokenBytes: number;
  /** Milliseconds since the epoch; default Date.now. */
  readonly now?: () => number;
}

/**
 * Verified payload of a token. This is the seam for a verified-token cache (hash of token →
 * payload, bounded LRU, keyed also on `IssuerKeys.version` so a key removal evicts): claims are
 * re-checked on every request after it, so a cached entry can never outlive `exp`.
 */
function verifyToken(
  token: string,
  jwt: JwtRequirements,
  registry: IssuerRegistry,
  trace: TraceSink | undefined,
): Promise<JWTPayload> {
  return verifySignature(token, jwt.algorithms, registry.register(jwt).getKey, trace);
}

function stringClaim(payload: JWTPayload, name: string): string | undefined {
  const value: unknown = payload[name];
  return typeof value === 'string' ? value : undefined;
}

/**
 * Authenticates a request for a route with `validateJwt`. Throws a GatewayError: 400
 * `invalid_request`, 401 `token_*`, 403 `insufficient_scope` / `claim_requirement_failed`,
 * 503 `issuer_unavailable`. Render the challenge with `wwwAuthenticate`.
 */
export async function authenticate(
  input: AuthenticateInput,
  jwt: JwtRequirements,
  registry: IssuerRegistry,
  options: AuthenticateOptions,
  trace?: TraceSink,
): Promise<Principal> {
  const token = extractBearerToken(input, options.maxTokenBytes, trace);
  const claims = await verifyToken(token, jwt, registry, trace);
  checkClaims(claims, jwt, (options.now ?? Date.now)() / 1000, trace);
  const subject = stringClaim(claims, 'sub');
  const clientId = stringClaim(claims, 'azp') ?? stringClaim(claims, 'client_id');
  return {
    ...(subject === undefined ? {} : { subject }),
    ...(clientId === undefined ? {} : { clientId }),
    claims,
    token,
  };
}
