/** `npm run bench` options that set the gateway's and an A/B baseline's node flags and log level. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBenchOptions, type BenchOptions } from './options.ts';
import { DEFAULT_STREAM_ROUNDS } from './scenarios.ts';

function parse(argv: readonly string[]): BenchOptions {
  const options = parseBenchOptions(argv);
  assert.notEqual(options, 'help');
  return options as BenchOptions;
}

describe('npm run bench node flags and log levels', () => {
  it('gives the baseline the same flags as the gateway unless told otherwise', () => {
    const options = parse(['--compare', 'dist', '--node-flags=--max-semi-space-size=8 --trace-gc']);
    assert.deepEqual(options.nodeFlags, ['--max-semi-space-size=8', '--trace-gc']);
    assert.equal(options.baselineNodeFlags, undefined);
  });

  it('runs the baseline on exactly the flags given, none for ""', () => {
    assert.deepEqual(parse(['--compare', 'dist', '--baseline-node-flags=']).baselineNodeFlags, []);
    assert.deepEqual(
      parse(['--compare', 'dist', '--baseline-node-flags=--trace-gc --no-opt']).baselineNodeFlags,
      ['--trace-gc', '--no-opt'],
    );
  });

  it('refuses baseline flags without a baseline, instead of ignoring them', () => {
    assert.throws(() => parseBenchOptions(['--baseline-node-flags=']), /only applies with --compare/);
  });

  it('gives the baseline its own log level only when told, and only with a baseline', () => {
    assert.equal(parse(['--compare', 'dist', '--log-level', 'info']).baselineLogLevel, undefined);
    const options = parse(['--compare', 'dist', '--together', '--baseline-log-level', 'warn']);
    assert.equal(options.logLevel, 'info');
    assert.equal(options.baselineLogLevel, 'warn');
    assert.throws(() => parseBenchOptions(['--baseline-log-level', 'warn']), /only applies with --compare/);
  });

  it('loads both builds at once only with --together, which needs a baseline', () => {
    assert.equal(parse(['--compare', 'dist']).together, false);
    assert.equal(parse(['--compare', 'dist', '--together']).together, true);
    assert.throws(() => parseBenchOptions(['--together']), /only applies with --compare/);
  });
});

describe('npm run bench --instructions', () => {
  it('counts the hot-path scenarios over few connections after a warm-up of requests', () => {
    const options = parse(['--instructions']);
    assert.equal(options.instructions, true);
    assert.deepEqual(options.only, ['anonymous', 's1-one-token', 's2-1000-tokens']);
    assert.equal(options.connections, 4);
    assert.equal(options.durationSeconds, 20);
    assert.equal(options.warmupRequests, 8000);
    const timed = parse([]);
    assert.equal(timed.instructions, false);
    assert.equal(timed.connections, 50);
    assert.ok(timed.only.includes('direct'));
  });

  it('takes scenarios, connections and warm-up requests when given', () => {
    const options = parse([
      '--instructions',
      '--only',
      'never-seen',
      '--connections',
      '2',
      '--warmup-requests',
      '500',
    ]);
    assert.deepEqual(options.only, ['never-seen']);
    assert.equal(options.connections, 2);
    assert.equal(options.warmupRequests, 500);
  });

  it('refuses what it cannot do instead of ignoring it', () => {
    assert.throws(
      () => parseBenchOptions(['--instructions', '--only', 'direct']),
      /direct scenario has none/,
    );
    assert.throws(() => parseBenchOptions(['--instructions', '--cpu-prof', 'p']), /cannot be combined/);
    assert.throws(() => parseBenchOptions(['--instructions', '--warmup', '5']), /--warmup-requests/);
    assert.throws(() => parseBenchOptions(['--warmup-requests', '5']), /only applies with --instructions/);
  });
});

describe('npm run bench streaming references', () => {
  it('streams through the reference relays unless told not to', () => {
    assert.equal(parse([]).streamReferences, true);
    const options = parse(['--no-stream-references']);
    assert.equal(options.streamReferences, false);
    assert.equal(options.streaming, true);
  });

  it('runs DEFAULT_STREAM_ROUNDS streaming rounds unless --stream-rounds says otherwise', () => {
    assert.equal(parse([]).streamRounds, DEFAULT_STREAM_ROUNDS);
    assert.equal(parse(['--stream-rounds', '3']).streamRounds, 3);
    assert.equal(parse(['--stream-rounds', '0']).streamRounds, 1);
    assert.throws(() => parseBenchOptions(['--stream-rounds', 'many']), /--stream-rounds must be a number/);
  });
});
