/**
 * What one `npm run bench` measures. Load scenarios run the load generator for a warm-up (thrown
 * away) and then the timed window, while the gateway's RSS and CPU are sampled; streaming
 * scenarios move one large body each way, through the gateway and direct.
 */
import { runLoad, type LoadResult, type LoadSpec, type LoadTool } from './load.ts';
import { sampleUsage, type Usage } from './proc-stats.ts';
import type { ReferenceRelay, ReferenceRelayId } from './reference-relays.ts';
import { transfer, type TransferResult } from './streaming.ts';

export interface LoadScenario {
  readonly id: string;
  readonly title: string;
  /** `upstream` is the direct run; `gateway` goes through the gateway. */
  readonly target: 'upstream' | 'gateway';
  readonly path: string;
  readonly tokens: 'none' | 'valid' | 'never-seen' | 'invalid' | 'invalid-never-seen';
  /** First N tokens of the file (0 = all). */
  readonly tokenLimit: number;
  /** Status every response must have: 2xx unless a refusal is the point. */
  readonly expect: 'ok' | 'refused';
}

/**
 * The scenarios, in run order. `never-seen` cycles through more tokens than the gateway's
 * verified-token cache holds (10,000 by default), so with LRU eviction every request is a miss;
 * `invalid-never-seen` does the same with bad signatures against the refused-token cache.
 */
export const LOAD_SCENARIOS: readonly LoadScenario[] = [
  {
    id: 'direct',
    title: 'direct (wrk -> upstream)',
    target: 'upstream',
    path: '/api/v1/echo',
    tokens: 'valid',
    tokenLimit: 1,
    expect: 'ok',
  },
  // The same request as S1 on a route that checks no token: the gateway's forwarding cost alone.
  {
    id: 'anonymous',
    title: 'gateway, anonymous route (token sent, not checked)',
    target: 'gateway',
    path: '/anon/v1/echo',
    tokens: 'valid',
    tokenLimit: 1,
    expect: 'ok',
  },
  {
    id: 's1-one-token',
    title: 'gateway, one token reused (S1)',
    target: 'gateway',
    path: '/api/v1/echo',
    tokens: 'valid',
    tokenLimit: 1,
    expect: 'ok',
  },
  {
    id: 's2-1000-tokens',
    title: 'gateway, 1,000 tokens round-robin (S2)',
    target: 'gateway',
    path: '/api/v1/echo',
    tokens: 'valid',
    tokenLimit: 1000,
    expect: 'ok',
  },
  {
    id: 'never-seen',
    title: 'gateway, every token new to the cache',
    target: 'gateway',
    path: '/api/v1/echo',
    tokens: 'never-seen',
    tokenLimit: 0,
    expect: 'ok',
  },
  {
    id: 'invalid-flood',
    title: 'gateway, 1,000 bad-signature tokens (401)',
    target: 'gateway',
    path: '/api/v1/echo',
    tokens: 'invalid',
    tokenLimit: 1000,
    expect: 'refused',
  },
  // Unique garbage: more bad-signature tokens than the refused-token cache holds (10,000), so
  // every request pays a full RSA verification. Compare with `never-seen`.
  {
    id: 'invalid-never-seen',
    title: 'gateway, every bad-signature token new to the cache (401)',
    target: 'gateway',
    path: '/api/v1/echo',
    tokens: 'invalid-never-seen',
    tokenLimit: 0,
    expect: 'refused',
  },
];

/** Scenarios the issue names that this build cannot run yet, with the reason shown in the report. */
export const SKIPPED_SCENARIOS: readonly { readonly id: string; readonly reason: string }[] = [
  { id: 'rate-limit', reason: 'the gateway has no rate limiter yet (no issue asks for one)' },
];

export interface LoadMeasurement {
  readonly scenario: LoadScenario;
  readonly load: LoadResult;
  /** Gateway usage over the timed window; undefined for `direct`. */
  readonly usage: Usage | undefined;
  /** Gateway CPU microseconds per request. */
  readonly cpuUsPerRequest: number | undefined;
}

export interface LoadRunContext {
  readonly tool: LoadTool;
  readonly baseUrl: { readonly upstream: string; readonly gateway: string };
  readonly tokenFiles: {
    readonly valid: string;
    readonly 'never-seen': string;
    readonly invalid: string;
    readonly 'invalid-never-seen': string;
  };
  readonly gatewayPid: number;
  readonly connections: number;
  readonly warmupSeconds: number;
  readonly durationSeconds: number;
  readonly cpu: string | undefined;
}

