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

/**
 * A secret reference: `env:NAME`, `file:/path` or
 * `keyvault:https://<vault>/secrets/<name>[/<version>]` (the secret identifier URL of Azure Key Vault).
 */
export type SecretRef =
  | { readonly kind: 'env'; readonly name: string; readonly text: string }
  | { readonly kind: 'file'; readonly path: string; readonly text: string }
  | {
      readonly kind: 'keyvault';
      /** The vault's origin, e.g. `https://my-vault.vault.azure.net`. */
      readonly vaultUrl: string;
      /** Secret name (1-127 letters, digits and dashes). */
      readonly name: string;
      /** A pinned version; undefined = the newest enabled version within its nbf/exp window. */
      readonly version: string | undefined;
      /** Seconds between background refreshes; undefined = GATEWAY_KEYVAULT_REFRESH_SECONDS. */
      readonly refreshIntervalSeconds: number | undefined;
      /** The reference as written (`keyvault:https://...`), safe to log. */
      readonly text: string;
    };

/** How the gateway authenticates at the token endpoint (RFC 6749 §2.3.1, RFC 7523 §2.2). */
export type ClientAuthMethod = 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';

/** OAuth 2.0 client credentials grant (RFC 6749 §4.4): the access token is sent as `Bearer <token>`. */
export interface ClientCredentialsSpec {
  readonly type: 'clientCredentials';
  /** Lower-case header; default `authorization`. */
  readonly header: string;
  /** The token endpoint; exactly one of tokenUrl and issuer is set. */
  readonly tokenUrl: string | undefined;
  /** Issuer whose discovery document names the token endpoint (OpenID Connect Discovery 1.0 §4). */
  readonly issuer: string | undefined;
  readonly clientId: string;
  readonly authMethod: ClientAuthMethod;
  /** For client_secret_basic and client_secret_post. */
  readonly clientSecret: SecretRef | undefined;
  /** For private_key_jwt: a PKCS#8 PEM or a private JWK (JSON). */
  readonly privateKey: SecretRef | undefined;
  /** `kid` of the client assertion's header (private_key_jwt). */
  readonly keyId: string | undefined;
  /** JWS algorithm of the client assertion (private_key_jwt). Default RS256. */
  readonly signingAlgorithm: string;
  /** Space-separated scopes (RFC 6749 §3.3); undefined = none sent. */
  readonly scope: string | undefined;
  /** Extra `audience` parameter (Okta, Auth0, Keycloak). */
  readonly audience: string | undefined;
  /** Extra `resource` parameter (Entra ID v1, RFC 8707). */
  readonly resource: string | undefined;
  /** Seconds before `expires_in` runs out at which a token is no longer sent. Default 60. */
  readonly refreshSkewSeconds: number;
  /** Milliseconds one token (or discovery) request may take. Default 10000. */
  readonly timeoutMs: number;
}

/** What the gateway sends upstream as the connector's own credential. */
export type CredentialSpec =
  | { readonly type: 'apiKey'; readonly header: string; readonly secret: SecretRef }
  | { readonly type: 'bearer'; readonly header: string; readonly secret: SecretRef }
  | ClientCredentialsSpec;

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
  /**
   * Path under the upstream URL that `connector-gateway check` calls with the credential
   * (e.g. `/health` → `GET {url}/health`); undefined = no health call.
   */
  readonly healthPath?: string;
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
