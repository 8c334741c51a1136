/**
 * Issue 5's peer targets, decided from one bench-peers run (`../shared/bench-peers/run.sh`, its
 * `results.json`): S1 and S2 at least 1.5× fastify + fast-jwt with its cache, 1.2× the raw
 * `node:http` proxy, 0.7× HAProxy (and parity, the "real goal"), and a p99 at most 2×
 * nginx's.
 *
 *   node test/bench/peer-verdicts.ts RESULTS_DIR_OR_JSON [--project NAME] [--json]
 *
 * bench-peers' own table gives the mean of the rounds. On this shared 2-core machine one disturbed
 * round moves a mean by 10-20 % (a peer's two rounds came out at 15,584 and 7,882 req/s in one
 * run), so a verdict from the means of two rounds is often a verdict on the machine. Here every
 * ratio is also taken per round, the project's round against the other peer's round of the same
 * number (run minutes apart, not the whole run apart), and the verdict is the median of those
 * ratios, with their range and the number of rounds that met the target beside it. The ratio of
 * the means is still shown, so the figure compares with earlier records.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spread } from './compare.ts';
import { table, verdictRatio } from './report.ts';

/** One timed round of one peer in one scenario, as bench-peers records it. */
export interface PeerRound {
  readonly round: number;
  readonly peer: string;
  readonly scenario: string;
  readonly rps: number;
  readonly p99_us: number;
  /** CPU-seconds of the peer's process tree per wall second. */
  readonly peerCpu: number;
}

export interface PeerTarget {
  /** The peer the project is measured against. */
  readonly against: string;
  readonly label: string;
  readonly measure: 'req/s' | 'p99';
  /** `req/s`: project / peer at least this; `p99`: project / peer at most this. */
  readonly limit: number;
  /** Shown but not one of the hard limits. */
  readonly goal?: boolean;
}

export const PEER_TARGETS: readonly PeerTarget[] = [
  { against: 'fastify-cache', label: '>= 1.5x fastify + fast-jwt (cache)', measure: 'req/s', limit: 1.5 },
  { against: 'node-raw', label: '>= 1.2x raw node:http, no auth', measure: 'req/s', limit: 1.2 },
  { against: 'haproxy', label: '>= 0.7x HAProxy jwt_verify', measure: 'req/s', limit: 0.7 },
  { against: 'haproxy', label: 'HAProxy parity (goal)', measure: 'req/s', limit: 1, goal: true },
  { against: 'nginx', label: 'p99 <= 2x nginx', measure: 'p99', limit: 2 },
];

export interface PeerVerdict {
  readonly target: PeerTarget;
  readonly scenario: string;
  /** Undefined when the run has no rounds of the other peer in this scenario. */
  readonly result:
    | {
        /** Per round number both peers ran, in round order. */
        readonly roundRatios: readonly number[];
        readonly median: number;
        readonly min: number;
        readonly max: number;
        readonly roundsMet: number;
        /** Ratio of the two peers' means over their rounds (bench-peers' table). */
        readonly ofMeans: number;
        /** req/s per peer-core ratio (CPU-normalised), for req/s targets. */
        readonly perCore: number | undefined;
        readonly met: boolean;
      }
    | undefined;
}

function meets(target: PeerTarget, ratio: number): boolean {
  return target.measure === 'p99' ? ratio <= target.limit : ratio >= target.limit;
}

function valueOf(target: PeerTarget, round: PeerRound): number {
  return target.measure === 'p99' ? round.p99_us : round.rps;
}

const mean = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;

