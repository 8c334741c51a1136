/**
 * Reads valgrind's callgrind output: the instructions a process executed, in all and per
 * function, for `npm run bench -- --instructions`.
 *
 * Why count instructions at all: on this shared machine two timed rounds a few minutes apart move
 * by ±20 %, and even loading two builds at once (`--together`) resolves no better than ~3 %.
 * callgrind counts the instructions a process executes in user space, which does not depend on
 * what else the machine is doing, so changes of a fraction of a per cent to the gateway's own work
 * show. It is blind to what costs time without costing instructions (cache misses, the kernel's
 * side of a syscall), so it complements the timed modes and does not replace them.
 *
 * V8's compiled JavaScript has no symbols callgrind can see; with node's `--perf-basic-prof` V8
 * writes `/tmp/perf-<pid>.map` (start, size and name of each piece of generated code), and
 * `PerfMap` names the addresses callgrind reports through it.
 *
 * The format (valgrind's "Callgrind Format Specification"): `fn=` starts a function, with names
 * compressed as `(id) name` on first use and `(id)` after; a cost line is a position followed by
 * one number per event; a `calls=` line announces that the next cost line is the inclusive cost of
 * a call, which is not the caller's own. Only the first event (Ir, instructions) is read.
 */

/** One piece of generated code from a perf map. */
interface MapEntry {
  readonly start: number;
  readonly end: number;
  readonly name: string;
}

/** V8's `--perf-basic-prof` map: `<hex start> <hex size> <name>` per line. */
export class PerfMap {
  readonly #entries: MapEntry[];
  readonly #starts: number[];

  constructor(text: string) {
    const entries: MapEntry[] = [];
    for (const line of text.split('\n')) {
      const match = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/i.exec(line);
      if (match === null) continue;
      const start = Number.parseInt(match[1] ?? '', 16);
      entries.push({ start, end: start + Number.parseInt(match[2] ?? '', 16), name: match[3] ?? '' });
    }
    entries.sort((a, b) => a.start - b.start);
    this.#entries = entries;
    this.#starts = entries.map((e) => e.start);
  }

