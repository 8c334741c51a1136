/**
 * `npm run bench -- --compare DIR`: an A/B of two gateway builds in one run. Both gateways run
 * side by side on the gateway core (the idle one costs nothing), and each round measures every
 * scenario on both, in alternating order (A B, then B A, ...), so drift in a shared, noisy
 * machine falls on both builds alike. The verdict uses medians over the rounds, and the range is
 * shown so a difference inside the noise reads as one.
 */
import { table } from './report.ts';
import type { LoadMeasurement, LoadScenario } from './scenarios.ts';

export interface BuildSample {
  readonly rps: number;
  readonly cpuUsPerRequest: number | undefined;
}

export interface ScenarioComparison {
  readonly scenario: string;
  /** Per round, in run order. */
  readonly baseline: readonly BuildSample[];
  readonly candidate: readonly BuildSample[];
}

export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** Median (the mean of the middle two for an even count), min and max; undefined when empty. */
export function spread(values: readonly number[]): Spread | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median =
    sorted.length % 2 === 1
      ? (sorted[mid] as number)
      : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted.at(-1) as number };
}

/** Which build goes first in `round` (0-based): baseline on even rounds, candidate on odd ones. */
export function roundOrder(
  round: number,
): readonly ['baseline', 'candidate'] | readonly ['candidate', 'baseline'] {
  return round % 2 === 0 ? (['baseline', 'candidate'] as const) : (['candidate', 'baseline'] as const);
}

/**
 * Runs `rounds` rounds of every scenario on both builds. `measure` runs one scenario against one
 * build and returns its measurement.
 */
export async function compareBuilds(
  scenarios: readonly LoadScenario[],
  rounds: number,
  measure: (scenario: LoadScenario, build: 'baseline' | 'candidate') => Promise<LoadMeasurement>,
  log: (line: string) => void,
): Promise<ScenarioComparison[]> {
  const results = scenarios.map((s) => ({
    scenario: s.id,
    baseline: [] as BuildSample[],
    candidate: [] as BuildSample[],
  }));
  for (let round = 0; round < rounds; round++) {
    for (const [i, scenario] of scenarios.entries()) {
      for (const build of roundOrder(round)) {
        const m = await measure(scenario, build);
        results[i]?.[build].push({ rps: m.load.rps, cpuUsPerRequest: m.cpuUsPerRequest });
        log(
          `round ${round + 1}/${rounds} ${scenario.id} ${build}: ${m.load.rps.toFixed(0)} req/s, ` +
            `${m.cpuUsPerRequest?.toFixed(0) ?? '-'} us/req`,
        );
      }
    }
  }
  return results;
}

function range(s: Spread | undefined): string {
  return s === undefined ? '-' : `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
}

function ratio(candidate: Spread | undefined, baseline: Spread | undefined): string {
  return candidate === undefined || baseline === undefined || baseline.median === 0
    ? '-'
    : `${(candidate.median / baseline.median).toFixed(2)}x`;
}

/**
 * A markdown table: per scenario, the median and range of CPU us/request and req/s for each
 * build, and candidate/baseline ratios of the medians. A CPU ratio below 1 means the candidate is
 * cheaper. When the two ranges overlap, the table says so: that difference is within the noise.
 */
export function formatComparison(
  rows: readonly ScenarioComparison[],
  baseline: string,
  candidate: string,
): string {
  const header = [
    'scenario',
    `us/req ${baseline}`,
    `us/req ${candidate}`,
    'us/req ratio',
    `req/s ${baseline}`,
    `req/s ${candidate}`,
    'req/s ratio',
    'ranges',
  ];
  const body = rows.map((r) => {
    const cpuA = spread(
      r.baseline.flatMap((s) => (s.cpuUsPerRequest === undefined ? [] : [s.cpuUsPerRequest])),
    );
    const cpuB = spread(
      r.candidate.flatMap((s) => (s.cpuUsPerRequest === undefined ? [] : [s.cpuUsPerRequest])),
    );
    const rpsA = spread(r.baseline.map((s) => s.rps));
    const rpsB = spread(r.candidate.map((s) => s.rps));
    const overlap = cpuA !== undefined && cpuB !== undefined && cpuA.min <= cpuB.max && cpuB.min <= cpuA.max;
    return [
      r.scenario,
      range(cpuA),
      range(cpuB),
      ratio(cpuB, cpuA),
      range(rpsA),
      range(rpsB),
      ratio(rpsB, rpsA),
      cpuA === undefined || cpuB === undefined ? '-' : overlap ? 'overlap (noise)' : 'apart',
    ];
  });
  return table(header, body);
}
