/**
 * Wires the gateway's parts from settings and starts the HTTP server. `cli/serve.ts` calls this and
 * owns the signals; tests call it directly to run a real gateway on an ephemeral port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IssuerRegistry } from './auth/issuer-registry.ts';
import { createRequestListener, type ReadinessReport } from './app/app.ts';
import { createGatewayHandler } from './app/gateway-handler.ts';
import { loadPolicies, type PolicySet } from './config/policy-loader.ts';
import { watchPolicies, type PolicyWatcher } from './config/policy-watcher.ts';
import type { Settings } from './config/settings.ts';
import { createClientIpResolver } from './ipfilter/client-ip.ts';
import { compileIpFilter } from './ipfilter/ip-filter.ts';
import type { Logger } from './observability/logger.ts';
import { configureBufferReclaim } from './proxy/buffer-reclaim.ts';
import { createForwarder } from './proxy/forward.ts';
import { UpstreamPools } from './proxy/upstream-pools.ts';
import { CredentialRegistry, type CredentialRegistryOptions } from './upstream/credential-registry.ts';
import { Drain } from './app/drain.ts';

export interface RunningGateway {
  /** `http://host:port` the server listens on. */
  readonly url: string;
  readonly server: Server;
  readiness(): ReadinessReport;
  /** Current policy set (changes on reload). */
  policies(): PolicySet;
  /**
   * Stop accepting, let in-flight requests finish for up to `graceMs`, then close everything.
   * Resolves `true` if all requests finished in time.
   */
  shutdown(graceMs: number): Promise<boolean>;
}

/** Policy compile defaults taken from the settings (upstream timeouts). */
export function compileDefaults(settings: Settings): {
  upstreamTimeoutMs: number;
  upstreamConnectTimeoutMs: number;
} {
  return {
    upstreamTimeoutMs: settings.upstreamTimeoutMs,
    upstreamConnectTimeoutMs: settings.upstreamConnectTimeoutMs,
  };
}

/** The credential registry's options taken from the settings (Key Vault, refresh, expiry). */
export function credentialOptions(settings: Settings): Omit<CredentialRegistryOptions, 'logger'> {
  return {
    keyVault: {
      credential: settings.azureCredential,
      disableChallengeResourceVerification: settings.keyVaultDisableChallengeResourceVerification,
    },
    keyVaultRefreshSeconds: settings.keyVaultRefreshSeconds,
    keyVaultTimeoutMs: settings.keyVaultTimeoutMs,
    secretExpiryWarningDays: settings.secretExpiryWarningDays,
    secretRotationGraceSeconds: settings.secretRotationGraceSeconds,
  };
}

export interface StartOptions {
  /**
   * Milliseconds to wait, before listening, for every issuer's keys and every route's credential
   * (what `/readyz` waits for). Default 0: listen at once and let readiness gate the traffic, as a
   * Kubernetes Service does. A cluster worker sets it, because the primary hands it connections
   * as soon as it listens and has no readiness probe to consult. Past the wait it listens anyway
   * (the IdP may be down) and logs what is missing.
   */
  readonly warmUpMs?: number;
}

/** Resolves once `ready()` holds or `timeoutMs` passed; true when ready. */
async function waitUntilReady(ready: () => boolean, issuers: Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([issuers, new Promise((resolve) => (timer = setTimeout(resolve, timeoutMs)))]);
  clearTimeout(timer);
  // Credentials have no promise to wait on: poll them for the rest of the time.
  while (!ready() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  return ready();
}

export async function startGateway(
  settings: Settings,
  logger: Logger,
  options: StartOptions = {},
): Promise<RunningGateway> {
  const defaults = compileDefaults(settings);
  let policySet = await loadPolicies(settings.policiesDir, defaults);
  for (const warning of policySet.warnings) logger.warn({ policy: warning }, 'policy warning');
  const loadedAt = new Date().toISOString();

  const issuers = new IssuerRegistry({
    cacheMaxAgeSeconds: settings.jwksMaxAgeSeconds,
    cooldownSeconds: settings.jwksCooldownSeconds,
    timeoutMs: settings.jwksTimeoutMs,
    staleSeconds: settings.jwksStaleSeconds,
    logger,
  });
  issuers.sync(policySet.issuers);

  if (!configureBufferReclaim(settings.streamReclaimBytes)) {
    logger.warn(
      'this runtime does not allow young-generation GC hints; GATEWAY_STREAM_RECLAIM_BYTES has no effect',
    );
  }
  const pools = new UpstreamPools();
  const credentials = new CredentialRegistry({ logger, ...credentialOptions(settings) });
  credentials.sync(policySet.routes);
  const trusted = compileIpFilter({ action: 'allow', addresses: settings.trustedProxies });
  const drain = new Drain();

  const handler = createGatewayHandler({
    context: () => ({ table: policySet.table, issuers, maxTokenBytes: settings.maxTokenBytes }),
    forward: createForwarder({ pools, credentials, retryBodyBytes: settings.credentialRetryBodyBytes }),
    clientIp: createClientIpResolver(settings.trustedProxies),
    isTrustedPeer: (peer) => peer !== undefined && settings.trustedProxies.length > 0 && trusted.allows(peer),
    maxBodyBytes: settings.maxBodyBytes,
    logger,
  });

  const readiness = (): ReadinessReport => {
    const issuerStatus = issuers.status();
    // Readiness fails only while a route has never obtained its credential: one that worked
    // and fails now keeps serving its last good value, and a restart would not help.
    return {
      ready: !drain.draining && issuers.ready() && credentials.ready(policySet.routes),
      draining: drain.draining,
      policies: { files: policySet.files.length, routes: policySet.routes.length, loadedAt },
      issuers: issuerStatus,
      credentials: credentials.statusByRoute(policySet.routes),
    };
  };

  // requestTimeout 0: a 100 MB upload may take longer than Node's default 300 s on a slow link;
  // headersTimeout (60 s) still bounds how long a client may take to send its request head.
  const server = createServer(
    { maxHeaderSize: settings.maxHeaderBytes, requestTimeout: 0 },
    createRequestListener({ handler: drain.track(handler), readiness }),
  );
  const warmUpMs = options.warmUpMs ?? 0;
  if (warmUpMs > 0) {
    // The same condition /readyz reports (nothing drains yet at start).
    if (!(await waitUntilReady(() => readiness().ready, issuers.whenReady(), warmUpMs))) {
      logger.warn(
        { waitedMs: warmUpMs, issuers: issuers.ready(), credentials: credentials.ready(policySet.routes) },
        'not ready after the warm-up; listening anyway (token requests get 503 until the keys load)',
      );
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;

  let watcher: PolicyWatcher | undefined;
  if (settings.policyWatch) {
    watcher = watchPolicies(settings.policiesDir, defaults, logger, (next) => {
      policySet = next;
      issuers.sync(next.issuers);
      credentials.sync(next.routes);
    });
  }

  return {
    url,
    server,
    readiness,
    policies: () => policySet,
    async shutdown(graceMs) {
      watcher?.close();
      const finished = await drain.close(server, graceMs);
      await Promise.allSettled([
        pools.close(),
        Promise.resolve(issuers.close()),
        Promise.resolve(credentials.close()),
      ]);
      return finished;
    },
  };
}