/** What the load generator sends for scenario `s` (everything but the duration). */
export function loadSpecOf(s: LoadScenario, ctx: LoadRunContext): Omit<LoadSpec, 'durationSeconds'> {
  return {
    url: `${ctx.baseUrl[s.target]}${s.path}`,
    method: 'GET',
    tokensFile: s.tokens === 'none' ? undefined : ctx.tokenFiles[s.tokens],
    tokenLimit: s.tokenLimit,
    connections: ctx.connections,
    cpu: ctx.cpu,
  };
}

/** Throws when a timed load got answers the scenario does not expect, or socket errors. */
export function checkAnswers(s: LoadScenario, load: LoadResult): void {
  const failed = s.expect === 'ok' ? load.non2xx : load.requests - load.non2xx;
  if (failed > 0 || load.socketErrors > 0) {
    throw new Error(
      `${s.id}: ${failed} responses not ${s.expect === 'ok' ? '2xx' : 'refused'}, ${load.socketErrors} socket errors`,
    );
  }
}

export async function runLoadScenario(s: LoadScenario, ctx: LoadRunContext): Promise<LoadMeasurement> {
  const spec = loadSpecOf(s, ctx);
  if (ctx.warmupSeconds > 0) await runLoad(ctx.tool, { ...spec, durationSeconds: ctx.warmupSeconds });
  const sampler = s.target === 'gateway' ? sampleUsage(ctx.gatewayPid) : undefined;
  const load = await runLoad(ctx.tool, { ...spec, durationSeconds: ctx.durationSeconds });
  const usage = sampler?.stop();
  checkAnswers(s, load);
  const cpuUsPerRequest =
    usage?.cpuSeconds === undefined || load.requests === 0
      ? undefined
      : (usage.cpuSeconds * 1e6) / load.requests;
  return { scenario: s, load, usage, cpuUsPerRequest };
}

/** One reference relay's transfers in the same rounds as the gateway's (reference-relays.ts). */
export interface ReferenceStream {
  readonly id: ReferenceRelayId;
  readonly title: string;
  /** The median transfer. */
  readonly median: TransferResult;
  /** The relay's MB/s over the same round's direct MB/s, for each round. */
  readonly roundRatios: readonly number[];
}

export interface StreamMeasurement {
  readonly direction: 'upload' | 'download';
  readonly direct: TransferResult;
  readonly gateway: TransferResult;
  /** Gateway MB/s over direct MB/s for each round (one direct and one gateway transfer). */
  readonly roundRatios: readonly number[];
  /** Gateway RSS growth during the gateway transfer, bytes. */
  readonly rssGrowth: number | undefined;
  readonly peakRss: number | undefined;
  /** The reference relays, in the order of `StreamRunContext.references`; empty when none ran. */
  readonly references: readonly ReferenceStream[];
  /** Reference relays left out of this direction after a failed transfer, with the error. */
  readonly referencesFailed?: readonly { readonly id: ReferenceRelayId; readonly reason: string }[];
}

export interface StreamRunContext {
  readonly baseUrl: { readonly upstream: string; readonly gateway: string };
  readonly token: string;
  readonly gatewayPid: number;
  readonly bytes: number;
  /** Relays streamed in every round beside the gateway, taking turns with it after direct (default none). */
  readonly references?: readonly ReferenceRelay[];
  /** Progress: one line per round (default: none). */
  readonly log?: (line: string) => void;
}

const mbps = (run: TransferResult | undefined): number => Math.round(run?.mbPerSecond ?? 0);

/** A streaming transfer failed; the message names the direction, the round and the path. */
export class StreamingError extends Error {
  override readonly name = 'StreamingError';
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' && !error.message.includes(code)
    ? `${error.message} (${code})`
    : error.message;
}

/**
 * Streaming rounds per direction by default: an odd number, so the median is one round's, and
 * enough that one disturbed round among them moves it little.
 */
export const DEFAULT_STREAM_ROUNDS = 11;

/** `items` rotated left by `by` places: round i of the streaming order. */
function rotated<T>(items: readonly T[], by: number): T[] {
  if (items.length === 0) return [];
  const k = by % items.length;
  return [...items.slice(k), ...items.slice(0, k)];
}

/** The run with the median throughput of `runs`. */
function median(runs: readonly TransferResult[]): TransferResult {
  const sorted = [...runs].sort((a, b) => a.mbPerSecond - b.mbPerSecond);
  const middle = sorted[Math.floor(sorted.length / 2)];
  if (middle === undefined) throw new Error('no transfer ran');
  return middle;
}

/**
 * Each way: two full-size warm-up transfers on each path, then `repeat` rounds of one transfer
 * direct, then one through the gateway and one through each reference relay. Direct opens every
 * round; the others take turns at going right after it (round i starts i places further down
 * the list), so no relay always gets the place next to the baseline. The median of each path is
 * kept, with each round's ratio to that round's direct transfer beside it (streaming is the
 * noisiest measurement here: one 100 MB transfer lasts a tenth of a second), and the gateway's
 * RSS growth is the largest seen during any of its transfers (RSS before the transfer to its
 * peak during it).
 */
