/**
 * `npm run bench -- --instructions`: the instructions the gateway executes per request, counted
 * by valgrind's callgrind, and which functions execute them. See callgrind.ts for why, and
 * docs/performance.md ("Counting instructions") for how to read it.
 *
 * The gateway runs under `valgrind --tool=callgrind` (some 50 times slower), with node's
 * `--perf-basic-prof` so its compiled JavaScript can be named. First every scenario is run for a
 * number of requests, so that V8 has compiled and optimised all of the paths before anything is
 * counted (its compiler's work would count too). Then per scenario: a shorter warm-up, callgrind's
 * counters zeroed (`callgrind_control -z`), a timed load, the counters dumped
 * (`callgrind_control -d`); instructions in the dump over the requests the load generator
 * completed is the cost of one request. With `--compare` both builds run at once, each
 * with its own load generator: contention changes their speed, not what they execute.
 */
import { execFile, execFileSync } from 'node:child_process';
import { copyFile, readdir, readFile, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { COMPILER_FUNCTION, parseCallgrind, PerfMap } from './callgrind.ts';
import { runLoad, type LoadResult } from './load.ts';
import { checkAnswers, loadSpecOf, type LoadRunContext, type LoadScenario } from './scenarios.ts';

/** The command that runs node under callgrind, dumps into `outDir`. */
export function callgrindWrap(outDir: string): string[] {
  return [
    'valgrind',
    '--tool=callgrind',
    // V8 writes code and then runs it: without this valgrind may run stale translations of it.
    '--smc-check=all-non-file',
    `--callgrind-out-file=${join(outDir, 'callgrind.out.%p')}`,
  ];
}

/**
 * Node flags the measured processes get on top of their own:
 * - `--perf-basic-prof`: names for the compiled JavaScript;
 * - a young generation of a fixed size, the size V8 grows it to under real load (16 MB a
 *   semi-space on 64-bit). V8 sizes it from the allocation rate, and at valgrind's speed it may
 *   leave it small in one process and grow it in the other: in one A/B the baseline's collections
 *   cost ~1,000 instructions a request in root scanning alone and the candidate's 4,100 (four
 *   times as many collections), which swamped the change being measured.
 */
export const INSTRUCTION_NODE_FLAGS: readonly string[] = [
  '--perf-basic-prof',
  '--min-semi-space-size=16',
  '--max-semi-space-size=16',
];

/** Why `--instructions` cannot run here, or undefined when it can. */
export function instructionsUnavailable(): string | undefined {
  for (const tool of ['valgrind', 'callgrind_control']) {
    try {
      execFileSync(tool, ['--version'], { stdio: 'ignore' });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return `--instructions needs valgrind (${tool} is not on the PATH; Debian: apt-get install valgrind)`;
      }
    }
  }
  return undefined;
}

function callgrindControl(flag: '-z' | '-d', pid: number): Promise<void> {
  return new Promise((resolve, reject) => {
    // callgrind_control finds the process by a FIFO named after its pid, user and HOST, each as
    // the process's environment has them: the gateway inherits this environment, so they match.
    execFile('callgrind_control', [flag, String(pid)], (error, stdout, stderr) => {
      if (error !== null || /error|cannot|no .*found/i.test(stderr + stdout)) {
        reject(new Error(`callgrind_control ${flag} ${pid} failed: ${stderr || stdout || error?.message}`));
      } else {
        resolve();
      }
    });
  });
}

/** The newest dump of `pid` in `outDir` (`callgrind.out.<pid>.<n>`, n counting up). */
async function latestDump(outDir: string, pid: number): Promise<string> {
  const prefix = `callgrind.out.${pid}.`;
  const parts = (await readdir(outDir))
    .filter((f) => f.startsWith(prefix))
    .map((f) => Number(f.slice(prefix.length)))
    .filter(Number.isInteger)
    .sort((a, b) => a - b);
  const last = parts.at(-1);
  if (last === undefined) throw new Error(`callgrind wrote no dump for ${pid} in ${outDir}`);
  return join(outDir, `${prefix}${last}`);
}

