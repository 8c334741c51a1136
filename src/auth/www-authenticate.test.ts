import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../errors.ts';
import { wwwAuthenticate } from './www-authenticate.ts';

// RFC 6750 §3 grammar of the attribute values we emit.
const DESCRIPTION_CHARS = /^[\x20\x21\x23-\x5B\x5D-\x7E]*$/;

function attribute(header: string, name: string): string | undefined {
  return new RegExp(`${name}="((?:[^"\\\\]|\\\\.)*)"`).exec(header)?.[1];
}

describe('wwwAuthenticate', () => {
  it('has no error attribute when no credentials were sent (RFC 6750 §3.1)', () => {
    assert.equal(
      wwwAuthenticate(
        new GatewayError('token_missing', 'Only the Bearer authorization scheme is accepted'),
        'gw',
      ),
      'Bearer realm="gw"',
    );
  });

  it('answers invalid_token for every other 401', () => {
    for (const code of [
      'token_malformed',
      'token_expired',
      'token_signature_invalid',
      'token_audience_invalid',
    ] as const) {
      assert.equal(
        wwwAuthenticate(new GatewayError(code, 'The token has expired'), 'connector-gateway'),
        'Bearer realm="connector-gateway", error="invalid_token", error_description="The token has expired"',
      );
    }
  });

  it('answers insufficient_scope with scope for 403 scope failures', () => {
    const err = new GatewayError('insufficient_scope', 'The token lacks the required scope', {
      scope: 'spark reports',
    });
    assert.equal(
      wwwAuthenticate(err, 'gw'),
      'Bearer realm="gw", error="insufficient_scope", error_description="The token lacks the required scope", scope="spark reports"',
    );
  });

  it('answers insufficient_scope without scope for a failed claim requirement', () => {
    const header = wwwAuthenticate(new GatewayError('claim_requirement_failed', 'lacks role'), 'gw');
    assert.equal(header, 'Bearer realm="gw", error="insufficient_scope", error_description="lacks role"');
  });

  it('answers invalid_request for 400 invalid_request', () => {
    const header = wwwAuthenticate(
      new GatewayError('invalid_request', 'Send exactly one Authorization header'),
      'gw',
    );
    assert.equal(
      header,
      'Bearer realm="gw", error="invalid_request", error_description="Send exactly one Authorization header"',
    );
  });

  it('gives no challenge for errors that are not about the token', () => {
    for (const code of [
      'issuer_unavailable',
      'route_not_found',
      'ip_forbidden',
      'internal_error',
      'upstream_timeout',
    ] as const) {
      assert.equal(wwwAuthenticate(new GatewayError(code, 'x'), 'gw'), undefined, code);
    }
  });

  it('keeps error_description inside the RFC 6750 character set: no quotes, backslashes, controls or non-ASCII', () => {
    const err = new GatewayError('token_claim_invalid', 'bad "aud" \\ value\r\nX-Injected: 1 \u00e9\u2028');
    const header = wwwAuthenticate(err, 'gw') ?? '';
    const value = attribute(header, 'error_description') ?? '';
    assert.match(value, DESCRIPTION_CHARS);
    assert.equal(value, "bad 'aud' ? value??X-Injected: 1 ??");
    assert.ok(!/[\r\n]/.test(header));
  });

  it('limits error_description to 200 characters', () => {
    const header = wwwAuthenticate(new GatewayError('token_malformed', 'x'.repeat(500)), 'gw') ?? '';
    assert.equal(attribute(header, 'error_description')?.length, 200);
  });

  it('escapes quotes and backslashes in the realm and drops controls', () => {
    const header = wwwAuthenticate(new GatewayError('token_missing', 'x'), 'a "b" \\ c\r\n');
    assert.equal(header, 'Bearer realm="a \\"b\\" \\\\ c"');
  });

  it('keeps only scope-token characters in scope', () => {
    const err = new GatewayError('insufficient_scope', 'x', { scope: 'a"b  c\\d \u00e9' });
    assert.equal(attribute(wwwAuthenticate(err, 'gw') ?? '', 'scope'), 'ab cd');
  });
});
