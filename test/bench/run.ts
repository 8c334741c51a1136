/**
 * `npm run bench`: the gateway side by side with `direct` in one self-contained run. See USAGE in
 * options.ts and docs/performance.md for a recorded run and how to read it. Not part of `npm test`.
 */
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { REALM_PATH } from './fixture.ts';
import { benchPolicy, freePort, startGatewayProcess, type GatewayProcess } from './gateway-process.ts';
import { generateBenchKeys, jwksOf } from './keys.ts';
import { pickLoadTool } from './load.ts';
import { forgeTokens, mintTokens } from './mint.ts';
import { parseBenchOptions, USAGE, type BenchOptions } from './options.ts';
import { pinned, pinSelf, planCpus } from './pinning.ts';
import { checkBeforeTiming } from './precheck.ts';
import {
  compareBuilds,
  compareBuildsTogether,
  formatComparison,
  type ScenarioComparison,
} from './compare.ts';
import {
  callgrindWrap,
  countInstructions,
  formatInstructions,
  INSTRUCTION_NODE_FLAGS,
  instructionsUnavailable,
  readCounts,
  warmUp,
  type CountedProcess,
  type InstructionMeasurement,
  type PendingCount,
} from './instructions.ts';
import { evaluateTargets, formatReport, type BenchReport } from './report.ts';
import {
  LOAD_SCENARIOS,
  runLoadScenario,
  runStreaming,
  StreamingError,
  SKIPPED_SCENARIOS,
  type LoadMeasurement,
  type StreamMeasurement,
} from './scenarios.ts';
import { startReferenceRelays, type ReferenceRelays } from './reference-relays.ts';

const REPO = resolve(import.meta.dirname, '../..');
const AUDIENCE = 'product-factory';
const SCOPE = 'spark';

function cpuModel(): string {
  try {
    return /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? 'unknown CPU';
  } catch {
    return 'unknown CPU';
  }
}

async function startFixture(jwks: string, credential: string, cpu: string | undefined) {
  const [command, args] = pinned(cpu, process.execPath, [join(import.meta.dirname, 'fixture.ts')]);
  const child = spawn(command, args, {
    env: { ...process.env, BENCH_JWKS: jwks, BENCH_CREDENTIAL: credential },
  });
  child.stderr.pipe(process.stderr);
  const first = await new Promise<string>((ok, fail) => {
    const lines = createInterface({ input: child.stdout });
    lines.once('line', (line) => ok(line));
    child.once('exit', (code) => fail(new Error(`the fixture exited with ${code}`)));
  });
  return { child, ports: JSON.parse(first) as { oidcPort: number; upstreamPort: number } };
}

/** Runs a child pinned to the gateway's core and parses its last stdout line as JSON. */
function joseCeiling(cpu: string | undefined): number | undefined {
  const [command, args] = pinned(cpu, process.execPath, [join(import.meta.dirname, 'jose-ceiling.ts'), '3']);
  const out = execFileSync(command, args, { encoding: 'utf8' }).trim().split('\n').at(-1) ?? '{}';
  return (JSON.parse(out) as { verifiesPerSecond?: number }).verifiesPerSecond;
}

/** One scenario's instruction counts (`--instructions`), with the baseline's in A/B mode. */
interface InstructionRow {
  readonly candidate: InstructionMeasurement;
  readonly baseline?: InstructionMeasurement;
}

/** The normal report, in A/B mode (`--compare`) the comparison, or the instruction counts. */
type BenchOutcome =
  | { readonly report: BenchReport }
  | { readonly comparison: ScenarioComparison[] }
  | { readonly instructions: InstructionRow[] };

