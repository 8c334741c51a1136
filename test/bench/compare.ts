/**
 * `npm run bench -- --compare DIR`: an A/B of two gateway builds in one run. Both gateways run
 * side by side on the gateway core (the idle one costs nothing). By default each round measures
 * every scenario on both, in alternating order (A B, then B A, ...), so drift in a shared, noisy
 * machine falls on both builds alike over the rounds. With `--together` both builds are loaded at
 * the same time, half the connections each, so within each round they share the machine's state:
 * on the 2-core VM single sequential rounds moved by ±20 % while same-time rounds agreed within a
 * few per cent (docs/performance.md, "Measuring a few per cent"). Two instances of one build
 * still differ by up to ~2 % when loaded together (an A/A run), so that is the tool's
 * resolution. The verdict uses medians over the rounds, the range is shown so a difference inside
 * the noise reads as one, and the per-round ratio (candidate over baseline in the same round) is
 * the figure to read with `--together`.
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

function emptyRows(
  scenarios: readonly LoadScenario[],
): { scenario: string; baseline: BuildSample[]; candidate: BuildSample[] }[] {
  return scenarios.map((s) => ({ scenario: s.id, baseline: [], candidate: [] }));
}

function sampleOf(m: LoadMeasurement): BuildSample {
  return { rps: m.load.rps, cpuUsPerRequest: m.cpuUsPerRequest };
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
  const results = emptyRows(scenarios);
  for (let round = 0; round < rounds; round++) {
    for (const [i, scenario] of scenarios.entries()) {
      for (const build of roundOrder(round)) {
        const m = await measure(scenario, build);
        results[i]?.[build].push(sampleOf(m));
        log(
          `round ${round + 1}/${rounds} ${scenario.id} ${build}: ${m.load.rps.toFixed(0)} req/s, ` +
            `${m.cpuUsPerRequest?.toFixed(0) ?? '-'} us/req`,
        );
      }
    }
  }
  return results;
}

/**
 * `--together`: each round loads both builds at once for every scenario. `measureBoth` runs one
 * scenario on both builds concurrently and returns [baseline, candidate].
 */
export async function compareBuildsTogether(
  scenarios: readonly LoadScenario[],
  rounds: number,
  measureBoth: (scenario: LoadScenario) => Promise<readonly [LoadMeasurement, LoadMeasurement]>,
  log: (line: string) => void,
): Promise<ScenarioComparison[]> {
  const results = emptyRows(scenarios);
  for (let round = 0; round < rounds; round++) {
    for (const [i, scenario] of scenarios.entries()) {
      const [a, b] = await measureBoth(scenario);
      results[i]?.baseline.push(sampleOf(a));
      results[i]?.candidate.push(sampleOf(b));
      log(
        `round ${round + 1}/${rounds} ${scenario.id} together: baseline ` +
          `${a.cpuUsPerRequest?.toFixed(0) ?? '-'} us/req, candidate ${b.cpuUsPerRequest?.toFixed(0) ?? '-'} us/req`,
      );
    }
  }
  return results;
}

/**
 * Candidate over baseline CPU µs per request, round by round (the same index is the same round);
 * rounds where either build has no CPU figure are left out.
 */
export function roundRatios(row: ScenarioComparison): number[] {
  const ratios: number[] = [];
  for (const [i, a] of row.baseline.entries()) {
    const b = row.candidate[i];
    if (a.cpuUsPerRequest !== undefined && b?.cpuUsPerRequest !== undefined && a.cpuUsPerRequest > 0) {
      ratios.push(b.cpuUsPerRequest / a.cpuUsPerRequest);
    }
  }
  return ratios;
}

function range(s: Spread | undefined): string {
  return s === undefined ? '-' : `${s.median.toFixed(0)} (${s.min.toFixed(0)}-${s.max.toFixed(0)})`;
}

/**
 * When the medians' ranges overlap: whether at least three rounds all put the same build ahead,
 * i.e. the overlap is the machine moving both builds rather than noise between them (what
 * `--together` shows). An A/A run can agree too, by up to ~2 %: a smaller difference is not
 * the code's until other instances repeat it.
 */
function verdictOfRounds(ratios: readonly number[]): string {
  const oneWay = ratios.every((r) => r < 1) || ratios.every((r) => r > 1);
  return ratios.length >= 3 && oneWay ? 'overlap, every round agrees' : 'overlap (noise)';
}

function perRound(ratios: readonly number[]): string {
  const s = spread(ratios);
  return s === undefined ? '-' : `${s.median.toFixed(2)}x (${s.min.toFixed(2)}-${s.max.toFixed(2)})`;
}

function ratio(candidate: Spread | undefined, baseline: Spread | undefined): string {
  return candidate === undefined || baseline === undefined || baseline.median === 0
    ? '-'
    : `${(candidate.median / baseline.median).toFixed(2)}x`;
}

/**
 * A markdown table: per scenario, the median and range of CPU us/request and req/s for each
 * build, candidate/baseline ratios of the medians, and the median and range of the per-round
 * CPU ratios. A CPU ratio below 1 means the candidate is cheaper. When the two ranges overlap, the
 * table says so, and whether every round (at least three) still put the same build ahead.
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
    'us/req ratio per round',
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
      perRound(roundRatios(r)),
      range(rpsA),
      range(rpsB),
      ratio(rpsB, rpsA),
      cpuA === undefined || cpuB === undefined ? '-' : !overlap ? 'apart' : verdictOfRounds(roundRatios(r)),
    ];
  });
  return table(header, body);
}
