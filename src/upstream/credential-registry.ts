/**
 * One credential provider per distinct CredentialSpec, shared by every route that uses it, and
 * picked by `spec.type` from a factory map: issue 4 adds `keyvault` and `clientCredentials`
 * factories here without touching the forwarder.
 */
import { ConfigError } from '../errors.ts';
import type { CompiledRoute, CredentialSpec } from '../policy/route.ts';
import type { CredentialProvider } from './credential-provider.ts';
import { openSecretSource, silentLog, type CredentialLog } from './secret-source.ts';
import { StaticCredentialProvider } from './static-credential.ts';

/** What a factory gets besides its spec. */
export interface CredentialContext {
  readonly env: NodeJS.ProcessEnv;
  readonly log: CredentialLog;
  /** Watch secret files for changes. */
  readonly watchSecrets: boolean;
  /** Milliseconds between fallback re-reads of secret files; 0 = none. */
  readonly secretPollIntervalMs: number;
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
) =>
  new StaticCredentialProvider(
    spec,
    openSecretSource(spec.secret, {
      env: context.env,
      log: context.log,
      watch: context.watchSecrets,
      pollIntervalMs: context.secretPollIntervalMs,
    }),
  );

/** The factories shipped with this issue: env:/file: secrets as apiKey or bearer headers. */
export const staticCredentialFactories: CredentialFactories = {
  apiKey: staticFactory,
  bearer: staticFactory,
};

export interface CredentialRegistryOptions {
  /** Factories by `spec.type`. Default `staticCredentialFactories`. */
  readonly factories?: CredentialFactories;
  /** Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Default: logs nothing. Pass the gateway's pino logger. */
  readonly logger?: CredentialLog;
  /** Default true. */
  readonly watchSecrets?: boolean;
  /** Milliseconds; default 10000; 0 disables the fallback re-read. */
  readonly secretPollIntervalMs?: number;
}

/** One provider's health, for `/readyz` details and the log. Never contains a value. */
export interface CredentialProviderStatus {
  readonly type: string;
  readonly header: string;
  readonly source: string;
  readonly available: boolean;
  readonly reason?: string;
}

export class CredentialRegistry {
  readonly #factories: CredentialFactories;
  readonly #context: CredentialContext;
  /** Keyed by the spec's JSON: two routes with equal specs share one provider. */
  readonly #providers = new Map<string, CredentialProvider>();
  readonly #byRoute = new WeakMap<CompiledRoute, CredentialProvider>();

  constructor(options: CredentialRegistryOptions = {}) {
    this.#factories = options.factories ?? staticCredentialFactories;
    this.#context = {
      env: options.env ?? process.env,
      log: options.logger ?? silentLog,
      watchSecrets: options.watchSecrets ?? true,
      secretPollIntervalMs: options.secretPollIntervalMs ?? 10_000,
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
    return [...this.#providers.values()].map((provider) => {
      const health = provider.status?.() ?? { available: true };
      return { type: provider.type, header: provider.header, source: provider.source, ...health };
    });
  }

  close(): void {
    for (const provider of this.#providers.values()) provider.close();
    this.#providers.clear();
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
