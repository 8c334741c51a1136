/**
 * The table of every setting: env var, flag, type, unit, default and range. `settings.ts` parses
 * with it, `serve --help` prints it and the README's configuration reference is checked against it
 * (test/integration/readme.test.ts), so the three cannot drift.
 */
import { isIP } from 'node:net';
import IPCIDR from 'ip-cidr';

interface SpecBase {
  /** Key in the Settings object. */
  readonly key: string;
  readonly env: string;
  /** Flag name without the leading `--`. */
  readonly flag: string;
  readonly help: string;
}

export type SettingSpec = SpecBase &
  (
    | { readonly type: 'string'; readonly default: string | undefined }
    | { readonly type: 'boolean'; readonly default: boolean }
    | {
        readonly type: 'integer';
        readonly default: number;
        readonly unit: string;
        readonly range: readonly [number, number];
      }
    | { readonly type: 'enum'; readonly default: string; readonly values: readonly string[] }
    | {
        readonly type: 'list';
        readonly default: readonly string[];
        readonly itemName: string;
        readonly item: (value: string) => boolean;
      }
  );

const DAY = 86_400;

function isIpOrCidr(value: string): boolean {
  return isIP(value) !== 0 || (value.includes('/') && IPCIDR.isValidCIDR(value));
}

export const SETTING_SPECS: readonly SettingSpec[] = [
  {
    key: 'host',
    env: 'GATEWAY_HOST',
    flag: 'host',
    type: 'string',
    default: '0.0.0.0',
    help: 'Listen address.',
  },
  {
    key: 'port',
    env: 'GATEWAY_PORT',
    flag: 'port',
    type: 'integer',
    default: 8080,
    unit: 'TCP port, 0 = ephemeral',
    range: [0, 65535],
    help: 'Listen port.',
  },
  {
    key: 'policiesDir',
    env: 'GATEWAY_POLICIES_DIR',
    flag: 'policies',
    type: 'string',
    default: './policies',
    help: 'Directory of policy YAML files (*.yaml, *.yml).',
  },
  {
    key: 'policyWatch',
    env: 'GATEWAY_POLICY_WATCH',
    flag: 'policy-watch',
    type: 'boolean',
    default: true,
    help: 'Reload policies when the directory changes (ConfigMap updates); a bad change keeps the old set.',
  },
  {
    key: 'trustedProxies',
    env: 'GATEWAY_TRUSTED_PROXIES',
    flag: 'trusted-proxies',
    type: 'list',
    default: [],
    itemName: 'an IP address or CIDR',
    item: isIpOrCidr,
    help: 'Comma-separated IPs/CIDRs of proxies whose X-Forwarded-For is believed.',
  },
  {
    key: 'logLevel',
    env: 'GATEWAY_LOG_LEVEL',
    flag: 'log-level',
    type: 'enum',
    default: 'info',
    values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
    help: 'pino log level.',
  },
  {
    key: 'shutdownGraceSeconds',
    env: 'GATEWAY_SHUTDOWN_GRACE_SECONDS',
    flag: 'shutdown-grace-seconds',
    type: 'integer',
    default: 20,
    unit: 'seconds',
    range: [0, 3600],
    help: 'On SIGTERM, how long in-flight requests may finish before the process exits.',
  },
  {
    key: 'workers',
    env: 'GATEWAY_WORKERS',
    flag: 'workers',
    type: 'integer',
    default: 1,
    unit: 'processes, 0 = one per CPU core',
    range: [0, 256],
    help: 'How many processes serve. 1 = a single process: the default, and the right value in Kubernetes (scale with replicas). N > 1 = a primary process that forks N workers sharing the listen socket (node:cluster), for multi-core VMs; the primary only supervises (replaces a crashed worker, forwards SIGTERM). 0 = os.availableParallelism(). At most 256: each worker holds its own JWKS cache and upstream pools, and more workers than cores only add memory and contention.',
  },
  {
    key: 'maxBodyBytes',
    env: 'GATEWAY_MAX_BODY_BYTES',
    flag: 'max-body-bytes',
    type: 'integer',
    default: 1_073_741_824,
    unit: 'bytes',
    range: [0, Number.MAX_SAFE_INTEGER],
    help: 'Largest request body forwarded; larger → 413.',
  },
  {
    key: 'streamReclaimBytes',
    env: 'GATEWAY_STREAM_RECLAIM_BYTES',
    flag: 'stream-reclaim-bytes',
    type: 'integer',
    default: 8_388_608,
    unit: 'bytes',
    range: [0, 1_073_741_824],
    help: 'After this many body bytes relayed (either way), ask V8 for a young-generation GC, so streamed chunks are freed while young instead of by full-heap collections; 0 = off.',
  },
  {
    key: 'maxHeaderBytes',
    env: 'GATEWAY_MAX_HEADER_BYTES',
    flag: 'max-header-bytes',
    type: 'integer',
    default: 16_384,
    unit: 'bytes',
    range: [1024, 1_048_576],
    help: 'Largest request head (request line + headers); larger → 431.',
  },
  {
    key: 'maxTokenBytes',
    env: 'GATEWAY_MAX_TOKEN_BYTES',
    flag: 'max-token-bytes',
    type: 'integer',
    default: 8192,
    unit: 'bytes',
    range: [256, 1_048_576],
    help: 'Largest bearer token accepted; larger → 401 token_too_large.',
  },
  {
    key: 'upstreamConnectTimeoutMs',
    env: 'GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS',
    flag: 'upstream-connect-timeout-ms',
    type: 'integer',
    default: 5000,
    unit: 'milliseconds',
    range: [1, 600_000],
    help: 'Default upstream connect timeout (a route may override).',
  },
  {
    key: 'upstreamTimeoutMs',
    env: 'GATEWAY_UPSTREAM_TIMEOUT_MS',
    flag: 'upstream-timeout-ms',
    type: 'integer',
    default: 30_000,
    unit: 'milliseconds',
    range: [1, 3_600_000],
    help: "Default time to the upstream's response headers (a route may override); then 504.",
  },
  {
    key: 'jwksMaxAgeSeconds',
    env: 'GATEWAY_JWKS_MAX_AGE_SECONDS',
    flag: 'jwks-max-age-seconds',
    type: 'integer',
    default: 600,
    unit: 'seconds',
    range: [10, DAY],
    help: "How long an issuer's JWKS is used before it is fetched again.",
  },
  {
    key: 'jwksCooldownSeconds',
    env: 'GATEWAY_JWKS_COOLDOWN_SECONDS',
    flag: 'jwks-cooldown-seconds',
    type: 'integer',
    default: 30,
    unit: 'seconds',
    range: [1, 3600],
    help: 'Least time between two JWKS refetches triggered by unknown key ids.',
  },
  {
    key: 'jwksTimeoutMs',
    env: 'GATEWAY_JWKS_TIMEOUT_MS',
    flag: 'jwks-timeout-ms',
    type: 'integer',
    default: 5000,
    unit: 'milliseconds',
    range: [100, 60_000],
    help: 'Timeout of one discovery or JWKS fetch.',
  },
  {
    key: 'jwksStaleSeconds',
    env: 'GATEWAY_JWKS_STALE_SECONDS',
    flag: 'jwks-stale-seconds',
    type: 'integer',
    default: 21_600,
    unit: 'seconds',
    range: [0, 30 * DAY],
    help: 'While the IdP is unreachable, keep validating with the last good keys this long.',
  },
  {
    key: 'redisUrl',
    env: 'GATEWAY_REDIS_URL',
    flag: 'redis-url',
    type: 'string',
    default: undefined,
    help: 'Redis for state shared between replicas (redis://host:6379); unset = none. No feature uses it yet (the rate limiter will). Credentials are redacted in logs.',
  },
  {
    key: 'azureCredential',
    env: 'GATEWAY_AZURE_CREDENTIAL',
    flag: 'azure-credential',
    type: 'enum',
    default: 'managed',
    values: ['managed', 'default'],
    help: 'Azure credential for keyvault: secrets. managed: ManagedIdentityCredential (AKS workload identity, App Service, VM; AZURE_CLIENT_ID picks a user-assigned identity). default: DefaultAzureCredential, for local development.',
  },
  {
    key: 'keyVaultDisableChallengeResourceVerification',
    env: 'GATEWAY_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION',
    flag: 'keyvault-disable-challenge-resource-verification',
    type: 'boolean',
    default: false,
    help: "Skip the check that a vault's authentication challenge names the vault's own domain. Only for vault stand-ins on non-Azure hosts (tests); logged at warn when on.",
  },
  {
    key: 'keyVaultRefreshSeconds',
    env: 'GATEWAY_KEYVAULT_REFRESH_SECONDS',
    flag: 'keyvault-refresh-seconds',
    type: 'integer',
    default: 300,
    unit: 'seconds',
    range: [1, DAY],
    help: 'How often a keyvault: secret is re-read in the background (a reference may set its own refreshIntervalSeconds).',
  },
  {
    key: 'keyVaultTimeoutMs',
    env: 'GATEWAY_KEYVAULT_TIMEOUT_MS',
    flag: 'keyvault-timeout-ms',
    type: 'integer',
    default: 10_000,
    unit: 'milliseconds',
    range: [100, 120_000],
    help: 'Timeout of one Key Vault read, including the access token request.',
  },
  {
    key: 'secretExpiryWarningDays',
    env: 'GATEWAY_SECRET_EXPIRY_WARNING_DAYS',
    flag: 'secret-expiry-warning-days',
    type: 'integer',
    default: 14,
    unit: 'days',
    range: [0, 365],
    help: 'A Key Vault secret in use whose exp is this close shows as expiring in /readyz and check, with a warning in the log.',
  },
  {
    key: 'secretRotationGraceSeconds',
    env: 'GATEWAY_SECRET_ROTATION_GRACE_SECONDS',
    flag: 'secret-rotation-grace-seconds',
    type: 'integer',
    default: 300,
    unit: 'seconds',
    range: [0, DAY],
    help: 'After a Key Vault secret rotates, the previous value is still tried when the upstream answers 401 to the new one, for this long.',
  },
  {
    key: 'credentialRetryBodyBytes',
    env: 'GATEWAY_CREDENTIAL_RETRY_BODY_BYTES',
    flag: 'credential-retry-body-bytes',
    type: 'integer',
    default: 65_536,
    unit: 'bytes',
    range: [0, 16_777_216],
    help: 'When the upstream answers 401, the credential is renewed and the request retried once if its body is at most this large (it is buffered for that); 0 = only requests without a body. Streamed bodies are never retried.',
  },
];
