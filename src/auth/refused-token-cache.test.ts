import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countMapCalls } from '../../test/fixtures/map-spy.ts';
import { ConfigError } from '../errors.ts';
import {
  DEFAULT_REFUSED_ENTRIES,
  DEFAULT_REFUSED_MAX_AGE_SECONDS,
  RefusedTokenCache,
} from './refused-token-cache.ts';
import type { KeySetOwner } from './verified-token-cache.ts';

const NOW = 1_800_000_000_000;

class Keys implements KeySetOwner {
  version = 1;
}

describe('RefusedTokenCache', () => {
  it('has documented defaults and refuses out-of-range options by name', () => {
    const cache = new RefusedTokenCache();
    assert.equal(cache.maxEntries, DEFAULT_REFUSED_ENTRIES);
    assert.equal(cache.maxAgeSeconds, DEFAULT_REFUSED_MAX_AGE_SECONDS);
    assert.throws(() => new RefusedTokenCache({ maxEntries: 0 }), ConfigError);
    assert.throws(() => new RefusedTokenCache({ maxAgeSeconds: 86_401 }), /maxAgeSeconds .* 86400/);
  });

  it('remembers a refusal for the key set that made it, and for no other store', () => {
    const cache = new RefusedTokenCache();
    const keys = new Keys();
    cache.add('a', keys, keys.version, NOW);
    assert.equal(cache.has('a', keys, NOW + 1000), true);
    assert.equal(cache.has('b', keys, NOW), false);
    assert.equal(cache.has('a', new Keys(), NOW), false, "another issuer's keys were never tried");
    assert.equal(cache.size, 1, 'the entry stays for the store that refused it');
  });

  it('forgets a refusal when the key set changes: new keys may verify the token', () => {
    const cache = new RefusedTokenCache();
    const keys = new Keys();
    cache.add('a', keys, keys.version, NOW);
    keys.version = 2;
    assert.equal(cache.has('a', keys, NOW), false);
    assert.equal(cache.size, 0);
  });

  it('leaves a refusal recorded against a version read before a refetch stale, not wrong', () => {
    const cache = new RefusedTokenCache();
    const keys = new Keys();
    const before = keys.version;
    keys.version = 2; // a refetch finished while the verification ran
    cache.add('a', keys, before, NOW);
    assert.equal(cache.has('a', keys, NOW), false);
  });

  it('forgets a refusal after maxAgeSeconds', () => {
    const cache = new RefusedTokenCache({ maxAgeSeconds: 10 });
    const keys = new Keys();
    cache.add('a', keys, keys.version, NOW);
    assert.equal(cache.has('a', keys, NOW + 9_999), true);
    assert.equal(cache.has('a', keys, NOW + 10_000), false);
  });

  it('keeps at most maxEntries, dropping the oldest refusal first', () => {
    const cache = new RefusedTokenCache({ maxEntries: 3 });
    const keys = new Keys();
    for (const key of ['a', 'b', 'c', 'd']) cache.add(key, keys, keys.version, NOW);
    assert.equal(cache.size, 3);
    assert.equal(cache.has('a', keys, NOW), false);
    assert.equal(cache.has('d', keys, NOW), true);
  });

  it('drops the oldest refusal without walking the Map, and a hit does not reorder', () => {
    const cache = new RefusedTokenCache({ maxEntries: 100 });
    const keys = new Keys();
    for (let i = 0; i < 100; i++) cache.add(`old-${i}`, keys, keys.version, NOW);
    assert.equal(cache.has('old-0', keys, NOW), true);
    const counted = countMapCalls(() => {
      for (let i = 0; i < 1000; i++) cache.add(`new-${i}`, keys, keys.version, NOW);
    });
    assert.equal(counted.keys + counted.values + counted.entries + counted.forEach + counted.iterator, 0);
    assert.equal(cache.size, 100);
    assert.equal(cache.has('old-0', keys, NOW), false, 'the hit did not move it');
    assert.equal(cache.has('new-899', keys, NOW), false);
    assert.equal(cache.has('new-900', keys, NOW), true);
  });
});
