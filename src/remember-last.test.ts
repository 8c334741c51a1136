import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rememberLast } from './remember-last.ts';

describe('rememberLast', () => {
  it('computes once while the argument repeats and again whenever it changes', () => {
    const calls: string[] = [];
    const upper = rememberLast((text) => {
      calls.push(text);
      return text.toUpperCase();
    });
    const args = ['a', 'a', 'a', 'b', 'a', 'a', '', '', 'b'];
    assert.deepEqual(
      args.map((text) => upper(text)),
      ['A', 'A', 'A', 'B', 'A', 'A', '', '', 'B'],
    );
    assert.deepEqual(calls, ['a', 'b', 'a', '', 'b']);
  });

  it('keeps an undefined result like any other', () => {
    let calls = 0;
    const parse = rememberLast((text) => {
      calls += 1;
      return text === 'x' ? undefined : text.length;
    });
    assert.equal(parse('x'), undefined);
    assert.equal(parse('x'), undefined);
    assert.equal(calls, 1);
    assert.equal(parse('yy'), 2);
    assert.equal(calls, 2);
  });
});
