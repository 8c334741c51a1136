import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIp, parseIp, parseIpAgain } from './ip-address.ts';

describe('parseIp', () => {
  it('parses IPv4 dotted quads to uint32 numbers', () => {
    assert.deepEqual(parseIp('10.0.0.1'), { family: 4, value: 0x0a000001 });
    assert.deepEqual(parseIp('0.0.0.0'), { family: 4, value: 0 });
    assert.deepEqual(parseIp('255.255.255.255'), { family: 4, value: 0xffffffff });
  });

  it('refuses malformed IPv4, including octal-looking leading zeros', () => {
    for (const text of [
      '10.0.0',
      '10.0.0.1.2',
      '256.0.0.1',
      '010.0.0.1',
      '1..2.3',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '',
      'a.b.c.d',
      '1.2.3.-4',
    ]) {
      assert.equal(parseIp(text), undefined, text);
    }
  });

  it('parses IPv6 in full, compressed and dotted-quad forms', () => {
    assert.deepEqual(parseIp('::'), { family: 6, value: 0n });
    assert.deepEqual(parseIp('::1'), { family: 6, value: 1n });
    assert.deepEqual(parseIp('2001:db8::'), { family: 6, value: 0x20010db8n << 96n });
    assert.deepEqual(parseIp('2001:DB8:0:0:0:0:0:1'), { family: 6, value: (0x20010db8n << 96n) | 1n });
    assert.deepEqual(parseIp('1::2'), { family: 6, value: (1n << 112n) | 2n });
    assert.deepEqual(parseIp('64:ff9b::192.0.2.1'), { family: 6, value: (0x64ff9bn << 96n) | 0xc0000201n });
  });

  it('refuses malformed IPv6', () => {
    for (const text of [
      ':::',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      '1:2:3:4:5:6:7:8::',
      '12345::',
      '1:',
      ':1',
      'g::1',
      '::1.2.3',
      '1:2:3:4:5:6:7:1.2.3.4',
    ]) {
      assert.equal(parseIp(text), undefined, text);
    }
  });

  it('treats IPv4-mapped IPv6 as IPv4 (dotted and hex forms)', () => {
    assert.deepEqual(parseIp('::ffff:10.0.0.1'), { family: 4, value: 0x0a000001 });
    assert.deepEqual(parseIp('::ffff:a00:1'), { family: 4, value: 0x0a000001 });
    assert.deepEqual(parseIp('::FFFF:127.0.0.1'), { family: 4, value: 0x7f000001 });
    // IPv4-compatible (deprecated) and NAT64 forms stay IPv6.
    assert.equal(parseIp('::10.0.0.1')?.family, 6);
  });

  it('strips a zone id', () => {
    assert.deepEqual(parseIp('fe80::1%eth0'), parseIp('fe80::1'));
  });
});

describe('formatIp', () => {
  it('formats IPv4 and RFC 5952 IPv6', () => {
    const cases: [string, string][] = [
      ['10.0.0.1', '10.0.0.1'],
      ['::ffff:127.0.0.1', '127.0.0.1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
      ['::', '::'],
      ['::1', '::1'],
      ['1::', '1::'],
    ];
    for (const [input, expected] of cases) {
      const address = parseIp(input);
      assert.ok(address, input);
      assert.equal(formatIp(address), expected);
    }
  });
});

describe('parseIpAgain', () => {
  it('gives what parseIp gives, whether the text repeats or alternates', () => {
    const texts = [
      '10.0.0.1',
      '10.0.0.1',
      '::ffff:10.0.0.2',
      '2001:db8::1',
      '2001:db8::1',
      'nonsense',
      '10.0.0.1',
    ];
    for (const text of [...texts, ...texts.reverse()])
      assert.deepEqual(parseIpAgain(text), parseIp(text), text);
  });
});
