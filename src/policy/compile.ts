/**
 * Validated policy route → immutable `CompiledRoute`: defaults applied, strings parsed once
 * (URLs, claim paths, secret references, IP ranges) so the request path never parses policy text.
 */
import type { PolicyRoute } from '../config/policy-schema.ts';
import { ConfigError } from '../errors.ts';
import { compileIpFilter } from '../ipfilter/ip-filter.ts';
import { KEYVAULT_PREFIX, parseKeyVaultRef } from './keyvault-ref.ts';
import { normalizePrefix } from './path-pattern.ts';
import type {
  CompiledRoute,
  CredentialSpec,
  JwtRequirements,
  RouteAuth,
  RouteMatchSpec,
  RouteSource,
  SecretRef,
  UpstreamSpec,
} from './route.ts';

/** Defaults the policy may override, from the gateway settings. Milliseconds. */
export interface CompileDefaults {
  /** GATEWAY_UPSTREAM_TIMEOUT_MS (30000 unless configured). */
  readonly upstreamTimeoutMs: number;
  /** GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS (5000 unless configured). */
  readonly upstreamConnectTimeoutMs: number;
}

/** Freezes objects and arrays recursively; functions (an IpFilter's methods) are left as they are. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A secret reference as written in a policy: the string, or `{ ref, refreshIntervalSeconds }`. */
export type SecretRefInput =
  string | { readonly ref: string; readonly refreshIntervalSeconds?: number | undefined };

/** `env:NAME` / `file:/path` / `keyvault:https://...` → SecretRef; throws ConfigError for anything else. */
export function parseSecretRef(input: SecretRefInput): SecretRef {
  const text = typeof input === 'string' ? input : input.ref;
  if (text.startsWith('env:')) return { kind: 'env', name: text.slice(4), text };
  if (text.startsWith('file:/')) return { kind: 'file', path: text.slice(5), text };
  if (text.startsWith(KEYVAULT_PREFIX)) {
    const parsed = parseKeyVaultRef(text);
    if ('error' in parsed) throw new ConfigError(`secret reference: ${parsed.error}`);
    const refreshIntervalSeconds = typeof input === 'string' ? undefined : input.refreshIntervalSeconds;
    return { kind: 'keyvault', ...parsed, refreshIntervalSeconds, text };
  }
  throw new ConfigError(`secret reference must be env:NAME, file:/absolute/path or keyvault:https://...`);
}

/** `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4). */
export function discoveryUrlFor(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}

function compileMatch(match: PolicyRoute['match']): RouteMatchSpec {
  const spec: { -readonly [K in keyof RouteMatchSpec]: RouteMatchSpec[K] } = {};
  if (match.path !== undefined) spec.path = match.path;
  if (match.pathPrefix !== undefined) spec.pathPrefix = match.pathPrefix;
  if (match.pattern !== undefined) spec.pattern = match.pattern;
  if (match.methods !== undefined) spec.methods = [...new Set(match.methods)];
  if (match.host !== undefined) spec.host = match.host;
  return spec;
}

function compileJwt(jwt: NonNullable<PolicyRoute['validateJwt']>): JwtRequirements {
  // The schema guarantees issuer, or openidConfig together with issuers.
  const issuer = jwt.issuer ?? jwt.issuers?.[0];
  if (issuer === undefined) throw new ConfigError('validateJwt: issuer is required');
  const scopes = jwt.requiredScopes;
  return {
    issuer,
    discoveryUrl: jwt.openidConfig ?? discoveryUrlFor(issuer),
    issuers: jwt.issuers ?? [issuer],
    audiences: jwt.anyAudience ? 'any' : (jwt.audiences ?? []),
    requiredScopes:
      scopes === undefined ? undefined : Array.isArray(scopes) ? { match: 'all', values: scopes } : scopes,
    requiredClaims: jwt.requiredClaims.map((claim) => ({
      name: claim.name,
      path: claim.name.split('.'),
      match: claim.match,
      values: claim.values,
    })),
    algorithms: [...new Set(jwt.algorithms)],
    clockSkewSeconds: jwt.clockSkewSeconds,
    requireExpiration: jwt.requireExpiration,
    maxTokenAgeSeconds: jwt.maxTokenAgeSeconds,
    maxLifetimeSeconds: jwt.maxLifetimeSeconds,
  };
}

