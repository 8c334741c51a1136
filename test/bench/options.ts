/** Command-line options of `npm run bench` (`node test/bench/run.ts`). */
import { parseArgs } from 'node:util';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { DEFAULT_STREAM_ROUNDS, LOAD_SCENARIOS } from './scenarios.ts';

export interface BenchOptions {
  readonly json: boolean;
  /** Seconds timed per load scenario. */
  readonly durationSeconds: number;
  /** Seconds of load thrown away before each timed window. */
  readonly warmupSeconds: number;
  readonly connections: number;
  /** Stream through the reference relays too (reference-relays.ts). */
  readonly streamReferences: boolean;
  /** Size of each streaming transfer, bytes. */
  readonly streamBytes: number;
  /** Streaming rounds per direction (each: direct, the gateway, every reference relay). */
  readonly streamRounds: number;
  /** Load scenario ids to run; all by default. */
  readonly only: readonly string[];
  readonly streaming: boolean;
  readonly build: boolean;
  /** A built gateway to run instead of this repo's dist/ (implies no build); for A/B runs. */
  readonly dist: string | undefined;
  /** A baseline build to compare against, side by side in the same run (A/B mode). */
  readonly compare: string | undefined;
  /** Rounds per scenario and build in A/B mode. */
  readonly rounds: number;
  /**
   * A/B mode: load both builds at the same time (half the connections each) instead of one after
   * the other, so the machine's swings fall on both within each round.
   */
  readonly together: boolean;
  readonly logLevel: string;
  /** Tokens cycled by the never-seen scenario: more than the verified-token cache holds. */
  readonly neverSeenTokens: number;
  /** Directory for the gateway's `--cpu-prof` output; undefined = no profile. */
  readonly cpuProfDir: string | undefined;
  /** Load generator; default wrk when installed, else autocannon. */
  readonly tool: 'wrk' | 'autocannon' | undefined;
  /** Extra node flags for the gateway process (e.g. `--max-semi-space-size=2`). */
  readonly nodeFlags: readonly string[];
  /**
   * Node flags of the baseline process in A/B mode, replacing the shipped ones
   * (GATEWAY_NODE_FLAGS) and --node-flags; undefined = the same as the gateway's.
   */
  readonly baselineNodeFlags: readonly string[] | undefined;
  /** The baseline's log level in A/B mode; undefined = the same as the gateway's (--log-level). */
  readonly baselineLogLevel: string | undefined;
  /** Count instructions per request under valgrind's callgrind instead of timing (instructions.ts). */
  readonly instructions: boolean;
  /** With `instructions`: requests of warm-up per scenario before counting. */
  readonly warmupRequests: number;
}

/** Scenarios `--instructions` runs unless --only says otherwise: the ones on the hot path. */
export const INSTRUCTION_SCENARIOS: readonly string[] = ['anonymous', 's1-one-token', 's2-1000-tokens'];

export const USAGE = `Usage: npm run bench -- [options]

Starts a JWKS/IdP fixture and an upstream (core 0), the gateway built from this repo (core 1),
drives load with wrk (or autocannon) and prints req/s, p50/p99/p99.9, gateway CPU and peak RSS
per scenario with the ratio to direct, the 100 MB streaming results and the issue's targets.

  --json                 machine-readable output on stdout (progress goes to stderr)
  --duration N           seconds timed per scenario (default 8)
  --warmup N             seconds of discarded load before each (default 2)
  --connections N        concurrent connections (default 50)
  --stream-mb N          MiB per streaming transfer (default 100); --no-streaming skips them
  --stream-rounds N      streaming rounds each way (default ${DEFAULT_STREAM_ROUNDS}); each is one transfer direct,
                         then one through the gateway and each relay, taking turns at going
                         right after direct; the medians and each round's ratio are reported
  --no-stream-references stream through the gateway only: by default every round also streams
                         through reference relays on the gateway's core (the stack floor, a bare
                         Node TCP pipe, and nginx with a 16 KiB and a 1 MiB body buffer when
                         nginx is installed), so one run tells the gateway's share from the stack's
  --only a,b             load scenarios to run: ${LOAD_SCENARIOS.map((s) => s.id).join(', ')}
  --never-seen-tokens N  tokens cycled by never-seen (default 12000; must exceed the cache size)
  --log-level L          gateway log level (default info: one line per request, as deployed)
  --cpu-prof DIR         run the gateway with node --cpu-prof, profiles into DIR
  --node-flags="F ..."   node flags for the gateway process, after the ones it ships with
                         (${GATEWAY_NODE_FLAGS.join(' ')}: src/cli/node-flags.ts)
  --tool wrk|autocannon  load generator (default: wrk when installed, else autocannon)
  --no-build             use dist/ as it is instead of running the build first
  --dist DIR             run the gateway built in DIR (no build), e.g. a copy of an earlier
                         dist/ kept inside the repo (.cache/dist-base) so it finds node_modules:
                         for A/B comparisons run one after the other
  --compare DIR          A/B mode: run the build in DIR (the baseline, e.g. .cache/dist-base)
                         beside this one on the gateway core, every load scenario on both in
                         alternating order for --rounds rounds; prints medians and ranges of
                         CPU us/request and req/s, and whether the ranges overlap (no streaming)
  --rounds N             rounds per scenario and build with --compare (default 3)
  --together             with --compare: load both builds at the same time, half the
                         connections each, instead of one after the other. The machine's swings
                         then fall on both within a round; read the per-round ratio column
                         (resolution ~3 %: two instances of one build differ by up to 2 %)
  --baseline-node-flags="F ..."
                         with --compare: the baseline's node flags instead of the shipped ones
                         and --node-flags ("" = none). --compare dist --baseline-node-flags=""
                         measures the shipped flags against Node's defaults on one build
  --baseline-log-level L with --compare: the baseline's log level instead of --log-level's.
                         --compare dist --together --baseline-log-level warn measures what the
                         line per request costs on one build
  --instructions         count the instructions the gateway executes per request under
                         valgrind's callgrind instead of timing it, and list the functions that
                         execute them; with --compare, both builds at once and the functions
                         that differ most. Unaffected by the machine's load, blind to cache
                         misses and the kernel. Defaults here: --only ${INSTRUCTION_SCENARIOS.join(',')},
                         --connections 4, --duration 20 (valgrind runs ~50x slower)
  --warmup-requests N    with --instructions: requests of each scenario before any is counted
                         (so V8 has optimised every path), and a quarter as many again
                         before each count (default 8000)
`;

