/**
 * The shipped node flags (src/cli/node-flags.ts) are on every standalone command line of the
 * gateway: the image's ENTRYPOINT, `npm start` and bench-peers' PROJECT_CMD (the chart's per-mode
 * defaults are checked where it is rendered, helm-chart.test.ts; cluster workers inheriting them,
 * serve-workers.test.ts). And the project's Node accepts them on the command line, but not the
 * heap flags in NODE_OPTIONS, which is why they are spelled out in each place; and the runtime
 * flag does what node-flags.ts says it does.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GATEWAY_NODE_FLAGS, HEAP_NODE_FLAGS, RUNTIME_NODE_FLAGS } from '../../src/cli/node-flags.ts';
import { NODE, REPO } from '../fixtures/gateway-harness.ts';

const read = (file: string): string => readFileSync(join(REPO, file), 'utf8');

describe('the shipped node flags', () => {
  it('are the Docker image ENTRYPOINT', () => {
    const entrypoints = read('Dockerfile')
      .split('\n')
      .filter((line) => line.startsWith('ENTRYPOINT '));
    const last = entrypoints.at(-1)?.slice('ENTRYPOINT '.length) ?? '';
    assert.deepEqual(JSON.parse(last), ['node', ...GATEWAY_NODE_FLAGS, 'dist/cli/main.js']);
  });

  it('are what npm start runs with', () => {
    const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    assert.equal(
      pkg.scripts['start'],
      ['node', ...GATEWAY_NODE_FLAGS, 'dist/cli/main.js', 'serve'].join(' '),
    );
  });

  it("are on bench-peers' PROJECT_CMD (test/bench/project-peer.sh)", () => {
    const exec = read('test/bench/project-peer.sh')
      .split('\n')
      .find((line) => line.startsWith('exec ') && line.includes('/node_modules/.bin/node'));
    assert.ok(exec !== undefined, 'project-peer.sh ends in exec node ...');
    const words = exec.split(/\s+/);
    const node = words.findIndex((w) => w.endsWith('/node_modules/.bin/node"'));
    assert.deepEqual(words.slice(node + 1, node + 1 + GATEWAY_NODE_FLAGS.length), [...GATEWAY_NODE_FLAGS]);
  });

  it("are accepted by the project's Node on the command line", () => {
    // An unknown or renamed V8 flag makes node exit 9 ("bad option") before running anything.
    const script = 'console.log(JSON.stringify(process.execArgv))';
    const run = spawnSync(NODE, [...GATEWAY_NODE_FLAGS, '-e', script], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout) as unknown, [...GATEWAY_NODE_FLAGS, '-e', script]);
  });

  it('include V8 flags Node refuses in NODE_OPTIONS (so every command line spells them out)', () => {
    const v8Flags = [...HEAP_NODE_FLAGS, '--max-valid-polymorphic-map-count=16'];
    assert.ok(v8Flags.every((flag) => GATEWAY_NODE_FLAGS.includes(flag)));
    for (const flag of v8Flags) {
      const run = spawnSync(NODE, ['-e', '0'], {
        encoding: 'utf8',
        env: { PATH: process.env['PATH'] ?? '', NODE_OPTIONS: flag },
      });
      assert.notEqual(run.status, 0, flag);
      assert.match(run.stderr, /is not allowed in NODE_OPTIONS/, flag);
    }
  });

  it("turn off Node's async context frame (AsyncLocalStorage bookkeeping on every tick)", () => {
    // What --no-async-context-frame is shipped for (node-flags.ts): Node's own switch, read
    // through its internals because nothing public reports it. Fails if a later Node ignores the
    // flag or renames the switch.
    assert.ok(RUNTIME_NODE_FLAGS.includes('--no-async-context-frame'));
    const enabled = (flags: readonly string[]): string =>
      spawnSync(
        NODE,
        ['--expose-internals', ...flags, '-p', "require('internal/async_context_frame').enabled"],
        {
          encoding: 'utf8',
        },
      ).stdout.trim();
    assert.equal(enabled([]), 'true');
    assert.equal(enabled(GATEWAY_NODE_FLAGS), 'false');
  });
});
