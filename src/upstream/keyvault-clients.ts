/**
 * The gateway's access to Azure Key Vault: one `SecretClient` per vault (reused by every secret
 * of that vault, so its challenge state and cached access token are shared) over one Azure
 * credential. The Azure SDK is loaded on first use, so gateways without `keyvault:` references
 * never load it.
 *
 * Authentication follows the Key Vault challenge protocol: the SDK's first request goes without
 * a token, the vault answers 401 with `WWW-Authenticate: Bearer authorization="<authority>/<tenant>",
 * resource="https://vault.azure.net"`, and the credential gets a token for that resource.
 */
import type { TokenCredential } from '@azure/identity';
import type { KeyVaultSecret, SecretClient, SecretProperties } from '@azure/keyvault-secrets';
import type { CredentialLog } from './secret-source.ts';

/** Which Azure credential reads the vault. */
export type AzureCredentialKind = 'managed' | 'default';

export interface KeyVaultSettings {
  /**
   * `managed` (default): ManagedIdentityCredential — AKS workload identity (AZURE_CLIENT_ID,
   * AZURE_TENANT_ID, AZURE_FEDERATED_TOKEN_FILE, AZURE_AUTHORITY_HOST), App Service
   * (IDENTITY_ENDPOINT, IDENTITY_HEADER) and VM (IMDS) managed identity; AZURE_CLIENT_ID picks a
   * user-assigned identity. `default`: DefaultAzureCredential, for local development (az login).
   */
  readonly credential: AzureCredentialKind;
  /**
   * Skip the SDK's check that the challenge's resource matches the vault's domain. Only for
   * vault stand-ins on non-Azure hosts (tests); logged at warn when on. Default false.
   */
  readonly disableChallengeResourceVerification: boolean;
  /** Environment the credential reads (AZURE_CLIENT_ID). Default process.env. */
  readonly env?: NodeJS.ProcessEnv;
}

/** The two Key Vault operations the gateway uses: the I/O seam of `keyvault-read.ts`. */
export interface SecretReader {
  /** GET /secrets/{name}/{version}; `version` undefined = the latest version. */
  getSecret(name: string, version: string | undefined, signal: AbortSignal): Promise<KeyVaultSecret>;
  /** GET /secrets/{name}/versions, following `nextLink`. */
  listVersions(name: string, signal: AbortSignal): AsyncIterable<SecretProperties>;
}

export class KeyVaultClients {
  readonly #settings: KeyVaultSettings;
  readonly #readers = new Map<string, Promise<SecretReader>>();
  #credential: Promise<TokenCredential> | undefined;

  constructor(settings: KeyVaultSettings, log: CredentialLog) {
    this.#settings = settings;
    if (settings.disableChallengeResourceVerification) {
      log.warn(
        { setting: 'GATEWAY_KEYVAULT_DISABLE_CHALLENGE_RESOURCE_VERIFICATION' },
        'KEY VAULT CHALLENGE RESOURCE VERIFICATION IS DISABLED: a host posing as a vault could obtain Key Vault access tokens. Use this only with vault stand-ins in tests, never in production.',
      );
    }
  }

  /** The reader of one vault (`https://name.vault.azure.net`), created once and reused. */
  reader(vaultUrl: string): Promise<SecretReader> {
    let reader = this.#readers.get(vaultUrl);
    if (reader === undefined) {
      reader = this.#create(vaultUrl);
      this.#readers.set(vaultUrl, reader);
      // A failed SDK load may succeed later; do not cache the failure.
      reader.catch(() => this.#readers.delete(vaultUrl));
    }
    return reader;
  }

  async #create(vaultUrl: string): Promise<SecretReader> {
    const { SecretClient } = await import('@azure/keyvault-secrets');
    const client: SecretClient = new SecretClient(vaultUrl, await this.#azureCredential(), {
      disableChallengeResourceVerification: this.#settings.disableChallengeResourceVerification,
      // One retry layer only: the secret source's own backoff (which honours Retry-After and
      // keeps serving the last good value) instead of the SDK retrying inside a read.
      retryOptions: { maxRetries: 0 },
    });
    return {
      getSecret: (name, version, abortSignal) =>
        client.getSecret(name, version === undefined ? { abortSignal } : { version, abortSignal }),
      listVersions: (name, abortSignal) => client.listPropertiesOfSecretVersions(name, { abortSignal }),
    };
  }

  #azureCredential(): Promise<TokenCredential> {
    this.#credential ??= createAzureCredential(this.#settings.credential, this.#settings.env ?? process.env);
    return this.#credential;
  }
}

/** The Azure credential of the given kind; the SDK reads its environment variables itself. */
async function createAzureCredential(
  kind: AzureCredentialKind,
  env: NodeJS.ProcessEnv,
): Promise<TokenCredential> {
  const identity = await import('@azure/identity');
  if (kind === 'default') return new identity.DefaultAzureCredential();
  const clientId = env['AZURE_CLIENT_ID'];
  // Retries: as above, the secret source retries with backoff; the SDK's defaults would hold a
  // read for up to a minute against an identity endpoint that is down.
  const retryOptions = { maxRetries: 0 };
  return clientId === undefined || clientId === ''
    ? new identity.ManagedIdentityCredential({ retryOptions })
    : new identity.ManagedIdentityCredential({ clientId, retryOptions });
}
