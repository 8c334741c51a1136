/**
 * Builds the oidc-provider instances behind the local IdP: Keycloak's client-credentials flow with
 * JWT access tokens (RFC 9068 shape plus Keycloak's `typ`, `azp`, `realm_access` and
 * `resource_access` claims).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Provider, { errors, type Configuration } from 'oidc-provider';
import { createMemoryAdapter } from './memory-adapter.ts';

/** One confidential client of the local IdP. */
export interface LocalIdpClient {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Space-separated scopes this client may receive; default: every scope of the IdP. */
  readonly scope?: string;
  /** Keycloak realm roles, issued as `realm_access.roles`; default none. */
  readonly roles?: readonly string[];
  /** Keycloak client roles, issued as `resource_access.<client>.roles`; default none. */
  readonly resourceAccess?: Readonly<Record<string, readonly string[]>>;
  /**
   * Public keys of a client that authenticates with `private_key_jwt` (RFC 7523) instead of its
   * secret (Keycloak's "Signed JWT" client authenticator). Default: secret authentication.
   */
  readonly jwks?: { readonly keys: readonly Record<string, unknown>[] };
}

export interface ProviderSetup {
  readonly issuer: string;
  readonly audience: string;
  readonly scopes: readonly string[];
  readonly clients: readonly LocalIdpClient[];
  /** Private JWKs (with `kid`, `alg`, `use`); all are published at the JWKS endpoint. */
  readonly keys: readonly Record<string, unknown>[];
  /** The `kid` access tokens are signed with. */
  readonly signingKid: string;
  /** Seconds. */
  readonly accessTokenTtlSeconds: number;
}

export type Listener = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** oidc-provider only issues JWT access tokens for a resource server (RFC 8707). */
const RESOURCE = 'urn:local-idp:resource';

/** Paths relative to the realm, as Keycloak names them. */
export const REALM_ROUTES = {
  token: '/protocol/openid-connect/token',
  jwks: '/protocol/openid-connect/certs',
  introspection: '/protocol/openid-connect/token/introspect',
  revocation: '/protocol/openid-connect/revoke',
  userinfo: '/protocol/openid-connect/userinfo',
  authorization: '/protocol/openid-connect/auth',
  end_session: '/protocol/openid-connect/logout',
} as const;

function configuration(
  setup: ProviderSetup,
  authMethod: 'client_secret_basic' | 'client_secret_post',
): Configuration {
  const byId = new Map(setup.clients.map((client) => [client.clientId, client]));
  const allowedScopes = (clientId: string): string => {
    const allowed = byId.get(clientId)?.scope?.split(' ') ?? setup.scopes;
    return allowed.filter((scope) => setup.scopes.includes(scope)).join(' ');
  };
  return {
    adapter: createMemoryAdapter(),
    clients: setup.clients.map((client) => ({
      client_id: client.clientId,
      client_secret: client.clientSecret,
      grant_types: ['client_credentials'],
      redirect_uris: [],
      response_types: [],
      // A client with keys authenticates with a signed assertion in the form body, whichever
      // provider instance serves it (the local IdP routes requests without Authorization to `post`).
      ...(client.jwks === undefined
        ? { token_endpoint_auth_method: authMethod }
        : { token_endpoint_auth_method: 'private_key_jwt', jwks: { keys: [...client.jwks.keys] } }),
    })),
    jwks: { keys: [...setup.keys] },
    scopes: ['openid', ...setup.scopes],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => Promise.resolve(RESOURCE),
        useGrantedResource: () => Promise.resolve(true),
        // Keycloak silently drops scopes a client may not have (RFC 6749 §3.3 allows either);
        // oidc-provider keeps only scopes the resource server lists, so list the client's own.
        getResourceServerInfo: (_ctx, indicator, client) => {
          if (indicator !== RESOURCE) return Promise.reject(new errors.InvalidTarget());
          return Promise.resolve({
            audience: setup.audience,
            scope: allowedScopes(client.clientId),
            accessTokenFormat: 'jwt',
            accessTokenTTL: setup.accessTokenTtlSeconds,
            jwt: { sign: { alg: 'RS256', kid: setup.signingKid } },
          });
        },
      },
    },
    extraTokenClaims: (_ctx, token) => {
      const client = byId.get(token.clientId);
      const resourceAccess = Object.fromEntries(
        Object.entries(client?.resourceAccess ?? {}).map(([name, roles]) => [name, { roles: [...roles] }]),
      );
      return Promise.resolve({
        typ: 'Bearer',
        azp: token.clientId,
        realm_access: { roles: [...(client?.roles ?? [])] },
        ...(Object.keys(resourceAccess).length > 0 ? { resource_access: resourceAccess } : {}),
      });
    },
    routes: { ...REALM_ROUTES },
    ttl: { ClientCredentials: setup.accessTokenTtlSeconds },
  };
}

/**
 * Two providers with identical keys and clients: oidc-provider binds each client to one
 * authentication method, Keycloak accepts both `client_secret_basic` and `client_secret_post`
 * (RFC 6749 §2.3.1). The caller routes token requests without an Authorization header to `post`.
 */
export function createProviders(setup: ProviderSetup): { basic: Listener; post: Listener } {
  const basic = new Provider(setup.issuer, configuration(setup, 'client_secret_basic'));
  const post = new Provider(setup.issuer, configuration(setup, 'client_secret_post'));
  basic.silent = true;
  post.silent = true;
  return { basic: basic.callback(), post: post.callback() };
}
