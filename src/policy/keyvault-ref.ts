/**
 * `keyvault:` secret references: the prefix followed by a Key Vault secret identifier URL,
 * `https://<vault-host>/secrets/<name>` (versionless: the newest usable version) or
 * `https://<vault-host>/secrets/<name>/<version>` (pinned). Pure string parsing, shared by the
 * policy validator and the compiler; nothing here talks to Azure.
 */

/** The parts of a Key Vault secret identifier. */
export interface KeyVaultRefParts {
  /** Origin only, e.g. `https://my-vault.vault.azure.net`. */
  readonly vaultUrl: string;
  readonly name: string;
  /** undefined = versionless. */
  readonly version: string | undefined;
}

export const KEYVAULT_PREFIX = 'keyvault:';

// Key Vault object names: 1-127 characters, 0-9 a-z A-Z and dashes. Versions are 32 hex
// characters today; accept any alphanumeric id so a format change does not break policies.
const NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^[0-9A-Za-z]{1,64}$/;

/**
 * Parses `keyvault:https://<vault>/secrets/<name>[/<version>]`.
 * @returns the parts, or `{ error }` with a message that never repeats the input.
 */
export function parseKeyVaultRef(text: string): KeyVaultRefParts | { readonly error: string } {
  if (!text.startsWith(KEYVAULT_PREFIX)) return { error: 'must start with keyvault:' };
  const rest = text.slice(KEYVAULT_PREFIX.length);
  let url: URL;
  try {
    url = new URL(rest);
  } catch {
    return {
      error: 'keyvault: must be followed by a secret identifier URL (https://<vault>/secrets/<name>)',
    };
  }
  if (url.protocol !== 'https:') return { error: 'the Key Vault URL must use https' };
  if (url.username !== '' || url.password !== '')
    return { error: 'the Key Vault URL must not contain user:password@' };
  if (url.search !== '' || url.hash !== '' || rest.includes('?') || rest.includes('#'))
    return { error: 'the Key Vault URL must not have a query or fragment' };
  const segments = url.pathname.split('/').slice(1);
  if (segments.at(-1) === '') segments.pop();
  const [collection, name, version, ...extra] = segments;
  if (collection !== 'secrets' || name === undefined || extra.length > 0) {
    return { error: 'expected https://<vault>/secrets/<name> or https://<vault>/secrets/<name>/<version>' };
  }
  if (!NAME.test(name)) return { error: 'the secret name must be 1-127 letters, digits or dashes' };
  if (version !== undefined && !VERSION.test(version))
    return { error: 'the secret version must be letters and digits (e.g. 32 hex characters)' };
  return { vaultUrl: url.origin, name, version };
}