export async function runStreaming(
  ctx: StreamRunContext,
  repeat = DEFAULT_STREAM_ROUNDS,
): Promise<StreamMeasurement[]> {
  const out: StreamMeasurement[] = [];
  for (const direction of ['upload', 'download'] as const) {
    const path = `/api/v1/${direction}`;
    const spec = (base: string, bytes: number) => ({
      url: `${base}${path}`,
      direction,
      bytes,
      token: ctx.token,
    });
    // Every path gets the same warm-up, two full-size transfers each: with one of 8 MiB the
    // first measured rounds of both paths ran at about half the speed of the last ones.
    const references = ctx.references ?? [];
    // A failed transfer (a socket error, a short body, a status other than 200) names its path
    // and round, so a reset says where it happened.
    const run = async (base: string, path: string, round: string): Promise<TransferResult> => {
      let result: TransferResult;
      try {
        result = await transfer(spec(base, ctx.bytes));
      } catch (error) {
        throw new StreamingError(`${direction} ${round}, ${path}: ${describe(error)}`, { cause: error });
      }
      if (result.status !== 200) {
        throw new StreamingError(`${direction} ${round}, ${path}: status ${result.status}`);
      }
      return result;
    };
    // A reference relay whose transfer fails is left out of the rest of this direction, with the
    // reason; the gateway and direct still decide the run. A bench run was lost to a download
    // reset mid-body in the Node pipe relay (a reference, not the gateway).
    const failed = new Map<number, string>();
    const viaRelay = async (r: number, round: string): Promise<TransferResult | undefined> => {
      const relay = references[r];
      if (relay === undefined || failed.has(r)) return undefined;
      try {
        return await run(relay.url, relay.id, round);
      } catch (error) {
        if (!(error instanceof StreamingError)) throw error;
        failed.set(r, error.message);
        ctx.log?.(`  reference relay ${relay.id} left out of the ${direction}: ${error.message}`);
        return undefined;
      }
    };
    for (let i = 0; i < 2; i++) {
      const round = `warm-up ${i + 1}`;
      await run(ctx.baseUrl.upstream, 'direct', round);
      await run(ctx.baseUrl.gateway, 'gateway', round);
      for (const r of references.keys()) await viaRelay(r, round);
    }
    const direct: TransferResult[] = [];
    const gateway: TransferResult[] = [];
    const relayed: TransferResult[][] = references.map(() => []);
    let rssGrowth: number | undefined;
    let peakRss: number | undefined;
    // -1 is the gateway, r >= 0 the reference relay r.
    const paths = [-1, ...references.keys()];
    for (let i = 0; i < repeat; i++) {
      const round = `round ${i + 1}`;
      direct.push(await run(ctx.baseUrl.upstream, 'direct', round));
      const line = [`direct ${mbps(direct.at(-1))} MB/s`];
      for (const path of rotated(paths, i)) {
        if (path === -1) {
          const sampler = sampleUsage(ctx.gatewayPid, 20);
          let usage: Usage;
          try {
            gateway.push(await run(ctx.baseUrl.gateway, 'gateway', round));
          } finally {
            // Stopped on a failure too: its timer would keep the bench from exiting.
            usage = sampler.stop();
          }
          line.push(`gateway ${mbps(gateway.at(-1))} MB/s`);
          if (usage.peakRss !== undefined && usage.startRss !== undefined) {
            rssGrowth = Math.max(rssGrowth ?? 0, usage.peakRss - usage.startRss);
            peakRss = Math.max(peakRss ?? 0, usage.peakRss);
          }
          continue;
        }
        const result = await viaRelay(path, round);
        if (result === undefined) continue;
        relayed[path]?.push(result);
        line.push(`${references[path]?.id ?? ''} ${mbps(result)} MB/s`);
      }
      ctx.log?.(`  ${direction} round ${i + 1}: ${line.join(', ')}`);
    }
    const ratiosOf = (runs: readonly TransferResult[]): number[] =>
      runs.map((run, i) => run.mbPerSecond / (direct[i]?.mbPerSecond ?? Number.NaN));
    out.push({
      direction,
      direct: median(direct),
      gateway: median(gateway),
      roundRatios: ratiosOf(gateway),
      rssGrowth,
      peakRss,
      references: references.flatMap((relay, r) => {
        const runs = relayed[r] ?? [];
        if (failed.has(r)) return [];
        return [{ id: relay.id, title: relay.title, median: median(runs), roundRatios: ratiosOf(runs) }];
      }),
      referencesFailed: references.flatMap((relay, r) => {
        const reason = failed.get(r);
        return reason === undefined ? [] : [{ id: relay.id, reason }];
      }),
    });
  }
  return out;
}
