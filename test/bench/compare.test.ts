/**
 * The A/B arithmetic of `npm run bench -- --compare`: medians, alternating order, and a verdict
 * that calls a difference inside the rounds' ranges noise.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatComparison, roundOrder, spread, type ScenarioComparison } from './compare.ts';

const sample = (cpuUsPerRequest: number, rps = 1e6 / cpuUsPerRequest) => ({ rps, cpuUsPerRequest });

describe('bench A/B comparison', () => {
  it('takes the median (middle two averaged), min and max', () => {
    assert.deepEqual(spread([3, 1, 2]), { median: 2, min: 1, max: 3 });
    assert.deepEqual(spread([4, 1, 3, 2]), { median: 2.5, min: 1, max: 4 });
    assert.equal(spread([]), undefined);
  });

  it('alternates which build goes first, so drift falls on both', () => {
    assert.deepEqual([0, 1, 2, 3].map(roundOrder), [
      ['baseline', 'candidate'],
      ['candidate', 'baseline'],
      ['baseline', 'candidate'],
      ['candidate', 'baseline'],
    ]);
  });

  it('reports ratios of medians and calls overlapping ranges noise', () => {
    const rows: ScenarioComparison[] = [
      {
        scenario: 's1',
        baseline: [sample(200), sample(210), sample(220)],
        candidate: [sample(150), sample(160), sample(170)],
      },
      { scenario: 's2', baseline: [sample(200), sample(240)], candidate: [sample(190), sample(230)] },
    ];
    const text = formatComparison(rows, 'old', 'new');
    const [s1, s2] = text.split('\n').slice(2);
    assert.match(s1 ?? '', /\| s1 +\| 210 \(200-220\) +\| 160 \(150-170\) +\| 0\.76x .*\| apart +\|$/);
    assert.match(
      s2 ?? '',
      /\| s2 +\| 220 \(200-240\) +\| 210 \(190-230\) +\| 0\.95x .*\| overlap \(noise\) +\|$/,
    );
  });
});
