import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testRoute } from '../../test/fixtures/routes.ts';
import { claimHeaders } from './claim-headers.ts';

const route = testRoute({
  forwardClaims: [
    { claim: ['sub'], header: 'x-user' },
    { claim: ['groups'], header: 'x-groups' },
    { claim: ['tenant', 'id'], header: 'x-tenant' },
    { claim: ['note'], header: 'x-note' },
  ],
});

describe('claimHeaders', () => {
  it('forwards strings, numbers and arrays of them, and drops what is absent or unsafe', () => {
    const pairs = claimHeaders(route, {
      sub: 'alice',
      groups: ['a', 2],
      tenant: { id: 7 },
      note: 'line\r\nx-admin: 1',
    });
    assert.deepEqual(pairs, [
      ['x-user', 'alice'],
      ['x-groups', 'a,2'],
      ['x-tenant', '7'],
    ]);
    assert.deepEqual(claimHeaders(route, undefined), []);
    assert.deepEqual(claimHeaders(testRoute(), { sub: 'alice' }), []);
  });

  it('computes a frozen claims set once per route, and an unfrozen one every time', () => {
    const frozen = Object.freeze({ sub: 'alice', groups: ['a'] });
    const first = claimHeaders(route, frozen);
    assert.equal(claimHeaders(route, frozen), first, 'the same pairs, not computed again');
    assert.ok(Object.isFrozen(first), 'a shared result cannot be changed by one request');
    // Another route (a policy reload builds new objects) gets its own pairs.
    const renamed = testRoute({ forwardClaims: [{ claim: ['sub'], header: 'x-subject' }] });
    assert.deepEqual(claimHeaders(renamed, frozen), [['x-subject', 'alice']]);
    assert.deepEqual(claimHeaders(route, frozen), first);

    const open: Record<string, unknown> = { sub: 'alice' };
    assert.deepEqual(claimHeaders(route, open), [['x-user', 'alice']]);
    open['sub'] = 'bob';
    assert.deepEqual(claimHeaders(route, open), [['x-user', 'bob']]);
  });
});
