import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isGatewayError } from '../errors.ts';
import { checkDeclaredLength, DEFAULT_MAX_BODY_BYTES, methodForwardsBody } from './body-limit.ts';

describe('body limit', () => {
  it('refuses a declared length over the limit with payload_too_large', () => {
    assert.throws(
      () => checkDeclaredLength(1001, 1000),
      (error: unknown) => isGatewayError(error) && error.code === 'payload_too_large' && error.status === 413,
    );
  });

  it('accepts a length at the limit and an absent length', () => {
    checkDeclaredLength(1000, 1000);
    checkDeclaredLength(-1, 1000);
    assert.equal(DEFAULT_MAX_BODY_BYTES, 1073741824);
  });

  it('forwards bodies for every method but GET and HEAD', () => {
    assert.equal(methodForwardsBody('GET'), false);
    assert.equal(methodForwardsBody('HEAD'), false);
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'])
      assert.equal(methodForwardsBody(method), true);
  });
});
