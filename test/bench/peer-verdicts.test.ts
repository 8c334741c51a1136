/**
 * The peer targets' arithmetic: a verdict recorded in the docs must be the median of ratios of
 * rounds run close together, in the right direction for each target, and say so when the other
 * peer did not run.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import {
  formatPeerVerdicts,
  PEER_TARGETS,
  peerVerdicts,
  readPeerRounds,
  type PeerRound,
  type PeerTarget,
} from './peer-verdicts.ts';

const run = promisify(execFile);

function round(peer: string, scenario: string, n: number, rps: number, p99Ms = 10, peerCpu = 1): PeerRound {
  return { round: n, peer, scenario, rps, p99_us: p99Ms * 1000, peerCpu };
}

function target(label: string): PeerTarget {
  const found = PEER_TARGETS.find((t) => t.label === label);
  assert.ok(found, label);
  return found;
}

const HAPROXY = target('>= 0.7x HAProxy jwt_verify');

describe('peerVerdicts', () => {
  it('pairs round n with round n and decides by the median, not by the means', () => {
    // One disturbed HAProxy round (4,000 req/s) pulls its mean down so far that the ratio of the
    // means says "met"; round by round the project is under 0.7x in two of three.
    const runs = [
      round('project', 'S1', 1, 6_000),
      round('project', 'S1', 2, 6_500),
      round('project', 'S1', 3, 7_500),
      round('haproxy', 'S1', 1, 10_000),
      round('haproxy', 'S1', 2, 4_000),
      round('haproxy', 'S1', 3, 11_000),
    ];
    const [v] = peerVerdicts(runs, 'project', [HAPROXY]);
    assert.ok(v?.result);
    assert.deepEqual(
      v.result.roundRatios.map((r) => r.toFixed(3)),
      ['0.600', '1.625', '0.682'],
    );
    assert.equal(v.result.median.toFixed(3), '0.682');
    assert.equal(v.result.roundsMet, 1);
    assert.equal(v.result.met, false);
    assert.ok(v.result.ofMeans >= 0.7, `of means ${v.result.ofMeans}`);
  });

  it('judges p99 as at most the limit, and req/s as at least it', () => {
    const runs = [
      round('project', 'S1', 1, 9_000, 19),
      round('nginx', 'S1', 1, 12_000, 10),
      round('project', 'S2', 1, 9_000, 21),
      round('nginx', 'S2', 1, 12_000, 10),
    ];
    const p99 = target('p99 <= 2x nginx');
    const byScenario = Object.fromEntries(
      peerVerdicts(runs, 'project', [p99]).map((v) => [v.scenario, v.result?.met]),
    );
    assert.deepEqual(byScenario, { S1: true, S2: false });
  });

  it('compares CPU-normalised throughput per peer-core beside the raw ratio', () => {
    const runs = [round('project', 'S1', 1, 8_000, 10, 1), round('haproxy', 'S1', 1, 10_000, 10, 0.8)];
    const [v] = peerVerdicts(runs, 'project', [HAPROXY]);
    assert.equal(v?.result?.median, 0.8);
    assert.equal(v?.result?.perCore?.toFixed(2), '0.64');
  });

  it('leaves out rounds only one side ran, and reports a peer the run lacks', () => {
    const runs = [
      round('project', 'S1', 1, 9_000),
      round('project', 'S1', 2, 1_000),
      round('haproxy', 'S1', 1, 10_000),
    ];
    const verdicts = peerVerdicts(runs, 'project', [HAPROXY, target('>= 1.2x raw node:http, no auth')]);
    assert.deepEqual(verdicts[0]?.result?.roundRatios, [0.9]);
    assert.equal(verdicts[1]?.result, undefined);
    const text = formatPeerVerdicts(verdicts, 'project');
    assert.match(text, /node-raw not in this run/);
    assert.match(text, /\| 0\.90x +\| 0\.90-0\.90 \| 1 of 1 +\|/);
  });

  it('prints three decimals where two would round across the limit, and "not reached" for the goal', () => {
    const runs = [round('project', 'S1', 1, 6_980), round('haproxy', 'S1', 1, 10_000)];
    const text = formatPeerVerdicts(
      peerVerdicts(runs, 'project', [HAPROXY, target('HAProxy parity (goal)')]),
      'project',
    );
    assert.match(text, /0\.698x .*NOT met/);
    assert.match(text, /HAProxy parity \(goal\) .*0\.70x .*not reached/);
  });
});

describe('readPeerRounds', () => {
  it('refuses what is not a bench-peers results.json, naming what is missing', () => {
    assert.throws(() => readPeerRounds({ rows: [] }), /no "runs" array/);
    assert.throws(
      () => readPeerRounds({ runs: [{ round: 1, peer: 'nginx', scenario: 'S1', rps: 1 }] }),
      /runs\[0\] lacks/,
    );
  });
});

describe('peer-verdicts command', () => {
  const script = join(import.meta.dirname, 'peer-verdicts.ts');

  it('reads a results directory and prints the verdict table; exits 2 naming the peers when the project is missing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'peer-verdicts-'));
    try {
      const runs = [1, 2].flatMap((n) => [
        round('project', 'S1', n, 9_000),
        round('fastify-cache', 'S1', n, 5_000),
        round('haproxy', 'S1', n, 10_000),
      ]);
      await writeFile(join(dir, 'results.json'), JSON.stringify({ runs }));
      const { stdout } = await run(process.execPath, [script, dir]);
      assert.match(stdout, />= 1\.5x fastify \+ fast-jwt \(cache\) \| S1 +\| 1\.80x .*\| met/);
      assert.match(stdout, />= 0\.7x HAProxy jwt_verify +\| S1 +\| 0\.90x .*\| met/);

      await assert.rejects(
        run(process.execPath, [script, dir, '--project']),
        (error: { code?: number; stderr?: string }) => {
          assert.equal(error.code, 2);
          assert.match(error.stderr ?? '', /--project needs a peer name/);
          return true;
        },
      );

      await writeFile(join(dir, 'results.json'), JSON.stringify({ runs: runs.slice(1, 3) }));
      await assert.rejects(
        run(process.execPath, [script, dir]),
        (error: { code?: number; stderr?: string }) => {
          assert.equal(error.code, 2);
          assert.match(
            error.stderr ?? '',
            /no rounds of project .*peers: fastify-cache, haproxy.*--project NAME/,
          );
          return true;
        },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('peer-run.sh', () => {
  it('says where it looked and exits 2 when bench-peers is not there, before building or copying anything', async () => {
    const script = join(import.meta.dirname, 'peer-run.sh');
    await assert.rejects(
      run('bash', [script], { env: { ...process.env, BENCH_PEERS_DIR: '/nonexistent/bench-peers' } }),
      (error: { code?: number; stderr?: string; stdout?: string }) => {
        assert.equal(error.code, 2);
        assert.match(
          error.stderr ?? '',
          /no bench-peers at \/nonexistent\/bench-peers \(set BENCH_PEERS_DIR/,
        );
        assert.equal(error.stdout, '');
        return true;
      },
    );
  });
});
