import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ERROR_CODES, GatewayError } from './errors.ts';

describe('GatewayError', () => {
  it('carries the code, its status and the cause', () => {
    const cause = new Error('socket hang up');
    const err = new GatewayError('upstream_unreachable', 'upstream refused', { cause });
    assert.equal(err.code, 'upstream_unreachable');
    assert.equal(err.status, ERROR_CODES.upstream_unreachable.status);
    assert.equal(err.cause, cause);
  });

  it('keeps a stack for failures but not for refusals, and restores the global limit', () => {
    const before = Error.stackTraceLimit;
    const refusal = new GatewayError('token_expired', 'expired');
    const failure = new GatewayError('internal_error', 'boom');
    assert.doesNotMatch(refusal.stack ?? '', /\n\s+at /);
    assert.match(failure.stack ?? '', /\n\s+at /);
    assert.equal(Error.stackTraceLimit, before);
  });
});
