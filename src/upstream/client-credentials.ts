/**
 * OAuth 2.0 client credentials (RFC 6749 §4.4) as an upstream credential: `Bearer <access token>`.
 *
 * - The token is cached until `refreshSkewSeconds` before its `expires_in` runs out and renewed
 *   in the background well before that, so requests never wait for the token endpoint.
 * - Single-flight: one token request at a time; every request on a cold cache waits for it.
 * - Failures retry with backoff (Retry-After honoured); a still-valid token keeps being served;
 *   without one, `value()` rejects with `upstream_credential_unavailable` (503) at once rather
 *   than sending every waiting request to a failing endpoint. `invalid_client` is logged as a
 *   configuration error (client id and endpoint, never the secret).
 * - Every token request is logged as an audit event (endpoint, client, outcome, duration).
 */
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors.ts';
import type { ClientCredentialsSpec, SecretRef } from '../policy/route.ts';
import { Backoff, type BackoffOptions } from './backoff.ts';
import { privateKeyProblem } from './client-assertion.ts';
import type { CredentialProvider, CredentialStatus } from './credential-provider.ts';
import { Refresher } from './refresher.ts';
import type { CredentialLog, SecretSource } from './secret-source.ts';
import {
  discoverTokenEndpoint,
  requestClientCredentialsToken,
  TokenEndpointError,
} from './token-endpoint.ts';

export interface ClientCredentialsOptions {
  readonly log: CredentialLog;
  readonly backoff: BackoffOptions | undefined;
  /** Opens the client secret / private key reference (env:, file: or keyvault:). */
  readonly openSecret: (ref: SecretRef, check?: (value: string) => string | undefined) => SecretSource;
  /** Least milliseconds between two token requests forced by upstream 401s. Default 2000. */
  readonly renewCooldownMs?: number;
}

/** Seconds a token without `expires_in` is used (RFC 6749 §5.1 leaves it to the client). */
const DEFAULT_LIFETIME_SECONDS = 300;
/** Fraction of the usable lifetime after which the background refresh starts. */
const REFRESH_AT = 0.75;

interface CachedToken {
  /** The header value: `Bearer <access token>`. */
  readonly header: string;
  readonly expiresAt: number;
  /** After this (expiry minus skew) the token is no longer sent. */
  readonly usableUntil: number;
}

export class ClientCredentialsProvider implements CredentialProvider {
  readonly type = 'clientCredentials';
  readonly header: string;
  readonly source: string;
  readonly #spec: ClientCredentialsSpec;
  readonly #options: ClientCredentialsOptions;
  readonly #secret: SecretSource;
  readonly #backoff: Backoff;
  #token: CachedToken | undefined;
  #tokenUrl: string | undefined;
  readonly #refresher = new Refresher(() => this.#attempt());
  /** While backing off, requests on an empty cache fail fast instead of calling the endpoint. */
  #notBefore = 0;
  #reason: string | undefined;
  #loggedKind: string | undefined;
  #obtained = false;
  #lastCheckAt: number | undefined;
  #lastForcedAt = Number.NEGATIVE_INFINITY;

