/**
 * The bench's output: one table of load scenarios (req/s, latency percentiles, gateway CPU and
 * peak RSS, ratio to `direct` from the same run), one of the streaming transfers, and the issue's
 * targets that one run can decide, each with the measured value. `--json` prints the same data.
 */
import type { LoadMeasurement, StreamMeasurement } from './scenarios.ts';

export interface Machine {
  readonly date: string;
  readonly cpuModel: string;
  readonly cores: number;
  readonly node: string;
  readonly loadTool: string;
  readonly pinning: string;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly warmupSeconds: number;
}

export interface Target {
  readonly name: string;
  readonly value: string;
  readonly met: boolean | undefined;
}

export interface BenchReport {
  readonly machine: Machine;
  readonly load: readonly LoadMeasurement[];
  readonly skipped: readonly { readonly id: string; readonly reason: string }[];
  readonly streaming: readonly StreamMeasurement[];
  /** Why streaming stopped, when a transfer failed; `streaming` is then empty. */
  readonly streamingFailure?: string;
  /** Reference relays that could not stream in this run, with the reason. */
  readonly referencesSkipped: readonly { readonly id: string; readonly reason: string }[];
  /** jose `jwtVerify` per second on the gateway's core. */
  readonly joseVerifiesPerSecond: number | undefined;
  readonly targets: readonly Target[];
}

const MB = 1024 * 1024;
const fixed = (value: number | undefined, digits = 0): string =>
  value === undefined ? '-' : value.toFixed(digits);

function byId(load: readonly LoadMeasurement[], id: string): LoadMeasurement | undefined {
  return load.find((m) => m.scenario.id === id);
}

/**
 * A ratio beside its verdict: two decimals, or three where two would round it onto the other
 * side of the limit (0.798 is "0.798x", not met, never "0.80x", not met).
 */
export function verdictRatio(ratio: number, met: (x: number) => boolean): string {
  const two = ratio.toFixed(2);
  return met(Number(two)) === met(ratio) ? two : ratio.toFixed(3);
}

/** The targets decidable from one bench run (peer ratios come from bench-peers). */
export function evaluateTargets(
  load: readonly LoadMeasurement[],
  streaming: readonly StreamMeasurement[],
  joseVerifiesPerSecond: number | undefined,
): Target[] {
  const targets: Target[] = [];
  const anon = byId(load, 'anonymous')?.cpuUsPerRequest;
  const fresh = byId(load, 'never-seen')?.cpuUsPerRequest;
  if (anon !== undefined && fresh !== undefined && joseVerifiesPerSecond !== undefined) {
    const joseUs = 1e6 / joseVerifiesPerSecond;
    const ratio = (fresh - anon) / joseUs;
    const met = (x: number): boolean => x <= 1.3;
    targets.push({
      name: 'never-seen token: extra CPU per request <= 1.3x one jose verify',
      value: `${fixed(fresh - anon)} us over anonymous forwarding = ${verdictRatio(ratio, met)}x jose (${fixed(joseUs)} us)`,
      met: met(ratio),
    });
  }
  // Refusals against acceptances of the same shape: repeated tokens (both answered from a cache)
  // and tokens never seen before (both paying a full verification).
  for (const [refusedId, acceptedId] of [
    ['invalid-flood', 's2-1000-tokens'],
    ['invalid-never-seen', 'never-seen'],
  ] as const) {
    const refusal = byId(load, refusedId)?.cpuUsPerRequest;
    const accepted = byId(load, acceptedId)?.cpuUsPerRequest;
    if (refusal === undefined || accepted === undefined) continue;
    targets.push({
      name: `refusal (${refusedId}) no dearer than an acceptance (${acceptedId})`,
      value: `${fixed(refusal)} us vs ${fixed(accepted)} us per request`,
      met: refusal <= accepted,
    });
  }
  for (const s of streaming) {
    const ratio = s.gateway.mbPerSecond / s.direct.mbPerSecond;
    const met = (x: number): boolean => x >= 0.8;
    targets.push({
      name: `100 MB ${s.direction} >= 0.8x direct`,
      value: `${fixed(s.gateway.mbPerSecond)} vs ${fixed(s.direct.mbPerSecond)} MB/s = ${verdictRatio(ratio, met)}x`,
      met: met(ratio),
    });
    targets.push({
      name: `100 MB ${s.direction}: gateway RSS growth < 64 MB`,
      value: `${fixed(s.rssGrowth === undefined ? undefined : s.rssGrowth / MB, 1)} MB`,
      met: s.rssGrowth === undefined ? undefined : s.rssGrowth < 64 * MB,
    });
  }
  return targets;
}

