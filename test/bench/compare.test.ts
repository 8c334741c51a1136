/**
 * The A/B arithmetic of `npm run bench -- --compare`: medians, alternating order, a verdict that
 * calls a difference inside the rounds' ranges noise, and (for `--together`) the per-round ratio
 * of two builds loaded at the same time.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  compareBuildsTogether,
  formatComparison,
  roundOrder,
  roundRatios,
  spread,
  type ScenarioComparison,
} from './compare.ts';
import { LOAD_SCENARIOS, type LoadMeasurement, type LoadScenario } from './scenarios.ts';

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

  it('reads a steady difference from the per-round ratio when the machine swings between rounds', () => {
    // Every round the candidate is 3 % cheaper, while the machine moves the rounds by 2x: the
    // medians' ranges overlap, the per-round ratio does not move.
    const row: ScenarioComparison = {
      scenario: 's1',
      baseline: [sample(100), sample(200), sample(150)],
      candidate: [sample(97), sample(194), sample(145.5)],
    };
    const mixed: ScenarioComparison = {
      scenario: 's2',
      baseline: [sample(100), sample(200), sample(150)],
      candidate: [sample(97), sample(206), sample(145.5)],
    };
    assert.match(formatComparison([mixed], 'old', 'new').split('\n')[2] ?? '', /\| overlap \(noise\) +\|$/);
    assert.deepEqual(
      roundRatios(row).map((r) => r.toFixed(2)),
      ['0.97', '0.97', '0.97'],
    );
    const line = formatComparison([row], 'old', 'new').split('\n')[2] ?? '';
    assert.match(line, /\| 0\.97x +\| 0\.97x \(0\.97-0\.97\) +\|/);
    assert.match(line, /\| overlap, every round agrees +\|$/);
  });

  it('leaves rounds without a CPU figure out of the per-round ratio', () => {
    const row: ScenarioComparison = {
      scenario: 's2',
      baseline: [{ rps: 1, cpuUsPerRequest: undefined }, sample(100)],
      candidate: [sample(90), sample(110)],
    };
    assert.deepEqual(roundRatios(row), [1.1]);
  });

  it('with --together measures both builds in one call per scenario and round, and files each result under its build', async () => {
    const scenarios: LoadScenario[] = LOAD_SCENARIOS.filter((s) => s.target === 'gateway').slice(0, 2);
    const calls: string[] = [];
    const measured = (scenario: LoadScenario, cpuUsPerRequest: number): LoadMeasurement => ({
      scenario,
      load: {
        tool: 'wrk',
        requests: 1000,
        rps: 100,
        p50Ms: 1,
        p99Ms: 2,
        p999Ms: 3,
        non2xx: 0,
        socketErrors: 0,
      },
      usage: undefined,
      cpuUsPerRequest,
    });
    const rows = await compareBuildsTogether(
      scenarios,
      2,
      (scenario) => {
        calls.push(scenario.id);
        return Promise.resolve([
          measured(scenario, 100 + calls.length),
          measured(scenario, 50 + calls.length),
        ] as const);
      },
      () => {},
    );
    assert.deepEqual(calls, [scenarios[0]?.id, scenarios[1]?.id, scenarios[0]?.id, scenarios[1]?.id]);
    assert.deepEqual(
      rows.map((r) => [
        r.scenario,
        r.baseline.map((b) => b.cpuUsPerRequest),
        r.candidate.map((c) => c.cpuUsPerRequest),
      ]),
      [
        [scenarios[0]?.id, [101, 103], [51, 53]],
        [scenarios[1]?.id, [102, 104], [52, 54]],
      ],
    );
  });
});
