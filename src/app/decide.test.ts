import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostOnly } from './decide.ts';

describe('hostOnly', () => {
  it('lower-cases the host and drops the port, also when hosts alternate and repeat', () => {
    const cases: [string | undefined, string | undefined][] = [
      ['API.Example.com:8443', 'api.example.com'],
      ['API.Example.com:8443', 'api.example.com'],
      ['[2001:DB8::1]:443', '2001:db8::1'],
      ['[2001:db8::1', '[2001:db8::1'],
      ['gateway', 'gateway'],
      ['', undefined],
      [undefined, undefined],
      ['10.0.0.1:80', '10.0.0.1'],
      ['API.Example.com:8443', 'api.example.com'],
      ['Other.example.com', 'other.example.com'],
    ];
    for (const [authority, host] of [...cases, ...cases.reverse()])
      assert.equal(hostOnly(authority), host, authority);
  });
});