export interface InstructionMeasurement {
  readonly scenario: string;
  readonly load: LoadResult;
  /** Instructions per request, without what V8's compilers executed meanwhile. */
  readonly instructionsPerRequest: number;
  /** What V8's compilers executed, per request (zero in a steady state). */
  readonly compilerPerRequest: number;
  /**
   * Instructions per request executed in each function itself (not in what it calls); the
   * compilers' own functions left out.
   */
  readonly selfPerRequest: ReadonlyMap<string, number>;
}

/** One process under callgrind and how to load it. */
export interface CountedProcess {
  readonly pid: number;
  readonly ctx: LoadRunContext;
  /** The build it runs (its dist/), left out of the names of its functions. */
  readonly dist: string;
}

/** A scenario counted on one process, read once the process has stopped (`readCount`). */
export interface PendingCount {
  readonly scenario: string;
  readonly load: LoadResult;
  readonly dump: string;
  readonly process: CountedProcess;
}

/** Seconds per warm-up load; loads repeat until the warm-up's requests are done. */
const WARMUP_STEP_SECONDS = 10;

/**
 * `requests` requests of scenario `s` on every process at once, counted by the load generator.
 * By requests, not seconds: V8 optimises a function after so many calls, and under valgrind how
 * many requests a second get through depends on the machine.
 */
export async function warmUp(
  s: LoadScenario,
  processes: readonly CountedProcess[],
  requests: number,
): Promise<void> {
  await Promise.all(
    processes.map(async (p) => {
      const spec = loadSpecOf(s, p.ctx);
      for (let done = 0; done < requests;) {
        done += (await runLoad(p.ctx.tool, { ...spec, durationSeconds: WARMUP_STEP_SECONDS })).requests;
      }
    }),
  );
}

/**
 * Counts scenario `s` on every process at once: counters zeroed, a timed load on each, counters
 * dumped. Warm the processes up first (`warmUp`).
 */
export async function countInstructions(
  s: LoadScenario,
  processes: readonly CountedProcess[],
  outDir: string,
): Promise<PendingCount[]> {
  for (const p of processes) await callgrindControl('-z', p.pid);
  const loads = await Promise.all(
    processes.map(async (p) => ({
      process: p,
      load: await runLoad(p.ctx.tool, { ...loadSpecOf(s, p.ctx), durationSeconds: p.ctx.durationSeconds }),
    })),
  );
  for (const p of processes) await callgrindControl('-d', p.pid);
  const counted: PendingCount[] = [];
  for (const { process, load } of loads) {
    checkAnswers(s, load);
    if (load.requests === 0) throw new Error(`${s.id}: no request completed under valgrind`);
    counted.push({ scenario: s.id, load, process, dump: await latestDump(outDir, process.pid) });
  }
  return counted;
}

/**
 * Reads counts once their processes have exited: V8 buffers its perf map and writes the last of
 * it (the code optimised last, the hot path's) only on the way out. Removes the map afterwards.
 */
export async function readCounts(counts: readonly PendingCount[]): Promise<InstructionMeasurement[]> {
  const maps = new Map<number, PerfMap | undefined>();
  for (const { process, dump } of counts) {
    if (maps.has(process.pid)) continue;
    const mapFile = `/tmp/perf-${process.pid}.map`;
    try {
      maps.set(process.pid, new PerfMap(await readFile(mapFile, 'utf8')));
    } catch {
      maps.set(process.pid, undefined); // Without names the totals still hold.
    }
    // BENCH_KEEP_WORK=1 keeps the map beside the dumps, for reading them with other tools.
    if (globalThis.process.env['BENCH_KEEP_WORK'] === '1') {
      await copyFile(mapFile, join(dirname(dump), `perf-${process.pid}.map`)).catch(() => undefined);
    }
    await rm(mapFile, { force: true });
  }
  const measured: InstructionMeasurement[] = [];
  for (const c of counts) {
    const profile = parseCallgrind(await readFile(c.dump, 'utf8'), maps.get(c.process.pid), [
      pathToFileURL(c.process.dist).href + '/',
    ]);
    const requests = c.load.requests;
    measured.push({
      scenario: c.scenario,
      load: c.load,
      instructionsPerRequest: (profile.instructions - profile.compilerInstructions) / requests,
      compilerPerRequest: profile.compilerInstructions / requests,
      selfPerRequest: new Map(
        [...profile.selfByFunction]
          .filter(([name]) => !COMPILER_FUNCTION.test(name))
          .map(([name, n]) => [name, n / requests]),
      ),
    });
  }
  return measured;
}

