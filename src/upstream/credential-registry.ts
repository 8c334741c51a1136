/**
 * One credential provider per distinct CredentialSpec, shared by every route that uses it, and
 * picked by `spec.type` from a factory map: static secrets (`env:`, `file:`, `keyvault:`) as
 * apiKey/bearer headers, and OAuth2 client credentials.
 */
import { ConfigError } from '../errors.ts';
import type { CompiledRoute, CredentialSpec, SecretRef } from '../policy/route.ts';
import type { BackoffOptions } from './backoff.ts';
import { ClientCredentialsProvider } from './client-credentials.ts';
import type { CredentialProvider, CredentialStatus } from './credential-provider.ts';
import { KeyVaultClients, type KeyVaultSettings } from './keyvault-clients.ts';
import { KeyVaultSecretSource } from './keyvault-secret-source.ts';
import {
  openSecretSource,
  secretProblem,
  silentLog,
  type CredentialLog,
  type SecretSource,
} from './secret-source.ts';
import { StaticCredentialProvider } from './static-credential.ts';

/** What a factory gets besides its spec. */
export interface CredentialContext {
  readonly env: NodeJS.ProcessEnv;
  readonly log: CredentialLog;
  /** Watch secret files for changes. */
  readonly watchSecrets: boolean;
  /** Milliseconds between fallback re-reads of secret files; 0 = none. */
  readonly secretPollIntervalMs: number;
  /** Retry timing of remote sources (Key Vault, token endpoints). */
  readonly backoff: BackoffOptions | undefined;
  /**
   * Opens any secret reference with the registry's settings. `check` says why a value cannot
   * be used (default: not a valid header value, RFC 9110 §5.5).
   */
  openSecret(ref: SecretRef, check?: (value: string) => string | undefined): SecretSource;
}

export type CredentialFactory<S extends CredentialSpec = CredentialSpec> = (
  spec: S,
  context: CredentialContext,
) => CredentialProvider;

/** A factory for every `CredentialSpec['type']`; a new type without a factory fails to compile. */
export type CredentialFactories = {
  readonly [T in CredentialSpec['type']]: CredentialFactory<Extract<CredentialSpec, { type: T }>>;
};

const staticFactory: CredentialFactory<Extract<CredentialSpec, { type: 'apiKey' | 'bearer' }>> = (
  spec,
  context,
) => new StaticCredentialProvider(spec, context.openSecret(spec.secret));

/** The factories shipped with the gateway. */
export const defaultCredentialFactories: CredentialFactories = {
  apiKey: staticFactory,
  bearer: staticFactory,
  clientCredentials: (spec, context) =>
    new ClientCredentialsProvider(spec, {
      log: context.log,
      backoff: context.backoff,
      openSecret: (ref, check) => context.openSecret(ref, check),
    }),
};

export interface CredentialRegistryOptions {
  /** Factories by `spec.type`. Default `defaultCredentialFactories`. */
  readonly factories?: CredentialFactories;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: logs nothing. Pass the gateway's pino logger. */
  readonly logger?: CredentialLog;
  /** Default true. */
  readonly watchSecrets?: boolean;
  /** Milliseconds; default 10000; 0 disables the fallback re-read. */
  readonly secretPollIntervalMs?: number;
  /** Azure credential and challenge verification. Default: managed identity, verification on. */
  readonly keyVault?: KeyVaultSettings;
  /** Seconds between background reads of a keyvault: secret without its own interval. Default 300. */
  readonly keyVaultRefreshSeconds?: number;
  /** Milliseconds one Key Vault read may take. Default 10000. */
  readonly keyVaultTimeoutMs?: number;
  /** Days before a secret's `exp` from which it shows as `expiring`. Default 14. */
  readonly secretExpiryWarningDays?: number;
  /** Seconds a rotated-out Key Vault value stays usable for 401 retries. Default 300. */
  readonly secretRotationGraceSeconds?: number;
  /** Retry timing of remote sources. Default: 1 s doubling to 60 s, 20 % jitter. */
  readonly backoff?: BackoffOptions;
  /** Least milliseconds between two Key Vault reads forced by upstream 401s. Default 5000. */
  readonly renewCooldownMs?: number;
}

/** One provider's health, for `/readyz` details and the log. Never contains a value. */
export interface CredentialProviderStatus extends CredentialStatus {
  readonly type: string;
  readonly header: string;
  readonly source: string;
}

/** A route's credential health: the `/readyz` detail and the rows of `connector-gateway check`. */
export interface RouteCredentialStatus extends CredentialProviderStatus {
  readonly route: string;
  /** The upstream's origin. */
  readonly upstream: string;
}

export class CredentialRegistry {
  readonly #factories: CredentialFactories;
  readonly #context: CredentialContext;
  /** Keyed by the spec's JSON: two routes with equal specs share one provider. */
  readonly #providers = new Map<string, CredentialProvider>();
  readonly #byRoute = new WeakMap<CompiledRoute, CredentialProvider>();

