/**
 * The load generator: `wrk` (Debian package; C, one thread on the harness core) when it is on the
 * PATH, else autocannon (npm devDependency, in a child process pinned the same way). Both send
 * `Authorization: Bearer <token>` round-robin over a token file and report req/s and latency
 * percentiles.
 */
import { execFile, execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pinned } from './pinning.ts';

export type LoadTool = 'wrk' | 'autocannon';

export interface LoadSpec {
  readonly url: string;
  readonly method: string;
  /** One token per line; undefined sends no Authorization header. */
  readonly tokensFile: string | undefined;
  /** Use only the first N tokens (0 = all). */
  readonly tokenLimit: number;
  readonly connections: number;
  readonly durationSeconds: number;
  readonly cpu: string | undefined;
}

export interface LoadResult {
  readonly tool: LoadTool;
  readonly requests: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  /** Responses outside 2xx/3xx. */
  readonly non2xx: number;
  /** Connect, read, write errors and timeouts. */
  readonly socketErrors: number;
}

/** wrk when installed, else autocannon. */
export function pickLoadTool(): LoadTool {
  try {
    execFileSync('wrk', ['-v'], { stdio: 'ignore' });
    return 'wrk';
  } catch (error) {
    // `wrk -v` prints its version and exits 1: installed. ENOENT: not installed.
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'autocannon' : 'wrk';
  }
}

function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

interface WrkJson {
  requests: number;
  duration_us: number;
  err_connect: number;
  err_read: number;
  err_write: number;
  err_status: number;
  err_timeout: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
}

async function runWrk(spec: LoadSpec): Promise<LoadResult> {
  const script = join(import.meta.dirname, 'tokens.lua');
  const [command, args] = pinned(spec.cpu, 'wrk', [
    '-t1',
    `-c${spec.connections}`,
    `-d${spec.durationSeconds}s`,
    '--timeout',
    '10s',
    '-s',
    script,
    spec.url,
    '--',
    spec.method,
    spec.tokensFile ?? '-',
    String(spec.tokenLimit),
  ]);
  const out = await run(command, args);
  const line = out.split('\n').find((l) => l.startsWith('WRKJSON '));
  if (line === undefined) throw new Error(`wrk printed no result:\n${out}`);
  const r = JSON.parse(line.slice('WRKJSON '.length)) as WrkJson;
  return {
    tool: 'wrk',
    requests: r.requests,
    rps: r.requests / (r.duration_us / 1e6),
    p50Ms: r.p50_us / 1000,
    p99Ms: r.p99_us / 1000,
    p999Ms: r.p999_us / 1000,
    non2xx: r.err_status,
    socketErrors: r.err_connect + r.err_read + r.err_write + r.err_timeout,
  };
}

async function runAutocannon(spec: LoadSpec): Promise<LoadResult> {
  const node = process.execPath;
  const [command, args] = pinned(spec.cpu, node, [
    join(import.meta.dirname, 'autocannon-run.ts'),
    JSON.stringify(spec),
  ]);
  const out = await run(command, args);
  return JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as LoadResult;
}

/** Runs one timed load against `spec.url`. */
export function runLoad(tool: LoadTool, spec: LoadSpec): Promise<LoadResult> {
  return tool === 'wrk' ? runWrk(spec) : runAutocannon(spec);
}