const count = (n: number): string => Math.round(n).toLocaleString('en-US');

/**
 * The table of instructions per request and, per scenario, where they go: with a baseline, the
 * functions whose counts differ most between the builds; without one, the biggest.
 */
export function formatInstructions(
  rows: readonly { readonly candidate: InstructionMeasurement; readonly baseline?: InstructionMeasurement }[],
  labels: { readonly candidate: string; readonly baseline: string },
  top = 25,
): string {
  const out: string[] = [
    'Instructions per request (valgrind callgrind: user space only, the kernel is not counted;',
    "V8's compilers left out, and shown apart: nonzero means V8 was still optimising)",
    '',
  ];
  const compared = rows.some((r) => r.baseline !== undefined);
  out.push(
    compared
      ? `${'scenario'.padEnd(16)} ${labels.candidate.padStart(14)} ${labels.baseline.padStart(14)}  ratio   compilers          requests`
      : `${'scenario'.padEnd(16)} ${labels.candidate.padStart(14)}  compilers  requests`,
  );
  for (const { candidate: c, baseline: b } of rows) {
    out.push(
      b === undefined
        ? `${c.scenario.padEnd(16)} ${count(c.instructionsPerRequest).padStart(14)}  ${count(c.compilerPerRequest).padStart(9)}  ${count(c.load.requests)}`
        : `${c.scenario.padEnd(16)} ${count(c.instructionsPerRequest).padStart(14)} ${count(b.instructionsPerRequest).padStart(14)}  ${(c.instructionsPerRequest / b.instructionsPerRequest).toFixed(3)}×  ${`${count(c.compilerPerRequest)} / ${count(b.compilerPerRequest)}`.padEnd(17)}  ${count(c.load.requests)} / ${count(b.load.requests)}`,
    );
  }
  for (const { candidate: c, baseline: b } of rows) {
    out.push('');
    if (b === undefined) {
      out.push(`${c.scenario}: the ${top} functions executing the most instructions per request`);
      const sorted = [...c.selfPerRequest].sort((x, y) => y[1] - x[1]).slice(0, top);
      for (const [name, n] of sorted) {
        out.push(
          `  ${count(n).padStart(8)}  ${((100 * n) / c.instructionsPerRequest).toFixed(1).padStart(5)} %  ${name}`,
        );
      }
      continue;
    }
    out.push(
      `${c.scenario}: the ${top} functions whose instructions per request differ most (this build − baseline)`,
    );
    const names = new Set([...c.selfPerRequest.keys(), ...b.selfPerRequest.keys()]);
    const diffs = [...names]
      .map((name) => ({ name, c: c.selfPerRequest.get(name) ?? 0, b: b.selfPerRequest.get(name) ?? 0 }))
      .sort((x, y) => Math.abs(y.c - y.b) - Math.abs(x.c - x.b))
      .slice(0, top);
    for (const d of diffs) {
      const delta = d.c - d.b;
      out.push(
        `  ${((delta > 0 ? '+' : '') + count(delta)).padStart(8)}  ${count(d.c).padStart(8)} ${count(d.b).padStart(8)}  ${d.name}`,
      );
    }
  }
  return out.join('\n');
}
