/**
 * Relays that stream beside the gateway in `npm run bench`, on the gateway's core, so that one
 * run says how much of a streaming ratio is the gateway and how much the relay's stack:
 *
 * - `stack-floor`: the gateway's own stack (`node:http` + undici `Pool.dispatch`) with none of
 *   its work (stack-floor.ts);
 * - `node-pipe`: Node's sockets alone, a TCP pipe with no HTTP (pipe-relay.ts);
 * - `nginx` and `nginx-1m`, when `nginx` is installed: nginx streaming the body as it comes
 *   (`proxy_request_buffering off`, `proxy_buffering off`), once with its default body buffer
 *   (16 KiB on 64-bit Linux, so it reads and writes in pieces of at most that) and once with
 *   `client_body_buffer_size 1m`. Node reads a socket in pieces of at most 64 KiB, whatever the
 *   stack on top (libuv's read size, and `node:http`'s parser buffer), so the two nginx rows show
 *   what the size of the pieces alone does to the same relay.
 *
 * Every relay forwards any path to the bench upstream; the stack floor adds the upstream
 * credential, the others pass the request as it is (the upstream's streaming paths check none).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { CREDENTIAL_HEADER } from './fixture.ts';
import { freePort, stopChild } from './gateway-process.ts';
import { pinned } from './pinning.ts';

export type ReferenceRelayId = 'stack-floor' | 'node-pipe' | 'nginx' | 'nginx-1m';

export interface ReferenceRelay {
  readonly id: ReferenceRelayId;
  /** What the relay is, for the report. */
  readonly title: string;
  readonly url: string;
}

export interface ReferenceRelays {
  readonly relays: readonly ReferenceRelay[];
  /** Relays that could not run here, each with the reason (e.g. nginx is not installed). */
  readonly skipped: readonly { readonly id: ReferenceRelayId; readonly reason: string }[];
  stop(): Promise<void>;
}

export interface ReferenceRelaysStart {
  readonly upstream: string;
  readonly credential: string;
  readonly workDir: string;
  /** taskset CPU list: the gateway's core. */
  readonly cpu: string | undefined;
  /** Node flags for the Node relays: the gateway's, so that the stacks differ only in code. */
  readonly nodeFlags: readonly string[];
}

export const REFERENCE_TITLES: Readonly<Record<ReferenceRelayId, string>> = {
  'stack-floor': 'stack floor (node:http + undici, no gateway work)',
  'node-pipe': 'Node TCP pipe (no HTTP)',
  nginx: 'nginx, default 16 KiB body buffer',
  'nginx-1m': 'nginx, 1 MiB body buffer',
};

/**
 * nginx's configuration: one process (no master), both servers in it, streaming both ways.
 * `ports` are the default-buffer and the 1 MiB servers' ports.
 */
export function nginxConfig(workDir: string, upstream: string, ports: readonly [number, number]): string {
  const target = new URL(upstream).host;
  const server = (port: number, extra: string): string => `  server {
    listen 127.0.0.1:${port};${extra}
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_request_buffering off;
      proxy_buffering off;
    }
  }`;
  return `daemon off;
master_process off;
worker_processes 1;
pid ${join(workDir, 'nginx.pid')};
error_log ${join(workDir, 'nginx-error.log')} warn;
events { worker_connections 1024; }
http {
  access_log off;
  client_max_body_size 0;
  client_body_temp_path ${join(workDir, 'body')};
  proxy_temp_path ${join(workDir, 'proxy')};
  fastcgi_temp_path ${join(workDir, 'fastcgi')};
  uwsgi_temp_path ${join(workDir, 'uwsgi')};
  scgi_temp_path ${join(workDir, 'scgi')};
  upstream bench_upstream {
    server ${target};
    keepalive 16;
  }
${server(ports[0], '')}
${server(ports[1], '\n    client_body_buffer_size 1m;')}
}
`;
}

/** Why nginx cannot run here, or undefined when `nginx -v` works. */
function nginxMissing(): string | undefined {
  const probe = spawnSync('nginx', ['-v'], { stdio: 'ignore' });
  if (probe.error !== undefined)
    return 'nginx is not installed (apt-get install nginx adds the two nginx rows)';
  return probe.status === 0 ? undefined : `nginx -v exited with ${probe.status}`;
}