function positive(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${text}`);
  return n;
}

function words(text: string | undefined): string[] {
  return (text ?? '').split(' ').filter(Boolean);
}

/** Parses argv; throws with a message naming the option when a value is wrong. */
export function parseBenchOptions(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      json: { type: 'boolean', default: false },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      'stream-mb': { type: 'string' },
      'stream-rounds': { type: 'string' },
      'no-streaming': { type: 'boolean', default: false },
      'no-stream-references': { type: 'boolean', default: false },
      only: { type: 'string' },
      'never-seen-tokens': { type: 'string' },
      'log-level': { type: 'string', default: 'info' },
      'cpu-prof': { type: 'string' },
      'node-flags': { type: 'string' },
      'baseline-node-flags': { type: 'string' },
      'baseline-log-level': { type: 'string' },
      tool: { type: 'string' },
      'no-build': { type: 'boolean', default: false },
      dist: { type: 'string' },
      compare: { type: 'string' },
      rounds: { type: 'string' },
      together: { type: 'boolean', default: false },
      instructions: { type: 'boolean', default: false },
      'warmup-requests': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const known = new Set(LOAD_SCENARIOS.map((s) => s.id));
  const counting = values.instructions;
  const only =
    values.only === undefined
      ? counting
        ? [...INSTRUCTION_SCENARIOS]
        : [...known]
      : values.only.split(',').map((s) => s.trim());
  for (const id of only) if (!known.has(id)) throw new Error(`--only: unknown scenario ${id}`);
  if (values.together && values.compare === undefined) {
    throw new Error('--together only applies with --compare DIR (it loads both builds at once)');
  }
  if (values['baseline-node-flags'] !== undefined && values.compare === undefined) {
    throw new Error('--baseline-node-flags only applies with --compare DIR (the baseline it sets)');
  }
  if (values['baseline-log-level'] !== undefined && values.compare === undefined) {
    throw new Error('--baseline-log-level only applies with --compare DIR (the baseline it sets)');
  }
  if (counting && values['cpu-prof'] !== undefined) {
    throw new Error('--cpu-prof and --instructions cannot be combined (one profiler at a time)');
  }
  if (!counting && values['warmup-requests'] !== undefined) {
    throw new Error('--warmup-requests only applies with --instructions (--warmup sets seconds otherwise)');
  }
  if (counting && values.warmup !== undefined) {
    throw new Error('--instructions warms up by requests: use --warmup-requests N instead of --warmup');
  }
  if (counting && only.includes('direct')) {
    throw new Error('--instructions counts the gateway; the direct scenario has none to count');
  }
  const tool = values.tool;
  if (tool !== undefined && tool !== 'wrk' && tool !== 'autocannon') {
    throw new Error(`--tool must be wrk or autocannon, got ${tool}`);
  }
  return {
    json: values.json,
    durationSeconds: Math.max(1, Math.round(positive('duration', values.duration, counting ? 20 : 8))),
    warmupSeconds: Math.round(positive('warmup', values.warmup, 2)),
    connections: Math.max(1, Math.round(positive('connections', values.connections, counting ? 4 : 50))),
    streamBytes: Math.round(positive('stream-mb', values['stream-mb'], 100) * 1024 * 1024),
    streamRounds: Math.max(
      1,
      Math.round(positive('stream-rounds', values['stream-rounds'], DEFAULT_STREAM_ROUNDS)),
    ),
    only,
    streaming: !values['no-streaming'],
    streamReferences: !values['no-stream-references'],
    build: !values['no-build'] && values.dist === undefined,
    dist: values.dist,
    compare: values.compare,
    rounds: Math.max(1, Math.round(positive('rounds', values.rounds, 3))),
    together: values.together,
    logLevel: values['log-level'],
    neverSeenTokens: Math.max(
      1,
      Math.round(positive('never-seen-tokens', values['never-seen-tokens'], 12_000)),
    ),
    cpuProfDir: values['cpu-prof'],
    nodeFlags: words(values['node-flags']),
    baselineNodeFlags:
      values['baseline-node-flags'] === undefined ? undefined : words(values['baseline-node-flags']),
    baselineLogLevel: values['baseline-log-level'],
    instructions: counting,
    warmupRequests: Math.round(positive('warmup-requests', values['warmup-requests'], 8000)),
    tool,
  };
}