  /** The name of the code holding `address`; undefined when no entry does. */
  nameOf(address: number): string | undefined {
    let low = 0;
    let high = this.#starts.length - 1;
    let found = -1;
    while (low <= high) {
      const mid = (low + high) >> 1;
      if ((this.#starts[mid] ?? Infinity) <= address) {
        found = mid;
        low = mid + 1;
      } else {
        high = mid - 1;
      }
    }
    const entry = this.#entries[found];
    return entry !== undefined && address < entry.end ? entry.name : undefined;
  }
}

export interface CallgrindProfile {
  /** Instructions executed while collecting (the `totals:` or `summary:` line). */
  readonly instructions: number;
  /** Instructions executed in each function itself (not in its callees), by display name. */
  readonly selfByFunction: ReadonlyMap<string, number>;
  /**
   * Of `instructions`, those V8's compilers executed (TurboFan, Maglev and Sparkplug jobs, on
   * their threads and when installed on the main one): the inclusive cost of COMPILER_JOBS.
   */
  readonly compilerInstructions: number;
}

/**
 * Where V8's compilers start work: the background jobs and the main thread's finalisation. None
 * calls another, so their inclusive costs add up without counting anything twice. A process in a
 * steady state compiles nothing; one that still does (V8 may optimise a function again after a
 * deoptimisation, long after the warm-up) spends tens of thousands of instructions a request on it
 * under valgrind, which says nothing about the cost of a request (docs/performance.md, "Tenth
 * session").
 */
export const COMPILER_JOBS: readonly string[] = [
  'v8::internal::OptimizingCompileTaskExecutor::CompileTask::Run(',
  'v8::internal::maglev::MaglevConcurrentDispatcher::JobTask::Run(',
  'v8::internal::baseline::ConcurrentBaselineCompiler::JobDispatcher::Run(',
  'v8::internal::baseline::BaselineBatchCompiler::CompileBatch(',
  'v8::internal::Compiler::CompileOptimized(',
  'v8::internal::Compiler::FinalizeTurbofanCompilationJob(',
  'v8::internal::Compiler::FinalizeMaglevCompilationJob(',
];

/** The compilers' own functions, left out of per-function lists (their cost is in `compilerInstructions`). */
// A demangled template function's name may start with its return type (`void v8::internal::…`).
export const COMPILER_FUNCTION = /^(?:[\w:<>*& ]+ )?v8::internal::(?:compiler|maglev|baseline)::/;

const isCompilerJob = (name: string): boolean => COMPILER_JOBS.some((job) => name.startsWith(job));

/**
 * A display name: a bare address (callgrind's name for code without a symbol) is looked up in
 * the perf map, and the parts that differ between two processes of one build are dropped (the
 * recursion mark `'2`, V8's tier marks), so that the same function has the same name in both.
 */
function displayName(raw: string, map: PerfMap | undefined, strip: readonly string[]): string {
  const name = raw.replace(/'\d+$/, '');
  const address = /^0x([0-9a-f]+)$/i.exec(name);
  if (address === null) return name;
  const mapped = map?.nameOf(Number.parseInt(address[1] ?? '', 16));
  if (mapped === undefined) return '(generated code, unnamed)';
  // "JS:*'name file:line:col": the tier marks (*, +, ^, ~, ') vary with when V8 optimised.
  let shown = mapped.replace(/^JS:[*+^~']*/, 'JS ');
  for (const prefix of strip) shown = shown.replace(prefix, '');
  return shown;
}

/**
 * Parses one callgrind output file (`callgrind.out.<pid>[.<n>]`).
 *
 * @param strip - Prefixes left out of JavaScript names, e.g. the build's directory as a file URL,
 *   so that one function has one name in two builds.
 */
export function parseCallgrind(text: string, map?: PerfMap, strip: readonly string[] = []): CallgrindProfile {
  const names = new Map<string, string>();
  const self = new Map<string, number>();
  // Instructions of the calls made by each compiler job entry (its inclusive cost is self + these).
  const jobCalls = new Map<string, number>();
  let fn = '';
  let callee = '';
  let callCostNext = false;
  let summary: number | undefined;
  let totals: number | undefined;
  const nameOf = (spec: string): string => {
    const compressed = /^\((\d+)\)(?: (.*))?$/.exec(spec.trim());
    if (compressed === null) return displayName(spec.trim(), map, strip);
    const id = compressed[1] ?? '';
    if (compressed[2] !== undefined) names.set(id, displayName(compressed[2], map, strip));
    return names.get(id) ?? `(function ${id})`;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('fn=')) {
      fn = nameOf(line.slice(3));
    } else if (line.startsWith('calls=')) {
      callCostNext = true;
    } else if (line.startsWith('summary:')) {
      summary = Number(line.slice(8).trim().split(/\s+/)[0]);
    } else if (line.startsWith('totals:')) {
      totals = Number(line.slice(7).trim().split(/\s+/)[0]);
    } else if (/^[0-9+*-]/.test(line)) {
      const cost = Number(line.split(/\s+/)[1] ?? 0);
      if (callCostNext) {
        callCostNext = false;
        if (callee !== fn && isCompilerJob(fn)) jobCalls.set(fn, (jobCalls.get(fn) ?? 0) + cost);
      } else {
        self.set(fn, (self.get(fn) ?? 0) + cost);
      }
    } else if (line.startsWith('cfn=')) {
      // The callee of the next calls= line. Its cost is counted under its own fn=, but a name
      // may be given here first (one numbering for fn= and cfn=).
      callee = nameOf(line.slice(4));
    }
  }
  const counted = [...self.values()].reduce((a, b) => a + b, 0);
  let compilerInstructions = 0;
  for (const name of new Set([...self.keys(), ...jobCalls.keys()])) {
    if (isCompilerJob(name)) compilerInstructions += (self.get(name) ?? 0) + (jobCalls.get(name) ?? 0);
  }
  return { instructions: totals ?? summary ?? counted, selfByFunction: self, compilerInstructions };
}
