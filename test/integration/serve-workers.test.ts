/**
 * `connector-gateway serve` with GATEWAY_WORKERS (node:cluster) as operators run it on a VM: two
 * workers take turns on one port, a worker killed with SIGKILL is replaced, SIGTERM and SIGINT to
 * the primary drain every worker (a slow request still completes) and exit 0, a start-up failure
 * stops everything with exit 1 instead of restarting, and GATEWAY_WORKERS=1 forks nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import type { LocalIdp } from '../../src/dev/local-idp.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';
import {
  adlsPolicy,
  FUNCTIONS_KEY,
  NODE,
  policyDir,
  REPO,
  SPARK,
  spawnGateway,
  startIdp,
  waitFor,
  type ChildGateway,
} from '../fixtures/gateway-harness.ts';
import { call } from '../fixtures/http-client.ts';

interface LogLine {
  readonly msg: string;
  readonly level: string;
  readonly pid?: number;
  readonly role?: string;
  readonly [field: string]: unknown;
}

/** The gateway's stdout as parsed log lines (anything else is skipped). */
function logLines(gw: ChildGateway): LogLine[] {
  const lines: LogLine[] = [];
  for (const text of gw.stdout) {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      // Not a log line.
    }
  }
  return lines;
}

/** Pids of the workers that logged `msg` (the primary carries role "primary"). */
function workerPids(gw: ChildGateway, msg: string): Set<number> {
  const pids = new Set<number>();
  for (const line of logLines(gw)) {
    if (line.msg === msg && line.role === undefined && line.pid !== undefined) pids.add(line.pid);
  }
  return pids;
}

function primaryLine(gw: ChildGateway, msg: string): LogLine | undefined {
  return logLines(gw).find((l) => l.role === 'primary' && l.msg === msg);
}

