import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { configureBufferReclaim, noteRelayedBytes, reclaimHints } from './buffer-reclaim.ts';

describe('buffer reclaim hints', () => {
  afterEach(() => configureBufferReclaim(0));

  it('asks for one minor GC once the threshold is crossed, on the next turn', async () => {
    assert.equal(configureBufferReclaim(1000), true);
    const before = reclaimHints();
    noteRelayedBytes(999);
    await nextTurn();
    assert.equal(reclaimHints(), before, 'below the threshold: no hint');
    noteRelayedBytes(1);
    assert.equal(reclaimHints(), before, 'never inside the caller (undici callbacks)');
    await nextTurn();
    assert.equal(reclaimHints(), before + 1);
  });

  it('coalesces crossings within one turn and starts counting again after each hint', async () => {
    configureBufferReclaim(1000);
    const before = reclaimHints();
    for (let i = 0; i < 10; i++) noteRelayedBytes(1000);
    await nextTurn();
    assert.equal(reclaimHints(), before + 1);
    noteRelayedBytes(999);
    await nextTurn();
    assert.equal(reclaimHints(), before + 1);
    noteRelayedBytes(1);
    await nextTurn();
    assert.equal(reclaimHints(), before + 2);
  });

  it('does nothing when turned off', async () => {
    configureBufferReclaim(1000);
    noteRelayedBytes(500);
    configureBufferReclaim(0);
    const before = reclaimHints();
    noteRelayedBytes(10_000_000);
    await nextTurn();
    assert.equal(reclaimHints(), before);
  });
});
