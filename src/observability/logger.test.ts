import { describe, it, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable, type Readable } from 'node:stream';
import { createLogger, IsoTime, LOG_FLUSH_INTERVAL_MS, scrubSecrets, stdoutWriteMode } from './logger.ts';

/**
 * A child process that runs `body` with `log` (createLogger at info, stdout a pipe) in scope. Its
 * stdout is left unread (paused) for the test to read when it chooses; a failed assertion must
 * not leave the child blocked on a pipe nobody reads, so it is killed after the test.
 */
function loggingChild(t: TestContext, body: string): ChildProcessByStdio<null, Readable, Readable> {
  const script = `import { createLogger } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};
    const log = createLogger({ level: 'info' });
    const pad = 'p'.repeat(160);
    ${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.kill('SIGKILL'));
  child.stdout.pause();
  return child;
}

function capture(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXZhbHVl';

describe('logger redaction', () => {
  it('redacts secret-named fields at the top level, one level down and in headers', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    log.info(
      {
        token: JWT,
        req: { headers: { authorization: `Bearer ${JWT}`, cookie: 'sid=1', 'x-functions-key': 'k-123' } },
        credential: { clientSecret: 'cs-456' },
        upstream: { apiKey: 'ak-789' },
      },
      'request',
    );
    const text = lines.join('\n');
    for (const secret of [JWT, 'sid=1', 'k-123', 'cs-456', 'ak-789'])
      assert.ok(!text.includes(secret), secret);
    assert.match(text, /\[REDACTED\]/);
  });

  it('scrubs JWTs and Bearer credentials out of error messages and causes', () => {
    const { lines, stream } = capture();
    const log = createLogger({ level: 'info', destination: stream });
    const err = new Error(`upstream said: Authorization: Bearer abc.def-ghi`, {
      cause: new Error(`bad token ${JWT}`),
    });
    log.error({ err }, 'failed');
    const text = lines.join('\n');
    assert.ok(!text.includes('abc.def-ghi'));
    assert.ok(!text.includes(JWT));
    assert.match(text, /Bearer \[REDACTED\]/);
  });

  it('leaves ordinary text alone', () => {
    assert.equal(
      scrubSecrets('route adls-read refused: token_expired'),
      'route adls-read refused: token_expired',
    );
  });
});

describe('default destination: batched stdout writes', () => {
  // A child process, because the default destination is this process's stdout (fd 1). With
  // `toFile`, its stdout is a regular file (synchronous writes); otherwise a pipe (asynchronous).
  const run = (body: string, toFile = false): Promise<{ stdout: string; code: number | null; ms: number }> =>
    new Promise((resolve) => {
      const started = Date.now();
      const script = `import { createLogger, stdoutWriteMode } from ${JSON.stringify(new URL('./logger.ts', import.meta.url).href)};\n${body}`;
      const dir = toFile ? mkdtempSync(join(tmpdir(), 'cg-log-')) : undefined;
      const file = dir === undefined ? undefined : join(dir, 'stdout.log');
      const fd = file === undefined ? undefined : openSync(file, 'a');
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        stdio: ['ignore', fd ?? 'pipe', 'ignore'],
      });
      if (fd !== undefined) closeSync(fd);
      let stdout = '';
      child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.on('close', (code) => {
        if (file !== undefined && dir !== undefined) {
          stdout = readFileSync(file, 'utf8');
          rmSync(dir, { recursive: true });
        }
        resolve({ stdout, code, ms: Date.now() - started });
      });
    });

  for (const toFile of [false, true]) {
    const into = toFile ? 'a file' : 'a pipe';

    it(`loses no buffered line when the process dies of an uncaught exception (stdout: ${into})`, async () => {
      const { stdout, code } = await run(
        `const log = createLogger({ level: 'info' });
         for (let i = 0; i < 3; i++) log.info({ i }, 'before the crash');
         setTimeout(() => { throw new Error('boom'); }, 0);`,
        toFile,
      );
      assert.equal(code, 1);
      assert.equal(stdout.split('\n').filter((l) => l.includes('before the crash')).length, 3, stdout);
    });

    it(`writes a lone line within the flush interval, without waiting for the buffer to fill (stdout: ${into})`, async () => {
      const { stdout } = await run(
        `const log = createLogger({ level: 'info' });
         log.info('quiet gateway');
         // Keep running well past the flush interval; the line must be out before the exit flush.
         setTimeout(() => { process.stdout.write('MARK\\n'); process.exit(0); }, ${LOG_FLUSH_INTERVAL_MS * 3});`,
        toFile,
      );
      const line = stdout.indexOf('quiet gateway');
      assert.ok(line !== -1 && line < stdout.indexOf('MARK'), stdout);
    });
  }

  it('keeps serving while a pipe reader stalls, and logs how many lines it had to drop', async (t) => {
    // 80,000 lines of ~260 bytes (~21 MB) logged in one go while nobody reads the pipe: more than
    // the 16 MiB backlog. The child's event loop keeps turning (the timer fires) and the
    // child exits on its own once the reader has caught up.
    const child = loggingChild(
      t,
      `for (let i = 0; i < 80000; i++) log.info({ i, pad }, 'line');
      setTimeout(() => process.stderr.write('timer fired\\n'), 10);`,
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    // However slow the machine: the timer fires while nobody reads stdout, or never.
    for (let waited = 0; stderr === '' && waited < 30_000; waited += 50) await sleep(50);
    assert.equal(stderr, 'timer fired\n', 'the event loop ran while stdout was full');
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks)
      .toString('utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { msg: string; level: string; droppedLines?: number });
    const kept = lines.filter((l) => l.msg === 'line').length;
    const report = lines.filter((l) => l.msg.startsWith('log lines dropped'));
    assert.equal(report.length, 1, 'one report after the stall');
    assert.equal(report[0]?.level, 'warn');
    const dropped = report[0]?.droppedLines ?? 0;
    assert.ok(dropped > 0 && kept > 0, `kept ${kept}, dropped ${dropped}`);
    assert.equal(kept + dropped, 80_000, 'every line is either written or counted as dropped');
  });

  it('on a clean exit, writes every line queued behind a slow pipe reader before the process ends', async (t) => {
    // ~5 MB: well past what the pipe holds, within the backlog limit. The child flushes (as the
    // gateway does after its drain) and ends without process.exit, with the reader still stalled.
    const child = loggingChild(
      t,
      `for (let i = 0; i < 20000; i++) log.info({ i, pad }, 'line'); log.flush();`,
    );
    child.stderr.pipe(process.stderr);
    await sleep(500);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 20_000);
    assert.equal((JSON.parse(lines.at(-1) ?? '{}') as { i?: number }).i, 19_999, 'in order, to the last');
  });

  it('writes a line logged as the last work of the process, even into a full pipe', async (t) => {
    // ~5 MB queued behind a stalled reader. When that queue has drained, the child fills the
    // pipe to the brim (empty lines, which the reader skips), logs one line, and its event loop
    // runs dry: a flush at 'exit' would find the pipe full and lose the line; only a flush while
    // the process can still wait for the reader gets it out.
    const child = loggingChild(
      t,
      `import { writeSync } from 'node:fs';
      for (let i = 0; i < 20000; i++) log.info({ i, pad }, 'line');
      log.flush();
      process.stdout.once('drain', () => {
        for (const size of [4096, 1]) {
          const fill = Buffer.alloc(size, 10);
          try { for (;;) writeSync(1, fill); } catch {}
        }
        log.info('last words');
      });`,
    );
    child.stderr.pipe(process.stderr);
    await sleep(500);
    const chunks: Buffer[] = [];
    // A slow reader: the child is done long before the pipe empties.
    child.stdout.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      child.stdout.pause();
      setTimeout(() => child.stdout.resume(), 20);
    });
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    assert.equal(code, 0);
    const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
    assert.equal(lines.length, 20_001);
    assert.equal((JSON.parse(lines.at(-1) ?? '{}') as { msg?: string }).msg, 'last words');
  });

  it('writes synchronously into a regular file or /dev/null, through the non-blocking stream into a pipe', async () => {
    const probe = `process.stdout.write(stdoutWriteMode(1) + '\\n');`;
    assert.equal((await run(probe, true)).stdout.trim(), 'sync');
    assert.equal((await run(probe, false)).stdout.trim(), 'stream');
    const devNull = openSync('/dev/null', 'w');
    try {
      assert.equal(stdoutWriteMode(devNull), 'sync');
    } finally {
      closeSync(devNull);
    }
    assert.equal(stdoutWriteMode(987_654), 'async', 'an fd that is not open');
  });
});

describe('IsoTime', () => {
  const expected = (ms: number): string => `,"time":"${new Date(ms).toISOString()}"`;

  it("writes pino's time field exactly as toISOString does, across seconds, days and years", () => {
    const time = new IsoTime();
    const starts = [
      0, -1, -999, -1000, 1_700_000_000_999, 951_782_399_500, 253_402_300_799_000, -62_198_755_200_000,
    ];
    for (const start of starts) {
      // Every millisecond through two second boundaries, then the same ones again (cached).
      for (let ms = start - 1500; ms <= start + 1500; ms += 1) assert.equal(time.at(ms), expected(ms));
      for (let ms = start + 1500; ms >= start - 1500; ms -= 7) assert.equal(time.at(ms), expected(ms));
    }
    // Random instants over ±100,000 years, some far apart, some within one second.
    let seed = 12345;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31) * 2 - 1;
    for (let i = 0; i < 20_000; i += 1) {
      const ms = Math.round(random() * 3.1e15);
      assert.equal(time.at(ms), expected(ms));
      assert.equal(time.at(ms + 1), expected(ms + 1));
    }
  });

  it('falls back to toISOString for a fraction of a millisecond, without caching it', () => {
    const time = new IsoTime();
    assert.equal(time.at(1_700_000_000_123), expected(1_700_000_000_123));
    assert.equal(time.at(1_700_000_000_123.6), expected(1_700_000_000_123.6));
    assert.equal(time.at(1_700_000_000_124), expected(1_700_000_000_124));
  });
});