/** Resolves once something accepts connections on the port, or throws after `timeoutMs`. */
async function listening(port: number, child: ChildProcess, name: string, timeoutMs = 15_000): Promise<void> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(100);
  }
  throw new Error(`${name} did not listen on ${port} within ${timeoutMs / 1000} s`);
}

/** A Node relay script, started with the gateway's flags; resolves with the port it printed. */
async function startNodeRelay(
  script: string,
  env: Record<string, string>,
  start: ReferenceRelaysStart,
): Promise<{ child: ChildProcess; port: number }> {
  const [command, args] = pinned(start.cpu, process.execPath, [
    ...start.nodeFlags,
    join(import.meta.dirname, script),
  ]);
  const child = spawn(command, args, {
    env: { ...process.env, HOST: '127.0.0.1', PORT: '0', UPSTREAM_URL: start.upstream, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    lines.on('line', (line) => {
      const match = / listening 127\.0\.0\.1:(\d+) /.exec(line);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { child, port };
}

interface NginxProcess {
  readonly child: ChildProcess;
  /** The default-buffer and the 1 MiB servers' ports. */
  readonly ports: readonly [number, number];
}

/**
 * nginx with both servers once both listen, or why not. nginx is optional: one that is missing
 * or will not start here costs the run its two rows, not the run.
 */
async function nginxOrReason(start: ReferenceRelaysStart): Promise<NginxProcess | string> {
  const missing = nginxMissing();
  if (missing !== undefined) return missing;
  try {
    return await startNginx(start);
  } catch (error) {
    return `nginx did not start: ${(error as Error).message}`;
  }
}

/** nginx with both servers, once both listen; stopped again when it does not get that far. */
async function startNginx(start: ReferenceRelaysStart): Promise<NginxProcess> {
  const dir = join(start.workDir, 'nginx');
  await mkdir(dir, { recursive: true });
  const first = await freePort();
  let second = await freePort();
  while (second === first) second = await freePort();
  const ports = [first, second] as const;
  const config = join(dir, 'nginx.conf');
  await writeFile(config, nginxConfig(dir, start.upstream, ports));
  const errorLog = join(dir, 'nginx-error.log');
  const [command, args] = pinned(start.cpu, 'nginx', ['-p', dir, '-e', errorLog, '-c', config]);
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await listening(ports[0], child, 'nginx');
    await listening(ports[1], child, 'nginx');
  } catch (error) {
    await stopChild(child, 5_000);
    throw new Error(`${(error as Error).message} (see ${errorLog})`, { cause: error });
  }
  return { child, ports };
}

/** Starts every reference relay that can run here, each pinned to the gateway's core. */
export async function startReferenceRelays(start: ReferenceRelaysStart): Promise<ReferenceRelays> {
  const children: ChildProcess[] = [];
  const relays: ReferenceRelay[] = [];
  const skipped: { id: ReferenceRelayId; reason: string }[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(children.map((child) => stopChild(child, 5_000)));
  };
  const add = (id: ReferenceRelayId, port: number): void => {
    relays.push({ id, title: REFERENCE_TITLES[id], url: `http://127.0.0.1:${port}` });
  };
  try {
    const floor = await startNodeRelay(
      'stack-floor.ts',
      { UPSTREAM_KEY_HEADER: CREDENTIAL_HEADER, FUNCTIONS_KEY: start.credential },
      start,
    );
    children.push(floor.child);
    add('stack-floor', floor.port);
    const pipe = await startNodeRelay('pipe-relay.ts', {}, start);
    children.push(pipe.child);
    add('node-pipe', pipe.port);
    const nginx = await nginxOrReason(start);
    if (typeof nginx === 'string') {
      skipped.push({ id: 'nginx', reason: nginx }, { id: 'nginx-1m', reason: nginx });
    } else {
      children.push(nginx.child);
      add('nginx', nginx.ports[0]);
      add('nginx-1m', nginx.ports[1]);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { relays, skipped, stop };
}
