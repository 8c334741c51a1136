/**
 * The gateway under test as a separate process, exactly as deployed: the built CLI
 * (`dist/cli/main.js serve`) with settings from the environment and a bench policy on disk,
 * pinned to its own core when `taskset` is there. Its log (one line per request at `info`) goes
 * into a pipe, as a container runtime takes stdout (Kubernetes reads it through a FIFO), and a
 * `cat` on the load generator's core copies it into a file: so the bench measures the log path
 * that ships, not the cheaper one a regular file gets (logger.ts, `stdoutWriteMode`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CREDENTIAL_HEADER } from './fixture.ts';
import { pinned } from './pinning.ts';

export interface BenchPolicy {
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string;
  readonly upstreamUrl: string;
}

/**
 * Two routes: `/api/` does what every peer in bench-peers does (IP allow-list, RS256 token with
 * iss/aud/exp/scope, credential header added, Authorization dropped); `/anon/` forwards with no
 * token check, the gateway's plain forwarding cost.
 */
export function benchPolicy(p: BenchPolicy): string {
  return `routes:
  - id: bench-api
    match:
      pathPrefix: /api/
    ipFilter:
      action: allow
      addresses: [127.0.0.0/8]
    validateJwt:
      issuer: ${p.issuer}
      audiences: [${p.audience}]
      requiredScopes: [${p.scope}]
    upstream:
      url: ${p.upstreamUrl}
      credential:
        type: apiKey
        header: ${CREDENTIAL_HEADER}
        secret: env:BENCH_FUNCTIONS_KEY
    forwardClaims:
      sub: X-Auth-Subject
  - id: bench-anon
    match:
      pathPrefix: /anon/
    anonymous: true
    upstream:
      url: ${p.upstreamUrl}
`;
}

/** A port free on 127.0.0.1 right now (the gateway binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface GatewayProcess {
  readonly pid: number;
  readonly url: string;
  stop(): Promise<void>;
}

export interface GatewayStart {
  readonly repo: string;
  /** The built gateway's directory; default `<repo>/dist`. */
  readonly dist?: string;
  readonly workDir: string;
  readonly policy: string;
  readonly credential: string;
  readonly port: number;
  /** CPU list for taskset, or undefined to run unpinned. */
  readonly cpu: string | undefined;
  /** CPU list for the log's reader (`cat`), or undefined to run it unpinned. */
  readonly logReaderCpu: string | undefined;
  /** Extra node flags, e.g. `--cpu-prof`. */
  readonly nodeFlags: readonly string[];
  readonly logLevel: string;
  /** A command that runs node, e.g. valgrind's (`--instructions`); default none. */
  readonly wrap?: readonly string[];
  /** How long the gateway may take to answer /readyz; default 30 s (valgrind needs more). */
  readonly readyTimeoutMs?: number;
  /**
   * How long `stop` waits for the exit before SIGKILL; default 10 s. Under valgrind the exit
   * writes callgrind's last dump and V8's perf map, and a SIGKILL would lose the map's last names.
   */
  readonly stopTimeoutMs?: number;
}

async function waitReady(url: string, child: ChildProcess, log: string, timeoutMs: number): Promise<void> {
  for (let i = 0; i < timeoutMs / 100; i++) {
    if (child.exitCode !== null) throw new Error(`the gateway exited with ${child.exitCode}; see ${log}`);
    try {
      const res = await fetch(`${url}/readyz`);
      if (res.status === 200) return;
    } catch {
      // Not listening yet.
    }
    await sleep(100);
  }
  throw new Error(`the gateway was not ready within ${timeoutMs / 1000} s; see ${log}`);
}

/** SIGTERM, then SIGKILL if the child has not exited within `timeoutMs`. */
export async function stopChild(child: ChildProcess, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(timeoutMs)]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

export async function startGatewayProcess(start: GatewayStart): Promise<GatewayProcess> {
  const policies = join(start.workDir, 'policies');
  await mkdir(policies, { recursive: true });
  await writeFile(join(policies, 'bench.yaml'), start.policy);
  const log = join(start.workDir, 'gateway.log');
  const out = openSync(log, 'a');
  const [catCommand, catArgs] = pinned(start.logReaderCpu, 'cat', []);
  // cat's stdin is the pipe the gateway writes its stdout into; cat exits when the gateway does.
  const reader = spawn(catCommand, catArgs, { stdio: ['pipe', out, 'ignore'] });
  const pipe = reader.stdin;
  if (pipe === null) throw new Error('cat has no stdin pipe');
  const node = join(start.repo, 'node_modules/.bin/node');
  const [wrapper, ...wrapArgs] = start.wrap ?? [];
  const [command, args] = pinned(start.cpu, wrapper ?? node, [
    ...(wrapper === undefined ? [] : [...wrapArgs, node]),
    ...start.nodeFlags,
    join(start.dist ?? join(start.repo, 'dist'), 'cli/main.js'),
    'serve',
  ]);
  const child = spawn(command, args, {
    stdio: ['ignore', pipe, out],
    env: {
      ...process.env,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: String(start.port),
      GATEWAY_POLICIES_DIR: policies,
      GATEWAY_POLICY_WATCH: 'false',
      GATEWAY_LOG_LEVEL: start.logLevel,
      BENCH_FUNCTIONS_KEY: start.credential,
    },
  });
  closeSync(out);
  // Our end of the pipe: only the gateway may hold it open, or cat never sees the end.
  pipe.destroy();
  const url = `http://127.0.0.1:${start.port}`;
  await waitReady(url, child, log, start.readyTimeoutMs ?? 30_000);
  const pid = child.pid;
  if (pid === undefined) throw new Error('the gateway has no pid');
  return {
    pid,
    url,
    stop: () => stopChild(child, start.stopTimeoutMs ?? 10_000),
  };
}
