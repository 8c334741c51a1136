import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GatewayError } from '../errors.ts';
import { parseRequestTarget } from './request-path.ts';
import type { TraceStep } from './trace.ts';

function rejects(target: string, code: 'invalid_path' | 'invalid_request', reason: RegExp): void {
  assert.throws(
    () => parseRequestTarget(target),
    (error: unknown) => {
      assert.ok(error instanceof GatewayError, `${target}: not a GatewayError`);
      assert.equal(error.code, code, target);
      assert.equal(error.status, 400);
      assert.match(error.message, reason, target);
      return true;
    },
  );
}

describe('parseRequestTarget', () => {
  it('splits origin-form into path and search without decoding', () => {
    assert.deepEqual(parseRequestTarget('/connectors/adls/files/a%20b.csv?x=1&y=%2F'), {
      path: '/connectors/adls/files/a%20b.csv',
      search: '?x=1&y=%2F',
    });
    assert.deepEqual(parseRequestTarget('/'), { path: '/', search: '' });
    assert.deepEqual(parseRequestTarget('/a/'), { path: '/a/', search: '' });
    assert.deepEqual(parseRequestTarget('/a?'), { path: '/a', search: '?' });
    assert.deepEqual(parseRequestTarget("/a:b@c!$&'()*+,;=-._~"), {
      path: "/a:b@c!$&'()*+,;=-._~",
      search: '',
    });
  });

  it('canonicalises percent-encoding (RFC 3986 §6.2.2): upper-case hex, unreserved decoded', () => {
    assert.equal(parseRequestTarget('/caf%c3%a9').path, '/caf%C3%A9');
    assert.equal(parseRequestTarget('/connectors/%61dls/x').path, '/connectors/adls/x');
    assert.equal(parseRequestTarget('/%7Euser/%2d%5f%30').path, '/~user/-_0');
    assert.equal(parseRequestTarget('/a%20b').path, '/a%20b');
  });

  it('refuses dot segments, also encoded ones in any case', () => {
    rejects('/connectors/../admin', 'invalid_path', /dot segment/);
    rejects('/connectors/./adls', 'invalid_path', /dot segment/);
    rejects('/connectors/..', 'invalid_path', /dot segment/);
    rejects('/..', 'invalid_path', /dot segment/);
    rejects('/connectors/%2e%2e/admin', 'invalid_path', /encoded dot/);
    rejects('/connectors/%2E%2E/admin', 'invalid_path', /encoded dot/);
    rejects('/connectors/.%2e/admin', 'invalid_path', /encoded dot/);
    rejects('/connectors/%2e/admin', 'invalid_path', /encoded dot/);
  });

  it('refuses encoded slashes and backslashes, raw backslashes and empty segments', () => {
    rejects('/connectors/adls%2F..%2Fadmin', 'invalid_path', /encoded slash/);
    rejects('/connectors/adls%2fx', 'invalid_path', /encoded slash/);
    rejects('/connectors/adls%5Cx', 'invalid_path', /encoded slash or backslash/);
    rejects('/connectors\\..\\admin', 'invalid_path', /backslash/);
    rejects('/connectors//adls', 'invalid_path', /empty path segment/);
    rejects('//evil.example/x', 'invalid_path', /empty path segment/);
  });

  it('refuses NUL, control characters and malformed percent-encoding', () => {
    rejects('/a%00b', 'invalid_path', /NUL/);
    rejects('/a\u0000b', 'invalid_path', /NUL/);
    rejects('/a\u0001b', 'invalid_path', /control character/);
    rejects('/a\u007fb', 'invalid_path', /control character/);
    rejects('/a%0Ab', 'invalid_path', /encoded control character/);
    rejects('/a%zz', 'invalid_path', /malformed percent-encoding/);
    rejects('/a%4', 'invalid_path', /malformed percent-encoding/);
    rejects('/a%', 'invalid_path', /malformed percent-encoding/);
  });

  it('refuses characters RFC 3986 does not allow in a path', () => {
    for (const target of ['/a b', '/a"b', '/a<b', '/a{b}', '/a|b', '/a^b', '/a`b', '/a[b]', '/caf\u00e9']) {
      rejects(target, 'invalid_path', /not allowed in a path/);
    }
  });

  it('refuses control characters, spaces and non-ASCII in the query, and any fragment', () => {
    rejects('/a?x=1 2', 'invalid_request', /query/);
    rejects('/a?x=\u0000', 'invalid_request', /query/);
    rejects('/a?x=\u00e9', 'invalid_request', /query/);
    rejects('/a#frag', 'invalid_request', /fragment/);
  });

  it('accepts absolute-form and returns the authority (RFC 9112 §3.2.2)', () => {
    assert.deepEqual(parseRequestTarget('http://Other-Host.example:8080/x/y?q=1'), {
      path: '/x/y',
      search: '?q=1',
      authority: 'other-host.example:8080',
    });
    assert.deepEqual(parseRequestTarget('HTTPS://h'), { path: '/', search: '', authority: 'h' });
    assert.deepEqual(parseRequestTarget('http://[::1]:80?x'), {
      path: '/',
      search: '?x',
      authority: '[::1]:80',
    });
    rejects('http://h/a/../b', 'invalid_path', /dot segment/);
    rejects('http://user:pw@h/x', 'invalid_request', /authority/);
    rejects('http:///x', 'invalid_request', /authority/);
  });

  it('refuses targets that are neither origin-form nor absolute-form', () => {
    rejects('*', 'invalid_request', /asterisk-form/);
    rejects('example.com:443', 'invalid_request', /neither origin-form nor absolute-form/);
    rejects('ftp://h/x', 'invalid_request', /neither origin-form nor absolute-form/);
    rejects('', 'invalid_request', /neither origin-form nor absolute-form/);
    rejects('a/b', 'invalid_request', /neither origin-form nor absolute-form/);
  });

  it('records the outcome in a trace', () => {
    const steps: TraceStep[] = [];
    parseRequestTarget('/a/%7e', { step: (s) => steps.push(s) });
    assert.throws(() => parseRequestTarget('/a/..', { step: (s) => steps.push(s) }));
    assert.deepEqual(steps, [
      { stage: 'path', check: 'target', ok: true, detail: 'path /a/~' },
      { stage: 'path', check: 'target', ok: false, detail: 'dot segment' },
    ]);
  });
});