  readonly #options: CredentialRegistryOptions;
  #keyVault: KeyVaultClients | undefined;

  constructor(options: CredentialRegistryOptions = {}) {
    this.#factories = options.factories ?? defaultCredentialFactories;
    this.#options = options;
    const env = options.env ?? process.env;
    const log = options.logger ?? silentLog;
    const watchSecrets = options.watchSecrets ?? true;
    const secretPollIntervalMs = options.secretPollIntervalMs ?? 10_000;
    this.#context = {
      env,
      log,
      watchSecrets,
      secretPollIntervalMs,
      backoff: options.backoff,
      openSecret: (ref, check = secretProblem) => {
        if (ref.kind !== 'keyvault') {
          return openSecretSource(ref, {
            env,
            log,
            watch: watchSecrets,
            pollIntervalMs: secretPollIntervalMs,
            check,
          });
        }
        const clients = this.#keyVaultClients();
        return new KeyVaultSecretSource(ref, {
          reader: (vaultUrl) => clients.reader(vaultUrl),
          log,
          refreshIntervalMs: (ref.refreshIntervalSeconds ?? options.keyVaultRefreshSeconds ?? 300) * 1000,
          expiryWarningMs: (options.secretExpiryWarningDays ?? 14) * 86_400_000,
          rotationGraceMs: (options.secretRotationGraceSeconds ?? 300) * 1000,
          timeoutMs: options.keyVaultTimeoutMs ?? 10_000,
          check,
          ...(options.backoff === undefined ? {} : { backoff: options.backoff }),
          ...(options.renewCooldownMs === undefined ? {} : { renewCooldownMs: options.renewCooldownMs }),
        });
      },
    };
  }

  /** The route's provider (created on first use), or undefined when it sends no credential. */
  forRoute(route: CompiledRoute): CredentialProvider | undefined {
    const spec = route.upstream.credential;
    if (spec === undefined) return undefined;
    let provider = this.#byRoute.get(route);
    if (provider === undefined) {
      provider = this.#forSpec(spec);
      this.#byRoute.set(route, provider);
    }
    return provider;
  }

  /**
   * Creates the providers of a freshly loaded route set (so a missing secret is logged at
   * load, not at the first request) and closes those no route uses any more. Call at start-up
   * and after every policy reload. Throws ConfigError for a type without a factory.
   */
  sync(routes: Iterable<CompiledRoute>): void {
    const used = new Set<CredentialProvider>();
    for (const route of routes) {
      const provider = this.forRoute(route);
      if (provider !== undefined) used.add(provider);
    }
    for (const [key, provider] of this.#providers) {
      if (used.has(provider)) continue;
      // Requests still in flight on the old table keep the last value; only watchers stop.
      provider.close();
      this.#providers.delete(key);
    }
  }

  status(): CredentialProviderStatus[] {
    return [...this.#providers.values()].map((provider) => describe(provider));
  }

  /** Each route's credential health (routes without a credential are left out). */
  statusByRoute(routes: Iterable<CompiledRoute>): RouteCredentialStatus[] {
    const out: RouteCredentialStatus[] = [];
    for (const route of routes) {
      const provider = this.forRoute(route);
      if (provider !== undefined)
        out.push({ route: route.id, upstream: route.upstream.origin, ...describe(provider) });
    }
    return out;
  }

  /**
   * The readiness condition: every route's credential was obtained at least once. A credential
   * that worked and is failing now does not fail readiness (the last good value is served, and
   * restarting the pod would not help).
   */
  ready(routes: Iterable<CompiledRoute>): boolean {
    for (const route of routes) {
      const status = this.forRoute(route)?.status?.();
      if (status !== undefined && !(status.obtained ?? status.available)) return false;
    }
    return true;
  }

  close(): void {
    for (const provider of this.#providers.values()) provider.close();
    this.#providers.clear();
  }

  /** The vault clients, created with the first keyvault: reference (which logs their settings). */
  #keyVaultClients(): KeyVaultClients {
    this.#keyVault ??= new KeyVaultClients(
      this.#options.keyVault ?? { credential: 'managed', disableChallengeResourceVerification: false },
      this.#context.log,
    );
    return this.#keyVault;
  }

  #forSpec(spec: CredentialSpec): CredentialProvider {
    const key = JSON.stringify(spec);
    let provider = this.#providers.get(key);
    if (provider === undefined) {
      const factory = this.#factories[spec.type] as CredentialFactory | undefined;
      if (factory === undefined) throw new ConfigError(`no credential provider for type "${spec.type}"`);
      provider = factory(spec, this.#context);
      this.#providers.set(key, provider);
    }
    return provider;
  }
}

function describe(provider: CredentialProvider): CredentialProviderStatus {
  const health = provider.status?.() ?? { available: true };
  return { type: provider.type, header: provider.header, source: provider.source, ...health };
}
