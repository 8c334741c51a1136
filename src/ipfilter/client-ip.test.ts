import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import { createClientIpResolver } from './client-ip.ts';

describe('createClientIpResolver', () => {
  it('uses the socket peer when no proxy is trusted, whatever X-Forwarded-For says', () => {
    const resolve = createClientIpResolver([]);
    assert.equal(resolve('203.0.113.5', '10.0.0.1'), '203.0.113.5');
    assert.equal(resolve('::ffff:127.0.0.1', undefined), '127.0.0.1');
    assert.equal(resolve(undefined, '10.0.0.1'), '');
  });

  const resolve = createClientIpResolver(['10.0.0.0/8', '2001:db8:1::/48']);

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    assert.equal(resolve('203.0.113.5', '10.9.9.9'), '203.0.113.5');
    assert.equal(resolve('::ffff:203.0.113.5', '10.9.9.9'), '203.0.113.5');
  });

  it('walks a trusted chain right to left and returns the first untrusted hop', () => {
    assert.equal(resolve('10.0.0.2', '198.51.100.7'), '198.51.100.7');
    // The caller prepended a forged address; the proxies appended the real ones.
    assert.equal(resolve('10.0.0.2', '1.1.1.1, 198.51.100.7, 10.0.0.3'), '198.51.100.7');
    assert.equal(resolve('::ffff:10.0.0.2', '198.51.100.7,10.0.0.3'), '198.51.100.7');
  });

  it('returns the leftmost hop when every hop is trusted', () => {
    assert.equal(resolve('10.0.0.2', '10.0.0.4, 10.0.0.3'), '10.0.0.4');
  });

  it('stops at a malformed element with the last trusted hop, never a caller-chosen value', () => {
    assert.equal(resolve('10.0.0.2', '198.51.100.7, bogus, 10.0.0.3'), '10.0.0.3');
    assert.equal(resolve('10.0.0.2', '198.51.100.7, unknown'), '10.0.0.2');
    assert.equal(resolve('10.0.0.2', '198.51.100.7, 10.0.0.3 10.0.0.4'), '10.0.0.2');
  });

  it('handles IPv6 peers and hops, with or without brackets and ports', () => {
    assert.equal(resolve('2001:db8:1::5', '2001:db8:2::9'), '2001:db8:2::9');
    assert.equal(resolve('2001:db8:1::5', '[2001:DB8:2::9]:4711'), '2001:db8:2::9');
    assert.equal(resolve('2001:db8:2::5', '198.51.100.7'), '2001:db8:2::5');
    assert.equal(resolve('fe80::1%eth0', '198.51.100.7'), 'fe80::1');
  });

  it('accepts ip:port elements (as Azure Application Gateway sends)', () => {
    assert.equal(resolve('10.0.0.2', '198.51.100.7:51234'), '198.51.100.7');
    assert.equal(resolve('10.0.0.2', '198.51.100.7:notaport'), '10.0.0.2');
  });

  it('joins several X-Forwarded-For header lines in order and skips empty elements', () => {
    assert.equal(resolve('10.0.0.2', ['1.1.1.1, 198.51.100.7', '10.0.0.3']), '198.51.100.7');
    assert.equal(resolve('10.0.0.2', ['198.51.100.7', '10.0.0.3,']), '198.51.100.7');
    assert.equal(resolve('10.0.0.2', ['198.51.100.7', '']), '198.51.100.7');
    assert.equal(resolve('10.0.0.2', ''), '10.0.0.2');
  });

  it('refuses a bad trusted proxy entry at start-up', () => {
    assert.throws(
      () => createClientIpResolver(['10.0.0.1/8']),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.match(error.message, /^trusted proxies: "10.0.0.1\/8" has host bits set/);
        return true;
      },
    );
  });
});

describe('createClientIpResolver, peers in turn', () => {
  it('writes each peer canonically when peers alternate, repeat or cannot be read', () => {
    const resolve = createClientIpResolver([]);
    const peers: [string, string][] = [
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
      ['2001:DB8:0:0::1', '2001:db8::1'],
      ['10.0.0.2', '10.0.0.2'],
      ['not an address', 'not an address'],
      ['::ffff:10.0.0.1', '10.0.0.1'],
    ];
    for (const [peer, expected] of [...peers, ...peers.reverse()])
      assert.equal(resolve(peer, undefined), expected);
  });
});
