import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addConnectionTokens,
  HOP_BY_HOP_HEADERS,
  isPlainConnection,
  namesExtraFields,
} from './hop-by-hop.ts';

describe('hop-by-hop', () => {
  it('lists the RFC 9110 §7.6.1 fields plus the proxy-auth pair', () => {
    for (const name of [
      'connection',
      'keep-alive',
      'proxy-connection',
      'te',
      'trailer',
      'transfer-encoding',
      'upgrade',
      'proxy-authorization',
      'proxy-authenticate',
    ]) {
      assert.ok(HOP_BY_HOP_HEADERS.has(name), name);
    }
    assert.ok(!HOP_BY_HOP_HEADERS.has('authorization'));
  });

  it('splits Connection options, trimming and lower-casing, skipping empties', () => {
    const tokens = new Set<string>();
    addConnectionTokens(' X-Custom ,,keep-alive,Close, x-other', tokens);
    addConnectionTokens('', tokens);
    assert.deepEqual([...tokens].sort(), ['close', 'keep-alive', 'x-custom', 'x-other']);
  });

  it('knows a lone keep-alive or close needs no option set, and nothing else', () => {
    for (const value of ['keep-alive', 'Keep-Alive', ' close ', 'CLOSE'])
      assert.ok(isPlainConnection(value), value);
    for (const value of [
      'keep-alive, x-custom',
      'x-custom',
      'upgrade',
      '',
      'keep-alive,close',
      'close-ish',
    ]) {
      assert.ok(!isPlainConnection(value), value);
    }
  });

  it('needs a second pass only for options that name other fields', () => {
    assert.equal(namesExtraFields(new Set(['keep-alive', 'close']), new Set()), false);
    assert.equal(
      namesExtraFields(new Set(['keep-alive', 'authorization']), new Set(['authorization'])),
      false,
    );
    assert.equal(namesExtraFields(new Set(['keep-alive', 'x-custom']), new Set()), true);
  });
});
