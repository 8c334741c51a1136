/**
 * The compiled, immutable form of one policy route: what the request path runs against.
 * Built once at load by `policy/compile.ts` from a validated policy file; never mutated. A reload
 * builds a whole new `RouteTable` and swaps it atomically.
 */
import type { IpFilter } from '../ipfilter/ip-filter.ts';

/** Where a route came from, for logs, `explain` and error messages. */
export interface RouteSource {
  /** Policy file path as given to the loader. */
  readonly file: string;
  /** Index of the route in the file's `routes` list. */
  readonly index: number;
  /** 1-based line and column of the route's mapping in the file, when loaded from YAML. */
  readonly line?: number;
  readonly column?: number;
}

export interface RouteMatchSpec {
  /** Exact path, e.g. `/status`. */
  readonly path?: string;
  /** Path prefix on segment boundaries: `/connectors/adls/` matches `/connectors/adls/x`. */
  readonly pathPrefix?: string;
  /** Simple pattern: `*` matches exactly one path segment, a trailing `/**` any rest. */
  readonly pattern?: string;
  /** Upper-case methods; undefined = any method. */
  readonly methods?: readonly string[];
  /** Lower-case host without port; undefined = any host. */
  readonly host?: string;
}

/** A dotted claim path (`resource_access.my-client.roles`) split into its segments. */
export interface ClaimRequirement {
  /** The name as written in the policy, for messages. */
  readonly name: string;
  readonly path: readonly string[];
  readonly match: 'all' | 'any';
  readonly values: readonly string[];
}

export interface ScopeRequirement {
  readonly match: 'all' | 'any';
  readonly values: readonly string[];
}

/** `validateJwt` after defaults are applied. Units: seconds. */
export interface JwtRequirements {
  /** The issuer whose discovery document and JWKS are fetched (equals discovery's `issuer`). */
  readonly issuer: string;
  /** `{issuer}/.well-known/openid-configuration` unless `openidConfig` was given. */
  readonly discoveryUrl: string;
  /** Accepted `iss` values (defaults to `[issuer]`). */
  readonly issuers: readonly string[];
  /** Accepted `aud` values (any-of), or `'any'` when the route says `anyAudience: true`. */
  readonly audiences: readonly string[] | 'any';
  readonly requiredScopes: ScopeRequirement | undefined;
  readonly requiredClaims: readonly ClaimRequirement[];
  /** Allowed JWS algorithms; never contains `none` or `HS*` (rejected at load). */
  readonly algorithms: readonly string[];
  /** Default 30. */
  readonly clockSkewSeconds: number;
  /** Default true. */
  readonly requireExpiration: boolean;
  /** Reject tokens whose `iat` is older than this; undefined = no limit. */
  readonly maxTokenAgeSeconds: number | undefined;
  /** Reject tokens with `exp - iat` above this. Default 86400. */
  readonly maxLifetimeSeconds: number;
}

export type RouteAuth =
  { readonly kind: 'anonymous' } | { readonly kind: 'jwt'; readonly jwt: JwtRequirements };

/** A secret reference: `env:NAME` or `file:/path` (issue 4 adds `keyvault:`). */
export type SecretRef =
  | { readonly kind: 'env'; readonly name: string; readonly text: string }
  | { readonly kind: 'file'; readonly path: string; readonly text: string };

/** What the gateway sends upstream as the connector's own credential. */
export type CredentialSpec =
  | { readonly type: 'apiKey'; readonly header: string; readonly secret: SecretRef }
  | { readonly type: 'bearer'; readonly header: string; readonly secret: SecretRef };

export interface UpstreamSpec {
  /** Origin only (`https://host:port`), used to key the connection pool. */
  readonly origin: string;
  /** Path of the upstream URL without trailing slash (`/api` or ''), prepended after rewrite. */
  readonly basePath: string;
  /** Removed from the start of the request path before `basePath` is prepended. */
  readonly stripPrefix: string | undefined;
  /** Milliseconds; defaults come from the gateway settings. */
  readonly connectTimeoutMs: number;
  /** Milliseconds to wait for the upstream's response headers. */
  readonly timeoutMs: number;
  readonly credential: CredentialSpec | undefined;
}

export interface CompiledRoute {
  /** Unique across all policy files; appears in logs and metrics. */
  readonly id: string;
  readonly source: RouteSource;
  readonly match: RouteMatchSpec;
  readonly ipFilter: IpFilter | undefined;
  readonly auth: RouteAuth;
  readonly upstream: UpstreamSpec;
  /** Claim path → upstream header name (lower-case), in policy order. */
  readonly forwardClaims: readonly { readonly claim: readonly string[]; readonly header: string }[];
  /** Forward the caller's Authorization header upstream. Default false. */
  readonly forwardToken: boolean;
}
