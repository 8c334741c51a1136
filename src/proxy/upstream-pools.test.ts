import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../errors.ts';
import { UpstreamPools } from './upstream-pools.ts';

describe('UpstreamPools', () => {
  it('returns one pool per origin and reuses it', async () => {
    const pools = new UpstreamPools();
    const a = pools.pool('http://127.0.0.1:1', { connectTimeoutMs: 1000 });
    assert.equal(pools.pool('http://127.0.0.1:1', { connectTimeoutMs: 1000 }), a);
    assert.notEqual(pools.pool('http://127.0.0.1:2', { connectTimeoutMs: 1000 }), a);
    // undici applies the connect timeout per pool, so a different one needs its own pool.
    assert.notEqual(pools.pool('http://127.0.0.1:1', { connectTimeoutMs: 50 }), a);
    assert.equal(pools.size, 3);
    await pools.close();
    assert.equal(a.closed, true);
  });

  it('refuses new pools with shutting_down after close, and close is idempotent', async () => {
    const pools = new UpstreamPools();
    pools.pool('http://127.0.0.1:1', { connectTimeoutMs: 1000 });
    await Promise.all([pools.close(), pools.close()]);
    assert.throws(
      () => pools.pool('http://127.0.0.1:3', { connectTimeoutMs: 1000 }),
      (error: unknown) => isGatewayError(error) && error.code === 'shutting_down',
    );
    await pools.destroy();
  });

  it('destroys pools that are still closing', async () => {
    const pools = new UpstreamPools();
    const pool = pools.pool('http://127.0.0.1:1', { connectTimeoutMs: 1000 });
    const closing = pools.close();
    await pools.destroy();
    await closing;
    assert.equal(pool.destroyed, true);
  });
});
