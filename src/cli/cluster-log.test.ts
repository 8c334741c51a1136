import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { PIPE_BUF } from '../observability/logger.ts';
import { createClusterLogger } from './cluster-log.ts';

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

  it('writes at most PIPE_BUF bytes of lines at once into a pipe, so processes sharing it do not splice lines', async () => {
    // A child whose stdout is a pipe, as under a container runtime, logging lines of several
    // sizes (some with multi-byte characters) faster than one batch holds. It records the size
    // of every write handed to its stdout stream and reports the sizes on stderr.
    const script = `const sizes = [];
      const write = process.stdout.write.bind(process.stdout);
      process.stdout.write = (chunk, ...rest) => { sizes.push(Buffer.byteLength(chunk)); return write(chunk, ...rest); };
      const { createClusterLogger } = await import(${JSON.stringify(new URL('./cluster-log.ts', import.meta.url).href)});
      const log = createClusterLogger('info');
      for (let i = 0; i < 400; i++) log.info({ i, pad: 'é'.repeat(i % 97) + 'x'.repeat(i % 13) }, 'line');
      log.flush();
      process.stderr.write(JSON.stringify(sizes));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    const [code] = (await once(child, 'close')) as [number | null];
    const stderr = Buffer.concat(err).toString('utf8');
    assert.equal(code, 0, stderr);
    const sizes = JSON.parse(stderr) as number[];
    const lines = Buffer.concat(out).toString('utf8').split('\n').filter(Boolean);
    assert.equal(lines.filter((l) => l.includes('"msg":"line"')).length, 400);
    for (const l of lines) JSON.parse(l);
    assert.equal(PIPE_BUF, 4096, 'Linux PIPE_BUF');
    assert.ok(sizes.length > 10, `lines are batched, and 400 of them need many writes: ${sizes.length}`);
    assert.ok(Math.max(...sizes) <= PIPE_BUF, `largest write ${Math.max(...sizes)} bytes`);
    assert.ok(Math.max(...sizes) > PIPE_BUF / 2, 'batches are filled, not one line per write');
  });
});
