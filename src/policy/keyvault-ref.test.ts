import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseKeyVaultRef } from './keyvault-ref.ts';

describe('parseKeyVaultRef', () => {
  it('splits a versionless and a pinned secret identifier', () => {
    assert.deepEqual(parseKeyVaultRef('keyvault:https://my-vault.vault.azure.net/secrets/adls-func-key'), {
      vaultUrl: 'https://my-vault.vault.azure.net',
      name: 'adls-func-key',
      version: undefined,
    });
    assert.deepEqual(parseKeyVaultRef('keyvault:https://my-vault.vault.azure.net/secrets/adls-func-key/'), {
      vaultUrl: 'https://my-vault.vault.azure.net',
      name: 'adls-func-key',
      version: undefined,
    });
    assert.deepEqual(
      parseKeyVaultRef('keyvault:https://v.vault.azure.cn:443/secrets/k/4387e9f3d6e14c459867679a90fd0f79'),
      { vaultUrl: 'https://v.vault.azure.cn', name: 'k', version: '4387e9f3d6e14c459867679a90fd0f79' },
    );
    assert.deepEqual(parseKeyVaultRef('keyvault:https://127.0.0.1:8443/secrets/k'), {
      vaultUrl: 'https://127.0.0.1:8443',
      name: 'k',
      version: undefined,
    });
  });

  it('refuses what is not a secret identifier, without repeating the input', () => {
    const cases: [string, RegExp][] = [
      ['env:X', /must start with keyvault:/],
      ['keyvault:my-vault/secrets/k', /secret identifier URL/],
      ['keyvault:http://v.vault.azure.net/secrets/k', /https/],
      ['keyvault:https://u:p@v.vault.azure.net/secrets/k', /user:password/],
      ['keyvault:https://v.vault.azure.net/secrets/k#frag', /query or fragment/],
      ['keyvault:https://v.vault.azure.net/keys/k', /secrets\/<name>/],
      ['keyvault:https://v.vault.azure.net/secrets/', /secrets\/<name>/],
      ['keyvault:https://v.vault.azure.net/secrets/under_score', /letters, digits or dashes/],
      ['keyvault:https://v.vault.azure.net/secrets/k/not-hex!', /version/],
    ];
    for (const [input, message] of cases) {
      const parsed = parseKeyVaultRef(input);
      assert.ok('error' in parsed, input);
      assert.match(parsed.error, message, input);
      const reference = input.slice('keyvault:'.length);
      if (reference !== '')
        assert.ok(!parsed.error.includes(reference), 'the message does not echo the reference');
    }
  });
});
