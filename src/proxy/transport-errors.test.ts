import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { errors } from 'undici';
import { GatewayError } from '../errors.ts';
import { toGatewayError } from './transport-errors.ts';

function withCode(code: string): Error {
  return Object.assign(new Error(`failed: ${code}`), { code });
}

describe('toGatewayError', () => {
  const cases: [Error, string][] = [
    [withCode('ECONNREFUSED'), 'upstream_unreachable'],
    [withCode('ECONNRESET'), 'upstream_unreachable'],
    [withCode('ENOTFOUND'), 'upstream_unreachable'],
    [withCode('EAI_AGAIN'), 'upstream_unreachable'],
    [withCode('CERT_HAS_EXPIRED'), 'upstream_unreachable'],
    [new errors.SocketError('other side closed'), 'upstream_unreachable'],
    [new errors.ConnectTimeoutError(), 'upstream_timeout'],
    [new errors.HeadersTimeoutError(), 'upstream_timeout'],
    [new errors.BodyTimeoutError(), 'upstream_timeout'],
    [withCode('ETIMEDOUT'), 'upstream_timeout'],
    [withCode('HPE_INVALID_CONSTANT'), 'upstream_error'],
    [
      Object.assign(new Error('Response does not match the HTTP/1.1 protocol'), { name: 'HTTPParserError' }),
      'upstream_error',
    ],
    [new errors.HeadersOverflowError(), 'upstream_error'],
    [new errors.ResponseContentLengthMismatchError(), 'upstream_error'],
    [new errors.ClientClosedError(), 'shutting_down'],
    [new errors.ClientDestroyedError(), 'shutting_down'],
    [new errors.InvalidArgumentError('invalid header'), 'internal_error'],
    [new Error('no code'), 'internal_error'],
  ];
  for (const [error, code] of cases) {
    it(`maps ${(error as { code?: string }).code ?? error.name} to ${code}, keeping the cause`, () => {
      const mapped = toGatewayError(error);
      assert.equal(mapped.code, code);
      assert.equal(mapped.cause, error);
    });
  }

  it('reads the first inner code of an AggregateError (happy-eyeballs connect)', () => {
    const aggregate = new AggregateError([withCode('ECONNREFUSED'), withCode('ECONNREFUSED')], 'all failed');
    assert.equal(toGatewayError(aggregate).code, 'upstream_unreachable');
  });

  it('passes a GatewayError through and maps non-errors to internal_error', () => {
    const original = new GatewayError('payload_too_large', 'too big');
    assert.equal(toGatewayError(original), original);
    assert.equal(toGatewayError('boom').code, 'internal_error');
    assert.equal(toGatewayError(null).code, 'internal_error');
  });

  it('uses statuses 502/504/502', () => {
    assert.equal(toGatewayError(withCode('ECONNREFUSED')).status, 502);
    assert.equal(toGatewayError(withCode('UND_ERR_HEADERS_TIMEOUT')).status, 504);
    assert.equal(toGatewayError(withCode('HPE_INVALID_STATUS')).status, 502);
  });
});
