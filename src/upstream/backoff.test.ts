import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, MAX_RETRY_AFTER_MS, parseRetryAfter } from './backoff.ts';

describe('Backoff', () => {
  it('doubles from initialMs up to maxMs, never above, and resets on success', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 800, jitter: 0 });
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map(() => backoff.fail()),
      [100, 200, 400, 800, 800, 800],
    );
    assert.equal(backoff.failures, 6);
    backoff.reset();
    assert.equal(backoff.fail(), 100);
  });

  it('takes at most the jitter fraction off', () => {
    const backoff = new Backoff({ initialMs: 1000, maxMs: 1000, jitter: 0.2 });
    for (let i = 0; i < 50; i++) {
      const delay = backoff.fail();
      assert.ok(delay >= 800 && delay <= 1000, String(delay));
    }
  });

  it('honours Retry-After as a floor (capped at 10 minutes) and a cap on the exponential part', () => {
    const backoff = new Backoff({ initialMs: 100, maxMs: 60_000, jitter: 0 });
    assert.equal(backoff.fail(5000), 5000);
    assert.equal(backoff.fail(undefined, 150), 150);
    assert.equal(backoff.fail(3_600_000), MAX_RETRY_AFTER_MS);
  });

  it('rejects options out of range, naming the unit', () => {
    assert.throws(() => new Backoff({ initialMs: 0 }), /milliseconds/);
    assert.throws(() => new Backoff({ initialMs: 10, maxMs: 5 }), /maxMs/);
  });
});

describe('parseRetryAfter (RFC 9110 §10.2.3)', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    assert.equal(parseRetryAfter('7', now), 7000);
    assert.equal(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Tue, 31 Dec 2024 00:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('soon', now), undefined);
    assert.equal(parseRetryAfter(undefined, now), undefined);
    assert.equal(parseRetryAfter(null, now), undefined);
  });
});
