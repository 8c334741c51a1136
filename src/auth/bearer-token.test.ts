import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../errors.ts';
import { checkTokenShape, extractBearerToken, readBearerToken } from './bearer-token.ts';

const JWS = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof GatewayError);
    return err.code;
  }
  return 'no error';
}

describe('extractBearerToken', () => {
  const extract = (authorization: string[] | undefined, query = '', max = 8192): string =>
    extractBearerToken({ authorization, query }, max);

  it('returns the token of a single Bearer header, scheme case-insensitive (RFC 6750 §2.1)', () => {
    assert.equal(extract([`Bearer ${JWS}`]), JWS);
    assert.equal(extract([`bearer ${JWS}`]), JWS);
    assert.equal(extract([`BEARER ${JWS}`]), JWS);
  });

  it('takes everything after the spaces that follow the scheme, in every spelling of it', () => {
    // `Bearer <token>` has a path of its own without the regular expression; both must agree.
    assert.equal(extract([`Bearer  ${JWS}`]), JWS);
    assert.equal(extract([`bearer   ${JWS}`]), JWS);
    assert.equal(
      code(() => extract([`Bearer\t${JWS}`])),
      'token_missing',
    );
    assert.equal(
      code(() => extract([`Bearer ${JWS} `])),
      'token_malformed',
    );
  });

  it('accepts an empty signature part so alg none can be refused by name later', () => {
    assert.equal(extract(['Bearer a.b.']), 'a.b.');
  });

  it('answers token_missing without a header or with an empty list', () => {
    assert.equal(
      code(() => extract(undefined)),
      'token_missing',
    );
    assert.equal(
      code(() => extract([])),
      'token_missing',
    );
  });

  it('answers token_missing for another scheme and says only Bearer is accepted', () => {
    assert.throws(() => extract(['Basic dXNlcjpwYXNz']), {
      code: 'token_missing',
      message: /only the bearer/i,
    });
    assert.equal(
      code(() => extract(['Bearerx abc'])),
      'token_missing',
    );
    assert.equal(
      code(() => extract([' '])),
      'token_missing',
    );
  });

  it('answers invalid_request for two Authorization headers, even when both are valid', () => {
    assert.equal(
      code(() => extract([`Bearer ${JWS}`, `Bearer ${JWS}`])),
      'invalid_request',
    );
  });

  it('answers invalid_request for access_token in the query (RFC 6750 §2.3), also percent-encoded', () => {
    assert.equal(
      code(() => extract([`Bearer ${JWS}`], `?access_token=${JWS}`)),
      'invalid_request',
    );
    assert.equal(
      code(() => extract(undefined, '?a=1&access_token=')),
      'invalid_request',
    );
    assert.equal(
      code(() => extract(undefined, '?a=1&acc%65ss_token=x')),
      'invalid_request',
    );
    assert.equal(extract([`Bearer ${JWS}`], '?my_access_token=1&x=access'), JWS);
  });

  it('answers token_too_large over the limit and accepts exactly the limit', () => {
    assert.equal(extract([`Bearer ${JWS}`], '', JWS.length), JWS);
    assert.equal(
      code(() => extract([`Bearer ${JWS}`], '', JWS.length - 1)),
      'token_too_large',
    );
  });

  it('answers token_malformed when the credentials are not three base64url parts', () => {
    for (const value of [
      'Bearer',
      'Bearer ',
      'Bearer abc',
      'Bearer a.b',
      'Bearer a.b.c.d',
      'Bearer .b.c',
      'Bearer a..c',
      'Bearer a.b+/.c',
      'Bearer a.b.c=',
      `Bearer ${JWS} extra`,
      `Bearer ${JWS}\u00e9`,
    ]) {
      assert.equal(
        code(() => extract([value])),
        'token_malformed',
        value,
      );
    }
  });

  it('never puts the token in the error message', () => {
    const cases: [string[], string][] = [
      [[`Bearer ${JWS}.x`], ''],
      [[`Bearer ${JWS}`], `?access_token=${JWS}`],
      [[`Bearer ${JWS}`], ''],
    ];
    for (const [authorization, query] of cases) {
      try {
        extract(authorization, query, authorization === cases[2]?.[0] ? 10 : 8192);
        assert.fail('expected a refusal');
      } catch (err) {
        assert.ok(err instanceof GatewayError);
        assert.ok(!err.message.includes(JWS));
      }
    }
  });
});

describe('readBearerToken and checkTokenShape', () => {
  it('split extractBearerToken: every refusal but the shape, then the shape alone', () => {
    const read = (value: string, max = 8192): string =>
      readBearerToken({ authorization: [value], query: '' }, max);
    assert.equal(read('Bearer not-a-jws'), 'not-a-jws');
    assert.equal(
      code(() => read('Basic abc')),
      'token_missing',
    );
    assert.equal(
      code(() => read(`Bearer ${JWS}`, 10)),
      'token_too_large',
    );
    assert.equal(
      code(() => checkTokenShape('not-a-jws')),
      'token_malformed',
    );
    assert.doesNotThrow(() => checkTokenShape(JWS));
  });
});
