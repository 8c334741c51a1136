import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RestartBudget } from './restart-budget.ts';

describe('RestartBudget', () => {
  it('allows `limit` replacements within the window and refuses the next', () => {
    let now = 1_000_000;
    const budget = new RestartBudget({ limit: 2, windowMs: 10_000, now: () => now });
    assert.equal(budget.take(), true);
    now += 4000;
    assert.equal(budget.take(), true);
    now += 5999; // the first replacement is 9.999 s old: still inside the window
    assert.equal(budget.take(), false);
    assert.equal(budget.used, 2);
  });

  it('gives a replacement back once it is older than the window', () => {
    let now = 0;
    const budget = new RestartBudget({ limit: 2, windowMs: 10_000, now: () => now });
    assert.equal(budget.take(), true);
    now = 4000;
    assert.equal(budget.take(), true);
    now = 10_000; // the first (at 0) leaves the window; the second (at 4000) stays
    assert.equal(budget.used, 1);
    assert.equal(budget.take(), true);
    assert.equal(budget.take(), false);
  });

  it('keeps refusing while workers crash faster than the window lets replacements expire', () => {
    let now = 0;
    const budget = new RestartBudget({ limit: 3, now: () => now });
    const outcomes: boolean[] = [];
    for (let i = 0; i < 6; i++) {
      outcomes.push(budget.take());
      now += 1000;
    }
    assert.deepEqual(outcomes, [true, true, true, false, false, false]);
    assert.equal(budget.windowMs, 10_000, 'default window');
  });

  it('refuses a limit below 1', () => {
    assert.throws(() => new RestartBudget({ limit: 0 }), /limit: expected a whole number >= 1, got 0/);
    assert.throws(() => new RestartBudget({ limit: 1.5 }), RangeError);
  });
});