function compileUpstream(upstream: PolicyRoute['upstream'], defaults: CompileDefaults): UpstreamSpec {
  const url = new URL(upstream.url);
  const strip = upstream.stripPrefix === undefined ? '' : normalizePrefix(upstream.stripPrefix);
  const credential = upstream.credential;
  const spec = credential === undefined ? undefined : compileCredential(credential);
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    // Never ends with '/', so `basePath + path.slice(stripPrefix.length)` keeps the slash.
    stripPrefix: strip === '' ? undefined : strip,
    connectTimeoutMs: upstream.connectTimeoutMs ?? defaults.upstreamConnectTimeoutMs,
    timeoutMs: upstream.timeoutMs ?? defaults.upstreamTimeoutMs,
    credential: spec,
    ...(upstream.healthPath === undefined ? {} : { healthPath: upstream.healthPath }),
  };
}

type PolicyCredential = NonNullable<PolicyRoute['upstream']['credential']>;

/** The schema's cross-field rules guarantee the fields each type needs; re-checked here to fail closed. */
function compileCredential(credential: PolicyCredential): CredentialSpec {
  const header = credential.header ?? 'authorization';
  if (credential.type !== 'clientCredentials') {
    if (credential.secret === undefined) throw new ConfigError(`credential: secret is required`);
    return { type: credential.type, header, secret: parseSecretRef(credential.secret) };
  }
  if (credential.clientId === undefined) throw new ConfigError('credential: clientId is required');
  const authMethod = credential.authMethod ?? 'client_secret_basic';
  const scope = Array.isArray(credential.scope)
    ? credential.scope.join(' ')
    : credential.scope
        ?.split(' ')
        .filter((s) => s !== '')
        .join(' ');
  return {
    type: 'clientCredentials',
    header,
    tokenUrl: credential.tokenUrl,
    issuer: credential.issuer,
    clientId: credential.clientId,
    authMethod,
    clientSecret: credential.clientSecret === undefined ? undefined : parseSecretRef(credential.clientSecret),
    privateKey: credential.privateKey === undefined ? undefined : parseSecretRef(credential.privateKey),
    keyId: credential.keyId,
    signingAlgorithm: credential.signingAlgorithm ?? 'RS256',
    scope,
    audience: credential.audience,
    resource: credential.resource,
    refreshSkewSeconds: credential.refreshSkewSeconds ?? 60,
    timeoutMs: credential.timeoutMs ?? 10_000,
  };
}

/**
 * Compiles one validated route.
 *
 * @param route output of `RouteSchema` (defaults applied, cross-field rules passed).
 * @param source where it came from, kept for logs and messages.
 * @param defaults upstream timeouts from the settings.
 * @returns a deep-frozen CompiledRoute.
 */
export function compileRoute(
  route: PolicyRoute,
  source: RouteSource,
  defaults: CompileDefaults,
): CompiledRoute {
  // Fail closed: only an explicit `anonymous: true` yields a route without token validation.
  if (!route.anonymous && route.validateJwt === undefined) {
    throw new ConfigError(`route ${route.id}: validateJwt is required unless anonymous: true`);
  }
  const auth: RouteAuth =
    route.validateJwt === undefined
      ? { kind: 'anonymous' }
      : { kind: 'jwt', jwt: compileJwt(route.validateJwt) };
  return deepFreeze({
    id: route.id,
    source: { ...source },
    match: compileMatch(route.match),
    ipFilter: route.ipFilter === undefined ? undefined : compileIpFilter(route.ipFilter),
    auth,
    upstream: compileUpstream(route.upstream, defaults),
    forwardClaims: Object.entries(route.forwardClaims ?? {}).map(([claim, header]) => ({
      claim: claim.split('.'),
      header,
    })),
    forwardToken: route.forwardToken,
  });
}
