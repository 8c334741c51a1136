import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../errors.ts';
import { describeSettings, loadSettings } from './settings.ts';
import { SETTING_SPECS } from './setting-specs.ts';

describe('loadSettings', () => {
  it('applies every documented default when nothing is set', () => {
    const s = loadSettings({});
    assert.equal(s.host, '0.0.0.0');
    assert.equal(s.port, 8080);
    assert.equal(s.policiesDir, './policies');
    assert.equal(s.policyWatch, true);
    assert.deepEqual(s.trustedProxies, []);
    assert.equal(s.logLevel, 'info');
    assert.equal(s.shutdownGraceSeconds, 20);
    assert.equal(s.maxBodyBytes, 1_073_741_824);
    assert.equal(s.maxTokenBytes, 8192);
    assert.equal(s.upstreamTimeoutMs, 30_000);
    assert.equal(s.jwksStaleSeconds, 21_600);
    assert.equal(s.redisUrl, undefined);
    for (const spec of SETTING_SPECS) assert.ok(spec.key in s, `${spec.key} has a value`);
  });

  it('reads env vars and lets flags win', () => {
    const s = loadSettings(
      {
        GATEWAY_PORT: '9000',
        GATEWAY_LOG_LEVEL: 'debug',
        GATEWAY_TRUSTED_PROXIES: '10.0.0.0/8, 192.168.1.1 ,::1',
      },
      { port: '9100', 'policy-watch': 'false' },
    );
    assert.equal(s.port, 9100);
    assert.equal(s.logLevel, 'debug');
    assert.equal(s.policyWatch, false);
    assert.deepEqual(s.trustedProxies, ['10.0.0.0/8', '192.168.1.1', '::1']);
  });

  it('reports every bad value at once, naming the variable or flag, unit and range', () => {
    assert.throws(
      () =>
        loadSettings(
          {
            GATEWAY_PORT: '70000',
            GATEWAY_LOG_LEVEL: 'loud',
            GATEWAY_TRUSTED_PROXIES: '10.0.0.0/33,not-an-ip',
            GATEWAY_POLICY_WATCH: 'maybe',
          },
          { 'upstream-timeout-ms': '-5', bogus: 'x' },
        ),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        const text = err.problems.join('\n');
        assert.match(text, /GATEWAY_PORT="70000": expected 0\.\.65535 \(TCP port/);
        assert.match(text, /GATEWAY_LOG_LEVEL="loud": expected one of fatal, error, warn, info/);
        assert.match(text, /GATEWAY_TRUSTED_PROXIES=.*not an IP address or CIDR: 10\.0\.0\.0\/33, not-an-ip/);
        assert.match(text, /GATEWAY_POLICY_WATCH="maybe": expected true or false/);
        assert.match(text, /--upstream-timeout-ms="-5": expected a whole number \(milliseconds\)/);
        assert.match(text, /--bogus: unknown option/);
        assert.equal(err.problems.length, 6);
        return true;
      },
    );
  });

  it('never shows Redis credentials in the effective settings', () => {
    const s = loadSettings({ GATEWAY_REDIS_URL: 'redis://user:s3cret-pass@redis.internal:6379/0' });
    const shown = JSON.stringify(describeSettings(s));
    assert.doesNotMatch(shown, /s3cret-pass/);
    assert.match(shown, /redis\.internal:6379/);
  });
});