/** Every target in every scenario the project ran, judged by the median of per-round ratios. */
export function peerVerdicts(
  runs: readonly PeerRound[],
  project: string,
  targets: readonly PeerTarget[] = PEER_TARGETS,
): PeerVerdict[] {
  const scenarios = [...new Set(runs.filter((r) => r.peer === project).map((r) => r.scenario))].sort();
  const verdicts: PeerVerdict[] = [];
  for (const scenario of scenarios) {
    const of = (peer: string): Map<number, PeerRound> =>
      new Map(runs.filter((r) => r.peer === peer && r.scenario === scenario).map((r) => [r.round, r]));
    const mine = of(project);
    for (const target of targets) {
      const theirs = of(target.against);
      const paired = [...mine.keys()]
        .filter((n) => theirs.has(n))
        .sort((a, b) => a - b)
        .map((n) => [mine.get(n) as PeerRound, theirs.get(n) as PeerRound] as const);
      const roundRatios = paired.map(([a, b]) => valueOf(target, a) / valueOf(target, b));
      const s = spread(roundRatios);
      if (s === undefined) {
        verdicts.push({ target, scenario, result: undefined });
        continue;
      }
      const ofMeans =
        mean(paired.map(([a]) => valueOf(target, a))) / mean(paired.map(([, b]) => valueOf(target, b)));
      const perCoreOf = (rounds: readonly PeerRound[]): number =>
        mean(rounds.map((r) => r.rps)) / mean(rounds.map((r) => r.peerCpu));
      const mineCpu = mean(paired.map(([a]) => a.peerCpu));
      const theirCpu = mean(paired.map(([, b]) => b.peerCpu));
      const perCore =
        target.measure === 'req/s' && mineCpu > 0.05 && theirCpu > 0.05
          ? perCoreOf(paired.map(([a]) => a)) / perCoreOf(paired.map(([, b]) => b))
          : undefined;
      verdicts.push({
        target,
        scenario,
        result: {
          roundRatios,
          median: s.median,
          min: s.min,
          max: s.max,
          roundsMet: roundRatios.filter((r) => meets(target, r)).length,
          ofMeans,
          perCore,
          met: meets(target, s.median),
        },
      });
    }
  }
  return verdicts;
}

/** The verdicts as a markdown table. */
export function formatPeerVerdicts(verdicts: readonly PeerVerdict[], project: string): string {
  const rows = verdicts.map(({ target, scenario, result }) => {
    if (result === undefined) {
      return [target.label, scenario, `${target.against} not in this run`, '-', '-', '-', '-', '-'];
    }
    const ratio = (x: number): string => `${verdictRatio(x, (y) => meets(target, y))}x`;
    const verdict = result.met ? 'met' : target.goal === true ? 'not reached' : 'NOT met';
    return [
      target.label,
      scenario,
      ratio(result.median),
      `${result.min.toFixed(2)}-${result.max.toFixed(2)}`,
      `${result.roundsMet} of ${result.roundRatios.length}`,
      ratio(result.ofMeans),
      result.perCore === undefined ? '-' : `${result.perCore.toFixed(2)}x`,
      verdict,
    ];
  });
  return [
    `${project} against the peers: per-round ratios (round n against the other peer's round n), median decides`,
    '',
    table(
      ['target', 'scenario', 'median', 'range', 'rounds met', 'of means', 'per peer-core', 'verdict'],
      rows,
    ),
  ].join('\n');
}

/** A results.json's rounds, checked, with a clear error for anything else. */
export function readPeerRounds(json: unknown): PeerRound[] {
  const runs = (json as { runs?: unknown } | null)?.runs;
  if (!Array.isArray(runs)) {
    throw new Error('not a bench-peers results.json: no "runs" array');
  }
  return runs.map((value: unknown, i) => {
    const r = value as Partial<Record<keyof PeerRound, unknown>>;
    const ok =
      typeof r.round === 'number' &&
      typeof r.peer === 'string' &&
      typeof r.scenario === 'string' &&
      typeof r.rps === 'number' &&
      typeof r.p99_us === 'number' &&
      typeof r.peerCpu === 'number';
    if (!ok) {
      throw new Error(`runs[${i}] lacks round, peer, scenario, rps, p99_us or peerCpu`);
    }
    return r as PeerRound;
  });
}

function main(argv: readonly string[]): void {
  let path: string | undefined;
  let project: string | undefined;
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') json = true;
    else if (arg === '--project') {
      project = argv[++i];
      if (project === undefined || project.startsWith('--')) throw new Error('--project needs a peer name');
    } else if (arg !== undefined && !arg.startsWith('--') && path === undefined) path = arg;
    else throw new Error(`unknown argument ${String(arg)}`);
  }
  if (path === undefined) {
    throw new Error('usage: node test/bench/peer-verdicts.ts RESULTS_DIR_OR_JSON [--project NAME] [--json]');
  }
  const file = statSync(path).isDirectory() ? join(path, 'results.json') : path;
  const runs = readPeerRounds(JSON.parse(readFileSync(file, 'utf8')));
  const known = new Set(runs.map((r) => r.peer));
  const name = project ?? ['project', 'connector-gateway'].find((n) => known.has(n));
  if (name === undefined || !known.has(name)) {
    throw new Error(
      `no rounds of ${name ?? 'project'} in ${file} (peers: ${[...known].join(', ')}); pass --project NAME`,
    );
  }
  const verdicts = peerVerdicts(runs, name);
  process.stdout.write(
    json ? `${JSON.stringify(verdicts, null, 2)}\n` : `${formatPeerVerdicts(verdicts, name)}\n`,
  );
}

if (import.meta.main) {
  try {
    main(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`peer-verdicts: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 2;
  }
}
