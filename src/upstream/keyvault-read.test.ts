import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SecretProperties } from '@azure/keyvault-secrets';
import { attributeProblem, classify } from './keyvault-read.ts';

const NOW = Date.parse('2025-06-01T00:00:00Z');

function props(fields: Partial<SecretProperties>): SecretProperties {
  return { vaultUrl: 'https://v.vault.azure.net', name: 'k', version: 'v1', ...fields };
}

/** The shape the SDK throws: RestError with statusCode, code, details and the response. */
function restError(status: number, code: string, inner?: string, retryAfter?: string): Error {
  return Object.assign(new Error(`${code} from the stand-in`), {
    name: 'RestError',
    statusCode: status,
    code,
    details: {
      error: { code, message: 'm', ...(inner === undefined ? {} : { innerError: { code: inner } }) },
    },
    response: { headers: { get: (name: string) => (name === 'retry-after' ? retryAfter : undefined) } },
  });
}

describe('attributeProblem', () => {
  it('accepts an enabled version inside its nbf/exp window', () => {
    assert.equal(attributeProblem(props({ enabled: true }), NOW), undefined);
    const window = { notBefore: new Date(NOW - 1000), expiresOn: new Date(NOW + 1000) };
    assert.equal(attributeProblem(props({ enabled: true, ...window }), NOW), undefined);
  });

  it('refuses disabled, not-yet-valid and expired versions, permanently', () => {
    assert.deepEqual(
      ['disabled', 'not_yet_valid', 'expired'],
      [
        attributeProblem(props({ enabled: false }), NOW)?.outcome,
        attributeProblem(props({ notBefore: new Date(NOW + 1) }), NOW)?.outcome,
        attributeProblem(props({ expiresOn: new Date(NOW) }), NOW)?.outcome,
      ],
    );
    const expired = attributeProblem(props({ expiresOn: new Date(NOW - 1) }), NOW);
    assert.equal(expired?.permanent, true);
    assert.equal(expired?.version, 'v1');
    assert.match(expired?.reason ?? '', /expired at 2025-05-31T23:59:59.999Z \(exp\)/);
  });
});

describe('classify', () => {
  it('maps Key Vault answers: disabled is permanent, the rest keep the last good value', () => {
    const disabled = classify(restError(403, 'Forbidden', 'SecretDisabled'));
    assert.equal(disabled.outcome, 'disabled');
    assert.equal(disabled.permanent, true);
    const cases: [Error, string][] = [
      [restError(403, 'Forbidden', 'AccessDenied'), 'forbidden'],
      [restError(404, 'SecretNotFound'), 'not_found'],
      [restError(401, 'Unauthorized'), 'unauthorized'],
      [restError(500, 'InternalServerError'), 'unavailable'],
    ];
    for (const [error, outcome] of cases) {
      const failure = classify(error);
      assert.equal(failure.outcome, outcome);
      assert.equal(failure.permanent, false);
      assert.equal(failure.status, (error as unknown as { statusCode: number }).statusCode);
    }
  });

  it('reads Retry-After of a throttled answer', () => {
    const throttled = classify(restError(429, 'Throttled', undefined, '7'));
    assert.equal(throttled.outcome, 'throttled');
    assert.equal(throttled.retryAfterMs, 7000);
  });

  it('tells identity failures, timeouts and network errors apart', () => {
    const identity = Object.assign(new Error('ManagedIdentityCredential: Authentication failed'), {
      name: 'CredentialUnavailableError',
    });
    assert.equal(classify(identity).outcome, 'identity_unavailable');
    assert.equal(classify(Object.assign(new Error('aborted'), { name: 'AbortError' })).outcome, 'timeout');
    const network = classify(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }),
    );
    assert.equal(network.outcome, 'unavailable');
    assert.match(network.reason, /ECONNREFUSED/);
  });

  it('scrubs token-shaped text out of reasons', () => {
    const leaky = new Error('failed with Bearer abc.def.ghi and eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln');
    const { reason } = classify(leaky);
    assert.ok(!reason.includes('abc.def.ghi') && !reason.includes('eyJhbGci'), reason);
  });
});
