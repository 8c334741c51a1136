import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../errors.ts';
import type { TraceStep } from '../policy/trace.ts';
import { compileIpFilter, parseAddressEntry } from './ip-filter.ts';

describe('parseAddressEntry', () => {
  it('turns addresses, CIDRs and ranges into inclusive numeric ranges', () => {
    assert.deepEqual(parseAddressEntry('192.168.1.10'), { family: 4, start: 0xc0a8010a, end: 0xc0a8010a });
    assert.deepEqual(parseAddressEntry('10.0.0.0/8'), { family: 4, start: 0x0a000000, end: 0x0affffff });
    assert.deepEqual(parseAddressEntry('0.0.0.0/0'), { family: 4, start: 0, end: 0xffffffff });
    assert.deepEqual(parseAddressEntry('2001:db8::/32'), {
      family: 6,
      start: 0x20010db8n << 96n,
      end: (0x20010db8n << 96n) | ((1n << 96n) - 1n),
    });
    assert.deepEqual(parseAddressEntry({ from: '10.1.0.1', to: '10.1.0.20' }), {
      family: 4,
      start: 0x0a010001,
      end: 0x0a010014,
    });
  });

  it('turns an IPv4-mapped CIDR into the IPv4 CIDR it covers', () => {
    assert.deepEqual(parseAddressEntry('::ffff:10.0.0.0/104'), parseAddressEntry('10.0.0.0/8'));
    assert.deepEqual(parseAddressEntry('::ffff:a00:0/104'), parseAddressEntry('10.0.0.0/8'));
    assert.match(errorOf('::ffff:0.0.0.0/80'), /IPv4-mapped range/);
  });

  it('explains what is wrong with a bad entry', () => {
    assert.equal(errorOf('10.0.0.1/8'), '"10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?');
    assert.equal(errorOf('10.0.0.0/33'), '"10.0.0.0/33": the prefix length must be 0..32');
    assert.equal(errorOf('2001:db8::/129'), '"2001:db8::/129": the prefix length must be 0..128');
    assert.equal(errorOf('10.0.0.0/08'), '"10.0.0.0/08": the prefix length must be a number');
    assert.equal(errorOf('10.0.0/8'), 'CIDR "10.0.0" is not an IPv4 or IPv6 address');
    assert.equal(errorOf('fe80::1%eth0'), '"fe80::1%eth0" has a zone id; write the address without %zone');
    assert.equal(
      errorOf({ from: '10.0.0.9', to: '10.0.0.1' }),
      'from (10.0.0.9) is greater than to (10.0.0.1)',
    );
    assert.equal(errorOf({ from: '10.0.0.1', to: '::1' }), 'from and to must be the same IP family');
    assert.equal(errorOf({ from: 'x', to: '10.0.0.1' }), 'from: "x" is not an IPv4 or IPv6 address');
  });
});

function errorOf(entry: Parameters<typeof parseAddressEntry>[0]): string {
  const result = parseAddressEntry(entry);
  assert.ok('error' in result, `expected an error for ${JSON.stringify(entry)}`);
  return result.error;
}

describe('compileIpFilter', () => {
  const allow = compileIpFilter({
    action: 'allow',
    addresses: ['10.0.0.0/8', '192.168.1.10', '2001:db8::/32', { from: '172.16.0.10', to: '172.16.0.20' }],
  });

  it('allow: passes listed IPv4, IPv6, single addresses and range members only', () => {
    for (const ip of [
      '10.0.0.0',
      '10.255.255.255',
      '192.168.1.10',
      '172.16.0.10',
      '172.16.0.20',
      '2001:db8::1',
      '2001:db8:ffff::',
    ]) {
      assert.equal(allow.allows(ip), true, ip);
    }
    for (const ip of [
      '11.0.0.0',
      '9.255.255.255',
      '192.168.1.11',
      '172.16.0.9',
      '172.16.0.21',
      '2001:db9::',
      '::1',
    ]) {
      assert.equal(allow.allows(ip), false, ip);
    }
  });

  it('matches IPv4-mapped client addresses against IPv4 entries', () => {
    assert.equal(allow.allows('::ffff:10.1.2.3'), true);
    assert.equal(allow.allows('::ffff:a01:203'), true);
    assert.equal(allow.allows('::ffff:11.1.2.3'), false);
  });

  it('forbid: refuses listed addresses and passes the rest', () => {
    const forbid = compileIpFilter({ action: 'forbid', addresses: ['203.0.113.0/24', '2001:db8::/32'] });
    assert.equal(forbid.allows('203.0.113.7'), false);
    assert.equal(forbid.allows('2001:db8::7'), false);
    assert.equal(forbid.allows('198.51.100.7'), true);
    assert.equal(forbid.allows('2001:db9::7'), true);
  });

  it('never allows an unreadable client address, for allow and forbid alike', () => {
    const forbid = compileIpFilter({ action: 'forbid', addresses: ['203.0.113.0/24'] });
    for (const ip of ['', 'unknown', '10.0.0.1:443', '[::1]']) {
      assert.equal(allow.allows(ip), false, ip);
      assert.equal(forbid.allows(ip), false, ip);
    }
  });

  it('merges overlapping and adjacent ranges without losing addresses', () => {
    const merged = compileIpFilter({
      action: 'allow',
      addresses: [
        '10.0.0.0/24',
        '10.0.1.0/24',
        '10.0.0.128/25',
        { from: '10.0.2.0', to: '10.0.2.0' },
        '10.0.5.5',
      ],
    });
    for (const ip of ['10.0.0.0', '10.0.1.255', '10.0.2.0', '10.0.5.5'])
      assert.equal(merged.allows(ip), true, ip);
    for (const ip of ['10.0.2.1', '10.0.5.4', '10.0.5.6', '9.255.255.255'])
      assert.equal(merged.allows(ip), false, ip);
  });

  it('describes itself and records a trace step', () => {
    assert.equal(allow.describe(), 'allow 10.0.0.0/8, 192.168.1.10, 2001:db8::/32, 172.16.0.10-172.16.0.20');
    const steps: TraceStep[] = [];
    assert.equal(allow.allows('::ffff:11.0.0.1', { step: (s) => steps.push(s) }), false);
    assert.deepEqual(steps, [
      { stage: 'ip', check: 'ipFilter', ok: false, detail: `11.0.0.1 is not listed in ${allow.describe()}` },
    ]);
  });

  it('throws ConfigError for a bad entry', () => {
    assert.throws(() => compileIpFilter({ action: 'allow', addresses: ['10.0.0.1/8'] }), ConfigError);
  });
});

describe('compileIpFilter, addresses in turn', () => {
  it('decides each address on its own when addresses alternate between filters and calls', () => {
    const allow = compileIpFilter({ action: 'allow', addresses: ['10.0.0.0/8'] });
    const forbid = compileIpFilter({ action: 'forbid', addresses: ['10.0.0.0/8'] });
    const cases: [string, boolean][] = [
      ['10.1.2.3', true],
      ['10.1.2.3', true],
      ['11.0.0.1', false],
      ['::ffff:10.9.9.9', true],
      ['garbage', false],
      ['10.1.2.3', true],
    ];
    for (const [ip, inside] of [...cases, ...cases.reverse()]) {
      assert.equal(allow.allows(ip), inside, `allow ${ip}`);
      assert.equal(forbid.allows(ip), ip !== 'garbage' && !inside, `forbid ${ip}`);
    }
  });
});