async function bench(options: BenchOptions, log: (line: string) => void): Promise<BenchOutcome> {
  const placement = planCpus();
  pinSelf(placement.loadgen);
  const tool = options.tool ?? pickLoadTool();
  if (options.instructions) {
    const missing = instructionsUnavailable();
    if (missing !== undefined) throw new Error(missing);
  }
  if (options.build) {
    log('building dist/ (tsc -p tsconfig.build.json)');
    execFileSync(join(REPO, 'node_modules/.bin/tsc'), ['-p', join(REPO, 'tsconfig.build.json')], {
      stdio: 'inherit',
    });
  }
  const work = await mkdtemp(join(tmpdir(), 'cg-bench-'));
  const keys = generateBenchKeys();
  const credential = randomBytes(24).toString('base64url');
  let fixture: ChildProcessWithoutNullStreams | undefined;
  let gateway: GatewayProcess | undefined;
  let baseline: GatewayProcess | undefined;
  let references: ReferenceRelays | undefined;
  // Set when a fault leaves evidence in the work directory worth reading.
  let keepWork = false;
  try {
    const started = await startFixture(JSON.stringify(jwksOf(keys)), credential, placement.loadgen);
    fixture = started.child;
    const issuer = `http://127.0.0.1:${started.ports.oidcPort}${REALM_PATH}`;
    const upstream = `http://127.0.0.1:${started.ports.upstreamPort}`;
    const shape = { issuer, audience: AUDIENCE, scope: `openid profile ${SCOPE}` };
    const files = {
      valid: join(work, 'valid.txt'),
      'never-seen': join(work, 'never-seen.txt'),
      invalid: join(work, 'invalid.txt'),
      'invalid-never-seen': join(work, 'invalid-never-seen.txt'),
    };
    log(
      `minting 1,000 valid, 1,000 bad-signature and ${options.neverSeenTokens} never-seen tokens (plus as many forged ones)`,
    );
    await mintTokens(files.valid, keys.signing, keys.signing.kid, shape, 1000);
    await mintTokens(files.invalid, keys.rogue, keys.signing.kid, shape, 1000);
    if (options.only.includes('never-seen')) {
      await mintTokens(files['never-seen'], keys.signing, keys.signing.kid, shape, options.neverSeenTokens);
    }
    if (options.only.includes('invalid-never-seen')) {
      await forgeTokens(files['invalid-never-seen'], keys.signing.kid, shape, options.neverSeenTokens);
    }
    // Under valgrind: slower to start, and node names its compiled code for callgrind.
    const counted = options.instructions
      ? {
          wrap: callgrindWrap(work),
          readyTimeoutMs: 180_000,
          stopTimeoutMs: 120_000,
          flags: INSTRUCTION_NODE_FLAGS,
        }
      : { wrap: undefined, readyTimeoutMs: undefined, stopTimeoutMs: undefined, flags: [] };
    if (options.instructions) log('starting the gateway under valgrind (callgrind): about a minute');
    const joseVerifiesPerSecond = options.instructions
      ? undefined
      : (log('measuring one jose verification on the gateway core'), joseCeiling(placement.gateway));
    gateway = await startGatewayProcess({
      wrap: counted.wrap,
      readyTimeoutMs: counted.readyTimeoutMs,
      stopTimeoutMs: counted.stopTimeoutMs,
      repo: REPO,
      dist: options.dist === undefined ? undefined : resolve(options.dist),
      workDir: work,
      policy: benchPolicy({ issuer, audience: AUDIENCE, scope: SCOPE, upstreamUrl: upstream }),
      credential,
      port: await freePort(),
      cpu: placement.gateway,
      logReaderCpu: placement.loadgen,
      nodeFlags: [
        ...GATEWAY_NODE_FLAGS,
        ...options.nodeFlags,
        ...counted.flags,
        ...(options.cpuProfDir === undefined
          ? []
          : ['--cpu-prof', `--cpu-prof-dir=${resolve(options.cpuProfDir)}`]),
      ],
      logLevel: options.logLevel,
    });
    if (options.compare !== undefined) {
      baseline = await startGatewayProcess({
        wrap: counted.wrap,
        readyTimeoutMs: counted.readyTimeoutMs,
        stopTimeoutMs: counted.stopTimeoutMs,
        repo: REPO,
        dist: resolve(options.compare),
        workDir: join(work, 'baseline'),
        policy: benchPolicy({ issuer, audience: AUDIENCE, scope: SCOPE, upstreamUrl: upstream }),
        credential,
        port: await freePort(),
        cpu: placement.gateway,
        logReaderCpu: placement.loadgen,
        nodeFlags: [
          ...(options.baselineNodeFlags ?? [...GATEWAY_NODE_FLAGS, ...options.nodeFlags]),
          ...counted.flags,
        ],
        logLevel: options.baselineLogLevel ?? options.logLevel,
      });
    }
    const token = readFileSync(files.valid, 'utf8').split('\n', 1)[0] ?? '';
    const invalid = readFileSync(files.invalid, 'utf8').split('\n', 1)[0] ?? '';
    await checkBeforeTiming({ gateway: gateway.url, upstream, token, invalid });
    if (baseline !== undefined) await checkBeforeTiming({ gateway: baseline.url, upstream, token, invalid });
    const ctx = {
      tool,
      baseUrl: { upstream, gateway: gateway.url },
      tokenFiles: files,
      gatewayPid: gateway.pid,
      connections: options.connections,
      warmupSeconds: options.warmupSeconds,
      durationSeconds: options.durationSeconds,
      cpu: placement.loadgen,
    };
    if (options.instructions) {
      const processes: CountedProcess[] = [
        {
          pid: gateway.pid,
          ctx,
          dist: options.dist === undefined ? join(REPO, 'dist') : resolve(options.dist),
        },
      ];
      if (baseline !== undefined && options.compare !== undefined) {
        const ctxOf = { ...ctx, baseUrl: { upstream, gateway: baseline.url }, gatewayPid: baseline.pid };
        processes.push({ pid: baseline.pid, ctx: ctxOf, dist: resolve(options.compare) });
      }
      const scenarios = LOAD_SCENARIOS.filter((s) => options.only.includes(s.id));
      // Every path compiled and optimised before anything is counted.
      for (const scenario of scenarios) {
        log(`warm-up: ${scenario.title}, ${options.warmupRequests} requests`);
        await warmUp(scenario, processes, options.warmupRequests);
      }
      const pending: PendingCount[] = [];
      for (const scenario of scenarios) {
        log(`instructions: ${scenario.title} (${options.durationSeconds} s counted)`);
        await warmUp(scenario, processes, Math.ceil(options.warmupRequests / 4));
        pending.push(...(await countInstructions(scenario, processes, work)));
      }
      // V8 writes the rest of its perf map (the names of the code optimised last) as it exits.
      await baseline?.stop();
      await gateway.stop();
      const counts = await readCounts(pending);
      const rows: InstructionRow[] = scenarios.map((scenario) => {
        const [candidate, base] = counts.filter((c) => c.scenario === scenario.id);
        if (candidate === undefined) throw new Error(`${scenario.id}: nothing was counted`);
        log(
          `${scenario.id}: ${Math.round(candidate.instructionsPerRequest)} instructions/request${base === undefined ? '' : `, baseline ${Math.round(base.instructionsPerRequest)}`}`,
        );
        return base === undefined ? { candidate } : { candidate, baseline: base };
      });
      return { instructions: rows };
    }
    if (baseline !== undefined) {
      const other = baseline;
      const scenarios = LOAD_SCENARIOS.filter((s) => options.only.includes(s.id) && s.target === 'gateway');
      const baselineCtx = { ...ctx, baseUrl: { upstream, gateway: other.url }, gatewayPid: other.pid };
      if (options.together) {
        // Half the connections each (the baseline gets the odd one), one load generator per build,
        // both on the load generator's core and started together.
        const half = Math.max(1, Math.floor(options.connections / 2));
        const comparison = await compareBuildsTogether(
          scenarios,
          options.rounds,
          (scenario) =>
            Promise.all([
              runLoadScenario(scenario, {
                ...baselineCtx,
                connections: Math.max(1, options.connections - half),
              }),
              runLoadScenario(scenario, { ...ctx, connections: half }),
            ]),
          log,
        );
        return { comparison };
      }
      const comparison = await compareBuilds(
        scenarios,
        options.rounds,
        (scenario, build) => runLoadScenario(scenario, build === 'candidate' ? ctx : baselineCtx),
        log,
      );
      return { comparison };
    }
    const load: LoadMeasurement[] = [];
    for (const scenario of LOAD_SCENARIOS.filter((s) => options.only.includes(s.id))) {
      log(`load: ${scenario.title}`);
      const m = await runLoadScenario(scenario, ctx);
      log(`  ${m.load.rps.toFixed(0)} req/s, p99 ${m.load.p99Ms.toFixed(2)} ms`);
      load.push(m);
    }
    let streaming: StreamMeasurement[] = [];
    let streamingFailure: string | undefined;
    let referencesSkipped: ReferenceRelays['skipped'] = [];
    if (options.streaming) {
      // Started only now, so the load scenarios had the gateway's core to themselves.
      references = options.streamReferences
        ? await startReferenceRelays({
            upstream,
            credential,
            workDir: join(work, 'references'),
            cpu: placement.gateway,
            nodeFlags: GATEWAY_NODE_FLAGS,
          })
        : undefined;
      referencesSkipped = references?.skipped ?? [];
      const names = references?.relays.map((r) => r.id) ?? [];
      log(
        `streaming: ${options.streamBytes / 1024 / 1024} MiB up and down, direct and through the gateway` +
          (names.length === 0 ? '' : ` (then ${names.join(', ')})`),
      );
      try {
        streaming = await runStreaming(
          {
            baseUrl: ctx.baseUrl,
            token,
            gatewayPid: gateway.pid,
            bytes: options.streamBytes,
            references: references?.relays ?? [],
            log,
          },
          options.streamRounds,
        );
      } catch (error) {
        if (!(error instanceof StreamingError)) throw error;
        // The load scenarios' results stand on their own: report them, and keep the work
        // directory, whose logs (the gateway's, nginx's) may say why the transfer failed.
        streamingFailure = error.message;
        keepWork = true;
        log(`streaming failed: ${error.message}`);
      }
    }
    const report: BenchReport = {
      machine: {
        date: new Date().toISOString(),
        cpuModel: cpuModel(),
        cores: cpus().length,
        node: process.versions.node,
        loadTool: tool,
        pinning: placement.note,
        connections: options.connections,
        durationSeconds: options.durationSeconds,
        warmupSeconds: options.warmupSeconds,
      },
      load,
      skipped: SKIPPED_SCENARIOS,
      streaming,
      ...(streamingFailure === undefined ? {} : { streamingFailure }),
      referencesSkipped,
      joseVerifiesPerSecond,
      targets: evaluateTargets(load, streaming, joseVerifiesPerSecond),
    };
    return { report };
  } finally {
    await references?.stop();
    await baseline?.stop();
    await gateway?.stop();
    fixture?.stdin.end();
    // BENCH_KEEP_WORK=1 keeps the policies, tokens and the gateway's log (e.g. --trace-gc output).
    if (process.env['BENCH_KEEP_WORK'] === '1' || keepWork) log(`work directory kept: ${work}`);
    else await rm(work, { recursive: true, force: true });
  }
}

