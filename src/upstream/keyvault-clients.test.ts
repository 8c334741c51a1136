import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KeyVaultClients } from './keyvault-clients.ts';

function recordingLog(): { warnings: string[]; log: { info(): void; warn(f: unknown, m: string): void } } {
  const warnings: string[] = [];
  return {
    warnings,
    log: { info() {}, warn: (_fields: unknown, message: string) => warnings.push(message) },
  };
}

describe('KeyVaultClients', () => {
  it('creates one SecretClient per vault and reuses it (no request is sent to create one)', async () => {
    const { log, warnings } = recordingLog();
    const clients = new KeyVaultClients(
      { credential: 'managed', disableChallengeResourceVerification: false },
      log,
    );
    const a1 = await clients.reader('https://a.vault.azure.net');
    const a2 = await clients.reader('https://a.vault.azure.net');
    const b = await clients.reader('https://b.vault.azure.net');
    assert.equal(a1, a2);
    assert.notEqual(a1, b);
    assert.deepEqual(warnings, [], 'verification on: nothing to warn about');
  });

  it('warns loudly, once, when challenge resource verification is disabled', async () => {
    const { log, warnings } = recordingLog();
    const clients = new KeyVaultClients(
      { credential: 'default', disableChallengeResourceVerification: true },
      log,
    );
    await clients.reader('https://a.vault.azure.net');
    await clients.reader('https://b.vault.azure.net');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /CHALLENGE RESOURCE VERIFICATION IS DISABLED.*never in production/);
  });
});