  constructor(spec: ClientCredentialsSpec, options: ClientCredentialsOptions) {
    this.#spec = spec;
    this.#options = options;
    this.header = spec.header.toLowerCase();
    this.source = `${spec.clientId}@${spec.tokenUrl ?? spec.issuer ?? ''}`;
    this.#tokenUrl = spec.tokenUrl;
    this.#backoff = new Backoff(options.backoff);
    const ref = spec.authMethod === 'private_key_jwt' ? spec.privateKey : spec.clientSecret;
    if (ref === undefined) throw new Error(`${this.source}: no client secret or private key reference`);
    this.#secret = options.openSecret(
      ref,
      spec.authMethod === 'private_key_jwt' ? privateKeyProblem : undefined,
    );
    // Fetch at start so a broken configuration is logged at load, not at the first request.
    void this.#fetch();
  }

  /** The access token's header value while it is usable; undefined when `value()` must be asked. */
  ready(): string | undefined {
    return this.#usable()?.header;
  }

  value(): Promise<string> {
    const token = this.#usable();
    if (token !== undefined) return Promise.resolve(token.header);
    if (!this.#refresher.running && Date.now() < this.#notBefore) return Promise.reject(this.#unavailable());
    return this.#fetch().then(() => this.#usable()?.header ?? Promise.reject(this.#unavailable()));
  }

  invalidate(): void {
    this.#token = undefined;
    void this.#fetch();
  }

  async renew(rejected: string): Promise<string | undefined> {
    const token = this.#usable();
    if (token !== undefined && token.header !== rejected) return token.header;
    if (!this.#refresher.running) {
      // The upstream may reject every fresh token too (wrong audience): do not hammer the IdP.
      const now = performance.now();
      if (now - this.#lastForcedAt < (this.#options.renewCooldownMs ?? 2000)) return undefined;
      this.#lastForcedAt = now;
    }
    await this.#fetch();
    const next = this.#usable();
    return next !== undefined && next.header !== rejected ? next.header : undefined;
  }

  status(): CredentialStatus {
    const token = this.#usable();
    const secret = this.#secret.status?.();
    const failing = this.#backoff.failures > 0;
    const state = failing
      ? 'failed'
      : !this.#obtained
        ? 'pending'
        : secret?.state === 'expiring'
          ? 'expiring'
          : 'authenticated';
    const reason =
      failing || token === undefined
        ? this.#reason
        : secret?.state === 'expiring'
          ? `client secret ${this.#secret.ref} expires at ${secret.expiresAt ?? '?'}`
          : undefined;
    return {
      available: token !== undefined,
      ...(reason === undefined ? {} : { reason }),
      state,
      obtained: this.#obtained,
      ...(this.#lastCheckAt === undefined ? {} : { lastCheckAt: new Date(this.#lastCheckAt).toISOString() }),
      ...(token === undefined ? {} : { expiresAt: new Date(token.expiresAt).toISOString() }),
    };
  }

  close(): void {
    this.#refresher.close();
    this.#secret.close();
  }

  #usable(): CachedToken | undefined {
    const token = this.#token;
    return token !== undefined && Date.now() < token.usableUntil ? token : undefined;
  }

  #unavailable(): GatewayError {
    return new GatewayError('upstream_credential_unavailable', 'The upstream credential is unavailable.', {
      cause: new Error(`credential ${this.source}: ${this.#reason ?? 'no access token yet'}`),
    });
  }

  /** One token request at a time; callers during a request join it. Never rejects. */
  #fetch(): Promise<void> {
    return this.#refresher.now();
  }

  async #attempt(): Promise<void> {
    const started = performance.now();
    let outcome = 'ok';
    let status: number | undefined;
    let expiresIn: number | undefined;
    try {
      const tokenUrl = await this.#endpoint();
      await this.#secret.pending?.();
      const credential = this.#secret.current();
      if (credential === undefined) {
        throw new TokenEndpointError(
          'secret_unavailable',
          `${this.#secret.ref}: ${this.#secret.reason() ?? 'is unavailable'}`,
        );
      }
      const issued = await requestClientCredentialsToken({
        tokenUrl,
        clientId: this.#spec.clientId,
        authMethod: this.#spec.authMethod,
        credential,
        keyId: this.#spec.keyId,
        signingAlgorithm: this.#spec.signingAlgorithm,
        scope: this.#spec.scope,
        audience: this.#spec.audience,
        resource: this.#spec.resource,
        timeoutMs: this.#spec.timeoutMs,
      });
      expiresIn = issued.expiresInSeconds;
      if (!this.#refresher.closed) this.#succeeded(issued.accessToken, issued.expiresInSeconds);
    } catch (error) {
      const failure =
        error instanceof TokenEndpointError
          ? error
          : new TokenEndpointError('network', error instanceof Error ? error.message : String(error));
      outcome = failure.oauthError ?? failure.kind;
      status = failure.status;
      if (!this.#refresher.closed) this.#failed(failure);
    } finally {
      this.#lastCheckAt = Date.now();
      this.#options.log.info(
        {
          event: 'audit',
          action: 'oauth2.token',
          source: this.source,
          clientId: this.#spec.clientId,
          outcome,
          ...(status === undefined ? {} : { status }),
          ...(expiresIn === undefined ? {} : { expiresIn }),
          durationMs: Math.round(performance.now() - started),
        },
        'token request',
      );
    }
  }

  async #endpoint(): Promise<string> {
    if (this.#tokenUrl !== undefined) return this.#tokenUrl;
    const issuer = this.#spec.issuer;
    if (issuer === undefined) throw new TokenEndpointError('invalid_response', 'no tokenUrl and no issuer');
    this.#tokenUrl = await discoverTokenEndpoint(issuer, this.#spec.timeoutMs);
    return this.#tokenUrl;
  }

  #succeeded(accessToken: string, expiresInSeconds: number | undefined): void {
    const now = Date.now();
    const lifetimeMs = (expiresInSeconds ?? DEFAULT_LIFETIME_SECONDS) * 1000;
    // A skew as long as the lifetime would make every token unusable on arrival: cap it at half.
    const skewMs = Math.min(this.#spec.refreshSkewSeconds * 1000, lifetimeMs / 2);
    const usableUntil = now + lifetimeMs - skewMs;
    this.#token = { header: `Bearer ${accessToken}`, expiresAt: now + lifetimeMs, usableUntil };
    const failures = this.#backoff.failures;
    this.#backoff.reset();
    this.#notBefore = 0;
    this.#reason = undefined;
    this.#loggedKind = undefined;
    this.#obtained = true;
    if (failures > 0) this.#options.log.info({ source: this.source, failures }, 'token requests recovered');
    this.#refresher.after((usableUntil - now) * REFRESH_AT);
  }

  #failed(failure: TokenEndpointError): void {
    this.#reason = failure.message;
    const token = this.#usable();
    const delay = this.#backoff.fail(failure.retryAfterMs);
    this.#notBefore = Date.now() + delay;
    if (failure.kind === 'invalid_client') {
      // Perhaps the secret was rotated at the IdP first: look for a new one before the next try.
      void this.#secret.refresh();
      if (this.#spec.tokenUrl === undefined) this.#tokenUrl = undefined;
    }
    // Once per failure streak (and again if the kind of failure changes).
    if (this.#loggedKind !== failure.kind) {
      this.#loggedKind = failure.kind;
      const fields = {
        source: this.source,
        clientId: this.#spec.clientId,
        outcome: failure.oauthError ?? failure.kind,
        reason: failure.message,
        retryInMs: delay,
        servingCachedToken: token !== undefined,
      };
      if (failure.kind === 'invalid_client') {
        const log = this.#options.log;
        (log.error ?? log.warn).call(
          log,
          fields,
          'token endpoint rejected the client (invalid_client): check clientId, the client secret or key, and authMethod',
        );
      } else {
        this.#options.log.warn(
          fields,
          token === undefined
            ? 'token request failed; the upstream credential is unavailable'
            : 'token request failed; serving the cached token while it is valid',
        );
      }
    }
    this.#refresher.after(delay);
  }
}