async function main(): Promise<number> {
  let options: BenchOptions | 'help';
  try {
    options = parseBenchOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = (line: string): void => void process.stderr.write(`[bench] ${line}\n`);
  const outcome = await bench(options, log);
  if ('instructions' in outcome) {
    const levels = options.baselineLogLevel !== undefined && options.baselineLogLevel !== options.logLevel;
    const labels = {
      candidate: levels ? `this (${options.logLevel})` : 'this build',
      baseline: `baseline${levels ? ` (${options.baselineLogLevel})` : ''}`,
    };
    const json = outcome.instructions.map((row) => ({
      ...row,
      candidate: { ...row.candidate, selfPerRequest: Object.fromEntries(row.candidate.selfPerRequest) },
      baseline: row.baseline && {
        ...row.baseline,
        selfPerRequest: Object.fromEntries(row.baseline.selfPerRequest),
      },
    }));
    process.stdout.write(
      options.json
        ? `${JSON.stringify({ instructions: json }, null, 2)}\n`
        : `\n${formatInstructions(outcome.instructions, labels)}\n`,
    );
    return 0;
  }
  if ('comparison' in outcome) {
    // A baseline on another log level says so in its column, and so does this build's.
    const levels = options.baselineLogLevel !== undefined && options.baselineLogLevel !== options.logLevel;
    const text = formatComparison(
      outcome.comparison,
      `baseline (${options.compare ?? ''}${levels ? `, log ${options.baselineLogLevel}` : ''})`,
      levels ? `this build (log ${options.logLevel})` : 'this build',
    );
    process.stdout.write(options.json ? `${JSON.stringify(outcome, null, 2)}\n` : `\n${text}\n`);
    return 0;
  }
  const { report } = outcome;
  process.stdout.write(options.json ? `${JSON.stringify(report, null, 2)}\n` : `\n${formatReport(report)}\n`);
  return report.streamingFailure === undefined ? 0 : 1;
}

process.exitCode = await main();
