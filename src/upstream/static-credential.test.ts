import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../errors.ts';
import type { SecretSource } from './secret-source.ts';
import { StaticCredentialProvider } from './static-credential.ts';

/** A secret source whose value the test sets; counts refreshes. */
function fakeSecret(
  initial: string | undefined,
): SecretSource & { value: string | undefined; refreshes: number; closed: boolean } {
  return {
    ref: 'file:/run/secrets/key',
    value: initial,
    refreshes: 0,
    closed: false,
    current() {
      return this.value;
    },
    reason() {
      return this.value === undefined ? 'cannot read /run/secrets/key (ENOENT)' : undefined;
    },
    refresh() {
      this.refreshes++;
      return Promise.resolve();
    },
    close() {
      this.closed = true;
    },
  };
}

const ref = { kind: 'file', path: '/run/secrets/key', text: 'file:/run/secrets/key' } as const;

describe('StaticCredentialProvider', () => {
  it('sends an apiKey secret as the header value, header name lower-cased', async () => {
    const provider = new StaticCredentialProvider(
      { type: 'apiKey', header: 'X-Functions-Key', secret: ref },
      fakeSecret('k1'),
    );
    assert.equal(provider.header, 'x-functions-key');
    assert.equal(provider.type, 'apiKey');
    assert.equal(provider.source, 'file:/run/secrets/key');
    assert.equal(await provider.value(), 'k1');
  });

  it('sends a bearer secret as `Bearer <secret>` and follows rotation', async () => {
    const secret = fakeSecret('t1');
    const provider = new StaticCredentialProvider(
      { type: 'bearer', header: 'authorization', secret: ref },
      secret,
    );
    assert.equal(await provider.value(), 'Bearer t1');
    secret.value = 't2';
    assert.equal(await provider.value(), 'Bearer t2');
  });

  it('gives the hot path the value without a promise, and nothing when value() must decide', () => {
    const secret = fakeSecret('t1');
    const provider = new StaticCredentialProvider(
      { type: 'bearer', header: 'authorization', secret: ref },
      secret,
    );
    assert.equal(provider.ready(), 'Bearer t1');
    secret.value = 't2';
    assert.equal(provider.ready(), 'Bearer t2');
    secret.value = undefined;
    assert.equal(provider.ready(), undefined);
    secret.value = '';
    assert.equal(provider.ready(), undefined, 'an empty secret is reported by the slow path');
  });

  it('rejects with upstream_credential_unavailable, naming the source only in the cause', async () => {
    const provider = new StaticCredentialProvider(
      { type: 'apiKey', header: 'x-k', secret: ref },
      fakeSecret(undefined),
    );
    await assert.rejects(provider.value(), (error: unknown) => {
      assert.ok(isGatewayError(error));
      assert.equal(error.code, 'upstream_credential_unavailable');
      assert.equal(error.status, 503);
      assert.ok(!error.message.includes('/run/secrets'));
      assert.match(String((error.cause as Error).message), /file:\/run\/secrets\/key cannot read/);
      return true;
    });
    assert.deepEqual(provider.status(), {
      available: false,
      reason: 'cannot read /run/secrets/key (ENOENT)',
      state: 'failed',
      obtained: false,
    });
  });

  it('re-reads on invalidate and closes its source', () => {
    const secret = fakeSecret('k');
    const provider = new StaticCredentialProvider({ type: 'apiKey', header: 'x-k', secret: ref }, secret);
    provider.invalidate();
    assert.equal(secret.refreshes, 1);
    assert.deepEqual(provider.status(), { available: true, state: 'authenticated', obtained: true });
    provider.close();
    assert.equal(secret.closed, true);
  });
});
