import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { claimStrings, parseClaimPath, readClaim } from './claim-path.ts';

describe('parseClaimPath', () => {
  it('splits on dots and keeps dashes inside segments', () => {
    assert.deepEqual(parseClaimPath('resource_access.my-client.roles'), [
      'resource_access',
      'my-client',
      'roles',
    ]);
    assert.deepEqual(parseClaimPath('azp'), ['azp']);
  });

  it('refuses empty segments and names the path', () => {
    for (const text of ['', '.a', 'a.', 'a..b']) {
      assert.throws(() => parseClaimPath(text), {
        name: 'TypeError',
        message: new RegExp(`"${text.replace('.', '\\.')}`),
      });
    }
  });
});

describe('readClaim', () => {
  const payload = JSON.parse(
    '{"azp":"spark","realm_access":{"roles":["a","b"]},"resource_access":{"my-client":{"roles":["r"]}},"n":null,"__proto__":{"x":1}}',
  ) as Record<string, unknown>;

  it('follows nested objects', () => {
    assert.equal(readClaim(payload, ['azp']), 'spark');
    assert.deepEqual(readClaim(payload, ['realm_access', 'roles']), ['a', 'b']);
    assert.deepEqual(readClaim(payload, ['resource_access', 'my-client', 'roles']), ['r']);
  });

  it('gives undefined for missing paths, through scalars, nulls and arrays', () => {
    assert.equal(readClaim(payload, ['missing']), undefined);
    assert.equal(readClaim(payload, ['azp', 'length']), undefined);
    assert.equal(readClaim(payload, ['n', 'x']), undefined);
    assert.equal(readClaim(payload, ['realm_access', 'roles', '0']), undefined);
  });

  it('follows only own properties: inherited names never resolve', () => {
    assert.equal(readClaim({}, ['constructor']), undefined);
    assert.equal(readClaim({}, ['toString']), undefined);
    assert.equal(readClaim({ a: {} }, ['a', 'hasOwnProperty']), undefined);
    // JSON.parse makes "__proto__" an own data property; it is read as a claim like any other.
    assert.equal(readClaim(payload, ['__proto__', 'x']), 1);
  });
});

describe('claimStrings', () => {
  it('turns scalars and arrays of scalars into strings', () => {
    assert.deepEqual(claimStrings('a'), ['a']);
    assert.deepEqual(claimStrings(42), ['42']);
    assert.deepEqual(claimStrings(true), ['true']);
    assert.deepEqual(claimStrings(['a', 1, false, null, { x: 1 }, ['nested']]), ['a', '1', 'false']);
  });

  it('gives nothing for objects, null and undefined', () => {
    assert.deepEqual(claimStrings({ a: 'b' }), []);
    assert.deepEqual(claimStrings(null), []);
    assert.deepEqual(claimStrings(undefined), []);
  });
});