/** Child processes of `pid`, from /proc (every thread's list). */
function childrenOf(pid: number): number[] {
  const tasks = readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((tid) =>
    readFileSync(`/proc/${pid}/task/${tid}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
  );
}

interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `connector-gateway serve` that is expected to stop by itself (a failed start). */
function serveUntilExit(env: Record<string, string>, args: string[] = []): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [join(REPO, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', ...args],
      {
        env: { PATH: process.env['PATH'] ?? '', TEST_FUNCTIONS_KEY: FUNCTIONS_KEY, ...env },
        timeout: 20_000,
      },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

const count = (text: string, part: string): number => text.split(part).length - 1;

describe('GATEWAY_WORKERS=2', () => {
  let idp: LocalIdp;
  let upstream: RecordingUpstream;
  let dir: string;
  let token: string;

  before(async () => {
    idp = await startIdp();
    upstream = await RecordingUpstream.start();
    dir = await policyDir({ 'adls.yaml': adlsPolicy(idp.issuer, upstream.origin) });
    token = await idp.getToken(SPARK.clientId, SPARK.clientSecret, 'spark');
  });

  after(async () => {
    await upstream.close();
    await idp.close();
  });

  describe('serving, crash replacement and SIGTERM', () => {
    let gw: ChildGateway;
    let firstPids: Set<number>;

    before(async () => {
      gw = await spawnGateway(
        dir,
        { GATEWAY_WORKERS: '2', GATEWAY_SHUTDOWN_GRACE_SECONDS: '10' },
        GATEWAY_NODE_FLAGS,
      );
      await waitFor(() => primaryLine(gw, 'all workers listening') !== undefined, 'all workers listening');
      await waitFor(() => workerPids(gw, 'issuer keys loaded').size === 2, 'both workers have the keys');
      // Each worker's own lines reach stdout on its logger's flush interval, so its "listening"
      // line can come after the primary has heard from the cluster module (a CI run read one).
      await waitFor(() => workerPids(gw, 'listening').size === 2, "both workers' listening lines");
      firstPids = workerPids(gw, 'listening');
    });

    after(() => {
      // Workers exit by themselves when the primary's IPC channel closes.
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    });

    /** Sends requests on fresh connections until a request line from `pid` shows up. */
    async function reachWorker(pid: number): Promise<void> {
      for (let i = 0; i < 20 && !workerPids(gw, 'request').has(pid); i++) {
        const res = await call(gw.url, `/connectors/adls/w${i}`, {
          headers: { authorization: `Bearer ${token}` },
        });
        assert.equal(res.status, 200);
        await new Promise((r) => setTimeout(r, 50));
      }
      // Log lines reach stdout within the logger's flush interval (200 ms).
      await waitFor(() => workerPids(gw, 'request').has(pid), `a request served by worker ${pid}`, 2000);
    }

    it('runs a primary that serves nothing and two workers with their pid on every line', () => {
      assert.equal(firstPids.size, 2, JSON.stringify([...firstPids]));
      assert.ok(!firstPids.has(gw.child.pid ?? 0), 'the primary itself does not listen');
      assert.deepEqual(new Set(childrenOf(gw.child.pid ?? 0)), firstPids);
      assert.deepEqual(
        new Set(primaryLine(gw, 'all workers listening')?.['workerPids'] as number[]),
        firstPids,
      );
      const ports = logLines(gw)
        .filter((l) => l.msg === 'listening')
        .map((l) => l['url']);
      assert.deepEqual(ports, [gw.url, gw.url], 'both workers share the one port');
      // The primary's node flags (the image's, node-flags.ts) reach every worker it forks.
      const flags = logLines(gw)
        .filter((l) => l.msg === 'listening')
        .map((l) => l['nodeFlags']);
      assert.deepEqual(flags, [GATEWAY_NODE_FLAGS, GATEWAY_NODE_FLAGS]);
      assert.equal(primaryLine(gw, 'effective settings'), undefined, 'the primary loads nothing');
    });

    it('spreads fresh connections over both workers on the one port', async () => {
      upstream.reply(() => ({ body: 'ok' }));
      for (const pid of firstPids) await reachWorker(pid);
      const served = workerPids(gw, 'request');
      assert.deepEqual(served, firstPids);
    });

    it('replaces a worker killed with SIGKILL, logging its pid and signal', async () => {
      const [victim, survivor] = [...firstPids] as [number, number];
      process.kill(victim, 'SIGKILL');
      await waitFor(
        () => primaryLine(gw, 'worker exited unexpectedly; starting a replacement') !== undefined,
        'the crash to be logged',
      );
      const crash = primaryLine(gw, 'worker exited unexpectedly; starting a replacement');
      assert.equal(crash?.level, 'error');
      assert.equal(crash?.['workerPid'], victim);
      assert.equal(crash?.['signal'], 'SIGKILL');
      assert.equal(crash?.['code'], null);
      await waitFor(
        () => primaryLine(gw, 'replacement worker listening') !== undefined,
        'a replacement',
        15_000,
      );
      const replacement = primaryLine(gw, 'replacement worker listening')?.['workerPid'] as number;
      assert.ok(!firstPids.has(replacement));
      assert.deepEqual(new Set(childrenOf(gw.child.pid ?? 0)), new Set([survivor, replacement]));
      await waitFor(
        () => workerPids(gw, 'issuer keys loaded').has(replacement),
        'the replacement has the keys',
      );
      await reachWorker(replacement);
    });

    it('forwards SIGTERM to every worker, drains a slow in-flight request and exits 0', async () => {
      const current = childrenOf(gw.child.pid ?? 0);
      assert.equal(current.length, 2);
      upstream.reply(() => ({ delayMs: 1500, body: 'slow but complete' }));
      const next = upstream.nextRequest();
      const inflight = call(gw.url, '/connectors/adls/slow', {
        headers: { authorization: `Bearer ${token}` },
      });
      await next;
      gw.child.kill('SIGTERM');
      await waitFor(
        () => current.every((pid) => workerPids(gw, 'draining').has(pid)),
        'both workers draining',
      );
      // Once every worker has closed its listener, the primary closes the shared socket.
      let refused = false;
      for (let i = 0; i < 30 && !refused; i++) {
        refused = await call(gw.url, '/healthz').then(
          () => false,
          (err: Error) => /ECONNREFUSED|ECONNRESET/.test(err.message),
        );
        if (!refused) await new Promise((r) => setTimeout(r, 50));
      }
      assert.ok(refused, 'a new connection was still accepted during the drain');
      const res = await inflight;
      assert.equal(res.status, 200);
      assert.equal(res.text, 'slow but complete');
      assert.equal(await gw.exited, 0);
      const drained = logLines(gw).filter((l) => l.msg === 'drained; exiting');
      assert.deepEqual(new Set(drained.map((l) => l.pid)), new Set(current));
      assert.ok(drained.every((l) => l['finished'] === true));
      assert.equal(primaryLine(gw, 'all workers exited')?.['exitCode'], 0);
    });
  });

  it('on SIGINT to the primary, drains every worker with SIGTERM and exits 0', async () => {
    const gw = await spawnGateway(dir, { GATEWAY_WORKERS: '2' });
    try {
      await waitFor(() => primaryLine(gw, 'all workers listening') !== undefined, 'all workers listening');
      const pids = childrenOf(gw.child.pid ?? 0);
      gw.child.kill('SIGINT');
      assert.equal(await gw.exited, 0);
      const draining = logLines(gw).filter((l) => l.msg === 'draining');
      assert.deepEqual(new Set(draining.map((l) => l.pid)), new Set(pids));
      assert.ok(draining.every((l) => l['signal'] === 'SIGTERM'));
      assert.equal(primaryLine(gw, 'stopping workers')?.['signal'], 'SIGINT');
    } finally {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    }
  });

  it('gives up with exit 1 after more replacements in 10 s than there are workers', async () => {
    const gw = await spawnGateway(dir, { GATEWAY_WORKERS: '2' });
    try {
      await waitFor(() => primaryLine(gw, 'all workers listening') !== undefined, 'all workers listening');
      const first = childrenOf(gw.child.pid ?? 0);
      for (const pid of first) process.kill(pid, 'SIGKILL');
      const replaced = (): number =>
        logLines(gw).filter((l) => l.role === 'primary' && l.msg === 'replacement worker listening').length;
      await waitFor(() => replaced() === 2, 'two replacements (the whole budget)', 15_000);
      const [third] = childrenOf(gw.child.pid ?? 0).filter((pid) => !first.includes(pid));
      process.kill(third ?? 0, 'SIGKILL');
      // A third replacement (the budget not enforced) must fail the test, not hang it.
      await waitFor(() => gw.child.exitCode !== null || replaced() > 2, 'the primary to give up', 15_000);
      assert.equal(replaced(), 2, 'no third replacement');
      assert.equal(await gw.exited, 1);
      const limit = primaryLine(gw, 'worker exited; restart limit reached, stopping the gateway');
      assert.equal(limit?.level, 'error');
      assert.equal(limit?.['workerPid'], third);
      assert.equal(limit?.['restarts'], 2);
      assert.equal(primaryLine(gw, 'all workers exited')?.['exitCode'], 1);
    } finally {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    }
  });

  it('checks settings in the primary: same error and exit code as one process, nothing forked', async () => {
    const bad = { GATEWAY_POLICIES_DIR: dir, GATEWAY_PORT: 'eighty', GATEWAY_MAX_TOKEN_BYTES: '1' };
    const single = await serveUntilExit({ ...bad, GATEWAY_WORKERS: '1' });
    const cluster = await serveUntilExit({ ...bad, GATEWAY_WORKERS: '2' });
    assert.equal(single.code, 1);
    assert.match(single.stderr, /GATEWAY_PORT="eighty"/);
    assert.equal(cluster.code, 1);
    assert.equal(cluster.stderr, single.stderr);
    assert.equal(cluster.stdout, '', 'no primary started, no worker forked');
  });

  it('stops with exit 1 when a worker cannot load the policies, printing the error once', async () => {
    const broken = await policyDir({ 'adls.yaml': 'routes:\n  - id: adls\n    match: {pathPrefix: /x/}\n' });
    const run = await serveUntilExit({ GATEWAY_POLICIES_DIR: broken, GATEWAY_WORKERS: '2' }, ['--port', '0']);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stderr, /adls\.yaml:\d+:\d+: routes\[0\]/);
    assert.equal(count(run.stderr, 'connector-gateway serve:'), 1, run.stderr);
    assert.equal(count(run.stdout, '"msg":"worker failed to start'), 1, run.stdout);
    assert.equal(count(run.stdout, '"msg":"effective settings"'), 1, 'only the first worker was forked');
    assert.match(run.stdout, /"msg":"all workers exited"/);
  });

  it('stops with exit 1 when a worker cannot listen (port in use) instead of restarting it', async () => {
    const taken: Server = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as AddressInfo).port;
    try {
      const run = await serveUntilExit({ GATEWAY_POLICIES_DIR: dir, GATEWAY_WORKERS: '2' }, [
        '--port',
        String(port),
      ]);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.equal(count(run.stderr, `EADDRINUSE 127.0.0.1:${port}`), 1, run.stderr);
      const failed = run.stdout.split('\n').find((l) => l.includes('"msg":"worker failed to start'));
      assert.ok(failed, run.stdout);
      assert.match(failed, /"level":"error"/);
      assert.match(failed, /"code":1/);
    } finally {
      taken.close();
    }
  });

  it('GATEWAY_WORKERS=1 (the default) runs one process: no primary, no fork, no pid field', async () => {
    const gw = await spawnGateway(dir, { GATEWAY_WORKERS: '1' });
    try {
      assert.deepEqual(childrenOf(gw.child.pid ?? 0), []);
      const lines = logLines(gw);
      assert.ok(lines.some((l) => l.msg === 'listening'));
      assert.ok(lines.every((l) => l.pid === undefined && l.role === undefined));
      gw.child.kill('SIGTERM');
      assert.equal(await gw.exited, 0);
    } finally {
      if (gw.child.exitCode === null) gw.child.kill('SIGKILL');
    }
  });
});
