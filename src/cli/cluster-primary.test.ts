import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadSettings } from '../config/settings.ts';
import { ConfigError } from '../errors.ts';
import { resolveWorkerCount } from './cluster-primary.ts';

describe('GATEWAY_WORKERS', () => {
  it('defaults to 1: a single process, no cluster primary', () => {
    assert.equal(loadSettings({}).workers, 1);
    assert.equal(resolveWorkerCount(loadSettings({}).workers, 8), 1);
  });

  it('takes 0..256 from the env var or --workers, and names the unit and range otherwise', () => {
    assert.equal(loadSettings({ GATEWAY_WORKERS: '0' }).workers, 0);
    assert.equal(loadSettings({ GATEWAY_WORKERS: '4' }, { workers: '256' }).workers, 256);
    for (const bad of ['257', '-1', 'two']) {
      assert.throws(
        () => loadSettings({ GATEWAY_WORKERS: bad }),
        (err: unknown) =>
          err instanceof ConfigError &&
          /^GATEWAY_WORKERS=".*": expected (0\.\.256|a whole number) \(processes, 0 = one per CPU core\)$/.test(
            err.problems[0] ?? '',
          ),
      );
    }
  });

  it('resolves 0 to one worker per core (on 1 core that is the single-process path)', () => {
    assert.equal(resolveWorkerCount(3, 8), 3);
    assert.equal(resolveWorkerCount(0, 8), 8);
    assert.equal(resolveWorkerCount(0, 1), 1);
  });
});
