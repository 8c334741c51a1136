import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { PIPE_BUF } from '../observability/logger.ts';
import { createClusterLogger } from './cluster-log.ts';

interface SonicBoomLimits {
  readonly minLength: number;
  readonly maxWrite: number;
}

// Nothing is logged here: the destination is this test process's stdout.
describe('createClusterLogger', () => {
  it('names the process on every line: pid, and role on the primary', () => {
    // pino's bindings() leaves out pid; the serialized bindings are what every line carries.
    const serialized = (logger: pino.Logger): string =>
      (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
    assert.equal(
      serialized(createClusterLogger('info')),
      `,"service":"connector-gateway","pid":${process.pid}`,
    );
    assert.equal(
      serialized(createClusterLogger('warn', 'primary')),
      `,"service":"connector-gateway","pid":${process.pid},"role":"primary"`,
    );
    assert.equal(createClusterLogger('warn').level, 'warn');
  });

  it('writes at most PIPE_BUF bytes of lines at once, so processes sharing stdout do not splice lines', () => {
    const logger = createClusterLogger('info');
    const stream = (logger as unknown as Record<symbol, SonicBoomLimits>)[pino.symbols.streamSym];
    assert.equal(stream?.maxWrite, PIPE_BUF);
    assert.ok((stream?.minLength ?? PIPE_BUF) < PIPE_BUF);
    assert.equal(PIPE_BUF, 4096, 'Linux PIPE_BUF');
  });
});
