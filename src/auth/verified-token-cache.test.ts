import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { countMapCalls } from '../../test/fixtures/map-spy.ts';
import { ConfigError } from '../errors.ts';
import {
  DEFAULT_MAX_AGE_SECONDS,
  DEFAULT_MAX_ENTRIES,
  tokenCacheKey,
  TokenKeyMemo,
  VerifiedTokenCache,
  type KeySetOwner,
} from './verified-token-cache.ts';

const NOW = 1_800_000_000_000;
const RS = ['RS256'];

class Keys implements KeySetOwner {
  version = 1;
}

function verified(exp: number | undefined = NOW / 1000 + 300, extra: Record<string, unknown> = {}) {
  return {
    payload: { sub: 'svc', ...(exp === undefined ? {} : { exp }), ...extra },
    alg: 'RS256',
    kid: 'k1',
  };
}

describe('tokenCacheKey', () => {
  it('hashes the whole token: an edited payload under the same signature is another key', () => {
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';
    const edited = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0.c2ln';
    assert.equal(tokenCacheKey(token), tokenCacheKey(token));
    assert.notEqual(tokenCacheKey(token), tokenCacheKey(edited));
    assert.match(tokenCacheKey(token), /^[\w-]{43}$/);
    assert.ok(!tokenCacheKey(token).includes('eyJ'), 'the token itself is not the key');
  });
});

describe('TokenKeyMemo', () => {
  it('gives every token its own key, in any order: a repeat costs no hash, a change always does', () => {
    const a = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';
    const b = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJiIn0.c2ln'; // same length, one character apart
    const c = a.slice(0, -1) + 'm'; // differs only in the last character
    const memo = new TokenKeyMemo();
    for (const token of [a, a, b, a, c, c, b, a]) assert.equal(memo.keyOf(token), tokenCacheKey(token));
    // A token equal in content but built separately (as every request's header is) is recognised.
    assert.equal(memo.keyOf(['eyJhbGciOiJSUzI1NiJ9', 'eyJzdWIiOiJhIn0', 'c2ln'].join('.')), tokenCacheKey(a));
  });
});