/** `mbPerSecond` over the direct median's, two decimals. */
function ratioOf(mbPerSecond: number, s: StreamMeasurement): string {
  return (mbPerSecond / s.direct.mbPerSecond).toFixed(2);
}

/** `min-max` of the per-round ratios, or `-` when there are none. */
export function ratioRange(ratios: readonly number[]): string {
  const finite = ratios.filter((r) => Number.isFinite(r));
  if (finite.length === 0) return '-';
  return `${Math.min(...finite).toFixed(2)}-${Math.max(...finite).toFixed(2)}`;
}

/** A markdown table with padded columns. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Markdown tables, ready to paste into docs/performance.md. */
export function formatReport(report: BenchReport): string {
  const m = report.machine;
  const direct = byId(report.load, 'direct')?.load.rps;
  const loadRows = report.load.map((x) => [
    x.scenario.id,
    fixed(x.load.rps),
    fixed(x.load.p50Ms, 2),
    fixed(x.load.p99Ms, 2),
    fixed(x.load.p999Ms, 2),
    direct === undefined ? '-' : (x.load.rps / direct).toFixed(2),
    x.usage?.cpu === undefined ? '-' : `${fixed(x.usage.cpu * 100)}%`,
    fixed(x.cpuUsPerRequest),
    x.usage?.peakRss === undefined ? '-' : fixed(x.usage.peakRss / MB),
  ]);
  const streamRows = report.streaming.map((s) => [
    s.direction,
    fixed(s.direct.mbPerSecond),
    fixed(s.gateway.mbPerSecond),
    (s.gateway.mbPerSecond / s.direct.mbPerSecond).toFixed(2),
    ratioRange(s.roundRatios),
    s.peakRss === undefined ? '-' : fixed(s.peakRss / MB),
    s.rssGrowth === undefined ? '-' : fixed(s.rssGrowth / MB, 1),
  ]);
  // The gateway's row again beside the relays, so the table reads on its own.
  const referenceRows = report.streaming.flatMap((s) =>
    s.references.length === 0
      ? []
      : [
          [
            s.direction,
            'connector-gateway',
            fixed(s.gateway.mbPerSecond),
            ratioOf(s.gateway.mbPerSecond, s),
            ratioRange(s.roundRatios),
          ],
          ...s.references.map((r) => [
            s.direction,
            r.title,
            fixed(r.median.mbPerSecond),
            ratioOf(r.median.mbPerSecond, s),
            ratioRange(r.roundRatios),
          ]),
        ],
  );
  const references =
    referenceRows.length === 0
      ? []
      : [
          '',
          "reference relays, on the gateway core in the same rounds (x direct: against the same rounds' direct)",
          '',
          table(['streaming', 'relay', 'MB/s', 'x direct', 'x direct per round'], referenceRows),
        ];
  const verdict = (t: Target): string => (t.met === undefined ? 'n/a' : t.met ? 'met' : 'NOT met');
  return [
    `bench ${m.date} — ${m.cpuModel}, ${m.cores} cores, Node ${m.node}, ${m.loadTool} -c${m.connections}, ` +
      `${m.warmupSeconds} s warm-up + ${m.durationSeconds} s per scenario; ${m.pinning}`,
    '',
    table(
      [
        'scenario',
        'req/s',
        'p50 ms',
        'p99 ms',
        'p99.9 ms',
        'x direct',
        'gw CPU',
        'gw CPU us/req',
        'gw peak RSS MB',
      ],
      loadRows,
    ),
    ...report.skipped.map((s) => `skipped ${s.id}: ${s.reason}`),
    '',
    table(
      [
        'streaming',
        'direct MB/s',
        'gateway MB/s',
        'x direct',
        'x direct per round',
        'gw peak RSS MB',
        'gw RSS growth MB',
      ],
      streamRows,
    ),
    ...references,
    ...(report.streamingFailure === undefined
      ? []
      : [`streaming FAILED, no streaming target decided: ${report.streamingFailure}`]),
    ...report.referencesSkipped.map((r) => `skipped reference relay ${r.id}: ${r.reason}`),
    ...report.streaming.flatMap((s) =>
      (s.referencesFailed ?? []).map(
        (r) => `reference relay ${r.id} left out of the ${s.direction} (a transfer failed): ${r.reason}`,
      ),
    ),
    '',
    `jose jwtVerify on the gateway core: ${fixed(report.joseVerifiesPerSecond)} /s`,
    '',
    table(
      ['target', 'measured', 'verdict'],
      report.targets.map((t) => [t.name, t.value, verdict(t)]),
    ),
  ].join('\n');
}
