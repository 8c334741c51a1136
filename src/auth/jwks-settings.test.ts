import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import { IssuerRegistry } from './issuer-registry.ts';
import { DEFAULT_JWKS_SETTINGS, resolveJwksSettings } from './jwks-settings.ts';

describe('resolveJwksSettings', () => {
  it('defaults to the GATEWAY_JWKS_* defaults', () => {
    assert.deepEqual(resolveJwksSettings(), {
      cacheMaxAgeSeconds: 600,
      cooldownSeconds: 30,
      staleSeconds: 21600,
      timeoutMs: 5000,
      retryInitialMs: 1000,
      retryMaxMs: 60000,
    });
    assert.deepEqual(resolveJwksSettings({ cooldownSeconds: 0 }), {
      ...DEFAULT_JWKS_SETTINGS,
      cooldownSeconds: 0,
    });
  });

  it('names every bad option with its unit and range', () => {
    try {
      resolveJwksSettings({ cacheMaxAgeSeconds: 0, timeoutMs: 1.5, staleSeconds: Number.NaN });
      assert.fail('expected a ConfigError');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, [
        'cacheMaxAgeSeconds must be an integer number of seconds in [1, 86400], got 0',
        'staleSeconds must be an integer number of seconds in [0, 604800], got NaN',
        'timeoutMs must be an integer number of milliseconds in [1, 120000], got 1.5',
      ]);
    }
  });

  it('is checked when the registry is built', () => {
    assert.throws(() => new IssuerRegistry({ cooldownSeconds: -1 }), ConfigError);
  });
});