describe('VerifiedTokenCache', () => {
  it('has documented defaults and refuses out-of-range options by name', () => {
    const cache = new VerifiedTokenCache();
    assert.equal(cache.maxEntries, DEFAULT_MAX_ENTRIES);
    assert.equal(cache.maxAgeSeconds, DEFAULT_MAX_AGE_SECONDS);
    assert.throws(() => new VerifiedTokenCache({ maxEntries: 0 }), ConfigError);
    assert.throws(() => new VerifiedTokenCache({ maxEntries: 1.5 }), /maxEntries must be an integer/);
    assert.throws(() => new VerifiedTokenCache({ maxAgeSeconds: 86_401 }), /maxAgeSeconds .* 86400/);
  });

  it('returns what was verified for the same key set and allowed alg', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    cache.set('a', keys, keys.version, verified(), NOW);
    const hit = cache.get('a', keys, RS, NOW + 1000);
    assert.equal(hit?.payload['sub'], 'svc');
    assert.equal(hit.alg, 'RS256');
    assert.equal(hit.kid, 'k1');
    assert.equal(cache.get('b', keys, RS, NOW), undefined);
  });

  it('freezes the payload deeply so one request cannot change what the next one sees', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    cache.set('a', keys, 1, verified(undefined, { realm_access: { roles: ['r'] } }), NOW);
    const payload = cache.get('a', keys, RS, NOW)?.payload as Record<string, { roles: string[] }>;
    assert.throws(() => {
      payload['realm_access']?.roles.push('admin');
    }, TypeError);
    assert.ok(Object.isFrozen(payload));
  });

  it('misses once the key set changed, and drops the entry', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    cache.set('a', keys, keys.version, verified(), NOW);
    keys.version = 2;
    assert.equal(cache.get('a', keys, RS, NOW), undefined);
    assert.equal(cache.size, 0);
  });

  it('does not keep a verification made with keys that were replaced meanwhile', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    const before = keys.version;
    keys.version = 2; // refetched while the signature was being verified
    cache.set('a', keys, before, verified(), NOW);
    assert.equal(cache.get('a', keys, RS, NOW), undefined);
  });

  it('misses for another issuer store or an alg the route does not allow, and keeps the entry', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    const other = new Keys();
    cache.set('a', keys, 1, verified(), NOW);
    assert.equal(cache.get('a', other, RS, NOW), undefined);
    assert.equal(cache.get('a', keys, ['ES256'], NOW), undefined);
    assert.ok(cache.get('a', keys, RS, NOW));
  });

  it('never serves an entry at or past exp', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    const exp = NOW / 1000 + 60;
    cache.set('a', keys, 1, verified(exp), NOW);
    assert.ok(cache.get('a', keys, RS, exp * 1000 - 1));
    assert.equal(cache.get('a', keys, RS, exp * 1000), undefined);
    assert.equal(cache.size, 0);
  });

  it('does not store a token that is already expired', () => {
    const cache = new VerifiedTokenCache();
    cache.set('a', new Keys(), 1, verified(NOW / 1000 - 1), NOW);
    assert.equal(cache.size, 0);
  });

  it('bounds an entry by maxAgeSeconds, also without exp', () => {
    const cache = new VerifiedTokenCache({ maxAgeSeconds: 10 });
    const keys = new Keys();
    cache.set('long', keys, 1, verified(NOW / 1000 + 3600), NOW);
    cache.set('none', keys, 1, verified(undefined), NOW);
    assert.ok(cache.get('long', keys, RS, NOW + 9_999));
    assert.ok(cache.get('none', keys, RS, NOW + 9_999));
    assert.equal(cache.get('long', keys, RS, NOW + 10_000), undefined);
    assert.equal(cache.get('none', keys, RS, NOW + 10_000), undefined);
  });

  it('drops the least recently used entry beyond maxEntries', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 2 });
    const keys = new Keys();
    cache.set('a', keys, 1, verified(), NOW);
    cache.set('b', keys, 1, verified(), NOW);
    assert.ok(cache.get('a', keys, RS, NOW), 'a is now the most recently used');
    cache.set('c', keys, 1, verified(), NOW);
    assert.equal(cache.size, 2);
    assert.equal(cache.get('b', keys, RS, NOW), undefined);
    assert.ok(cache.get('a', keys, RS, NOW));
    assert.ok(cache.get('c', keys, RS, NOW));
  });

  it('never drops an entry used more often than every maxEntries insertions, however many come', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 10 });
    const keys = new Keys();
    for (let i = 0; i < 10; i++) cache.set(`old-${i}`, keys, 1, verified(), NOW);
    cache.set('hot', keys, 1, verified(), NOW);
    for (let i = 0; i < 200; i++) {
      cache.set(`new-${i}`, keys, 1, verified(), NOW);
      // Used after every fifth insertion: it must outlive everything not used since.
      if (i % 5 === 4) assert.ok(cache.get('hot', keys, RS, NOW), `hot after ${i + 1} insertions`);
    }
    assert.equal(cache.size, 10);
    for (let i = 0; i < 10; i++) assert.equal(cache.get(`old-${i}`, keys, RS, NOW), undefined);
    // An entry never used after its insertion goes after maxEntries more.
    assert.equal(cache.get('new-189', keys, RS, NOW), undefined);
    assert.ok(cache.get('new-199', keys, RS, NOW));
  });

  it('leaves the Map alone on a hit, however long ago the entry was placed', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 1000 });
    const keys = new Keys();
    // The oldest entry: the tenth session's rule would have moved it (delete and set) on its first
    // hit. A delete and set of a hot key grows its bucket chain in V8 (lru-map.ts).
    cache.set('hot', keys, 1, verified(), NOW);
    for (let i = 0; i < 999; i++) cache.set(`other-${i}`, keys, 1, verified(), NOW);
    const counted = countMapCalls(() => {
      for (let i = 0; i < 1000; i++) assert.ok(cache.get('hot', keys, RS, NOW));
    });
    assert.equal(counted.set + counted.delete, 0);
    // Still the most recently used: the next insertion drops other-0, not hot.
    cache.set('new', keys, 1, verified(), NOW);
    assert.ok(cache.get('hot', keys, RS, NOW));
    assert.equal(cache.get('other-0', keys, RS, NOW), undefined);
  });

  it('drops the oldest entry without walking the Map (an insertion at the bound costs the same at any size)', () => {
    const cache = new VerifiedTokenCache({ maxEntries: 100 });
    const keys = new Keys();
    for (let i = 0; i < 100; i++) cache.set(`old-${i}`, keys, 1, verified(), NOW);
    // Walking the Map from its start (keys().next()) crossed every entry deleted since V8 last
    // rebuilt its table: ~7 µs an insertion at 10,000 entries.
    const counted = countMapCalls(() => {
      for (let i = 0; i < 1000; i++) cache.set(`new-${i}`, keys, 1, verified(), NOW);
    });
    assert.equal(counted.keys + counted.values + counted.entries + counted.forEach + counted.iterator, 0);
    assert.equal(cache.size, 100);
    assert.equal(cache.get('new-899', keys, RS, NOW), undefined);
    assert.ok(cache.get('new-900', keys, RS, NOW));
  });

  it('delete and clear forget entries', () => {
    const cache = new VerifiedTokenCache();
    const keys = new Keys();
    cache.set('a', keys, 1, verified(), NOW);
    cache.set('b', keys, 1, verified(), NOW);
    cache.delete('a');
    assert.equal(cache.get('a', keys, RS, NOW), undefined);
    cache.clear();
    assert.equal(cache.size, 0);
  });
});
