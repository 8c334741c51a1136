/**
 * The small part of `oidc-provider` (a devDependency without bundled types) that the local IdP
 * uses. Kept narrow on purpose: only what `local-idp.ts` and `idp-provider.ts` touch.
 */
declare module 'oidc-provider' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface AdapterPayload {
    readonly [key: string]: unknown;
  }

  export interface Adapter {
    upsert(id: string, payload: AdapterPayload, expiresIn: number): Promise<void>;
    find(id: string): Promise<AdapterPayload | undefined>;
    findByUserCode(userCode: string): Promise<AdapterPayload | undefined>;
    findByUid(uid: string): Promise<AdapterPayload | undefined>;
    consume(id: string): Promise<void>;
    destroy(id: string): Promise<void>;
    revokeByGrantId(grantId: string): Promise<void>;
  }

  export interface ClientMetadata {
    client_id: string;
    client_secret: string;
    grant_types: string[];
    redirect_uris: string[];
    response_types: string[];
    token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post' | 'private_key_jwt';
    /** Public keys, for private_key_jwt clients. */
    jwks?: { keys: Record<string, unknown>[] };
  }

  export interface ClientInfo {
    readonly clientId: string;
  }

  export interface TokenInfo {
    readonly clientId: string;
  }

  export interface ResourceServerInfo {
    audience: string;
    scope: string;
    accessTokenFormat: 'jwt' | 'opaque';
    accessTokenTTL?: number;
    jwt?: { sign?: { alg?: string; kid?: string } };
  }

  export interface Configuration {
    adapter?: (name: string) => Adapter;
    clients: ClientMetadata[];
    jwks: { keys: Record<string, unknown>[] };
    scopes?: string[];
    features: {
      devInteractions?: { enabled: boolean };
      clientCredentials?: { enabled: boolean };
      resourceIndicators?: {
        enabled: boolean;
        defaultResource?: (
          ctx: unknown,
          client: ClientInfo,
          oneOf?: string[],
        ) => Promise<string | string[] | undefined>;
        useGrantedResource?: (ctx: unknown, model: unknown) => Promise<boolean>;
        getResourceServerInfo?: (
          ctx: unknown,
          resourceIndicator: string,
          client: ClientInfo,
        ) => Promise<ResourceServerInfo>;
      };
    };
    extraTokenClaims?: (ctx: unknown, token: TokenInfo) => Promise<Record<string, unknown> | undefined>;
    routes?: Record<string, string>;
    /** Seconds per artifact kind (e.g. `ClientCredentials`). */
    ttl?: Record<string, number>;
    clientBasedCORS?: (ctx: unknown, origin: string, client: ClientInfo) => boolean;
  }

  export default class Provider {
    constructor(issuer: string, configuration: Configuration);
    /** Koa's request listener. */
    callback(): (req: IncomingMessage, res: ServerResponse) => Promise<void>;
    /** Koa: do not log errors to stderr. */
    silent: boolean;
  }

  export const errors: {
    InvalidTarget: new (description?: string) => Error;
  };
}
