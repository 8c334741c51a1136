import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { pino } from 'pino';
import { createLogger, type Logger } from './logger.ts';
import { millis, requestLogWriter, type RequestLine } from './request-line.ts';

/** A destination keeping every write as it came. */
function capture(): { stream: Writable; writes: string[] } {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      writes.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, writes };
}

const FULL: RequestLine = {
  reqId: 'r-1',
  method: 'GET',
  path: '/api/v1/files/"quoted"\\back\u0001ctl/ünï/\u2028/\ud83d\ude00/\ud800',
  route: 'adls-read',
  decision: 'forwarded',
  reason: undefined,
  status: 200,
  ms: 3,
  upstreamMs: 1.234567,
  clientIp: '10.0.0.7',
  sub: 'service-account-spark',
  clientId: 'spark-client',
};

const REFUSED: RequestLine = {
  reqId: 'r-2',
  method: 'POST',
  path: undefined,
  route: undefined,
  decision: 'refused',
  reason: 'token_expired',
  status: 401,
  ms: 0,
  clientIp: '::1',
  sub: undefined,
  clientId: undefined,
};

/** What pino itself writes for the same line, and what the writer writes. */
async function both(
  line: RequestLine,
  level: 'info' | 'error',
  child?: Record<string, unknown>,
): Promise<[string, string]> {
  const viaPino = capture();
  const viaWriter = capture();
  // The same millisecond for both: the timestamp is cached per millisecond.
  const fixed = Date.now();
  const realNow = Date.now;
  Date.now = () => fixed;
  try {
    let a: Logger = createLogger({ level: 'info', destination: viaPino.stream });
    let b: Logger = createLogger({ level: 'info', destination: viaWriter.stream });
    if (child !== undefined) {
      a = a.child(child);
      b = b.child(child);
    }
    a[level](line, 'request');
    requestLogWriter(b)(level, line);
  } finally {
    Date.now = realNow;
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(viaPino.writes.length, 1);
  assert.equal(viaWriter.writes.length, 1);
  return [viaPino.writes[0] ?? '', viaWriter.writes[0] ?? ''];
}

function sameLine(pinoLine: string, writerLine: string): void {
  assert.ok(writerLine.endsWith('}\n'));
  const a = JSON.parse(pinoLine) as Record<string, unknown>;
  const b = JSON.parse(writerLine) as Record<string, unknown>;
  assert.deepEqual(b, a);
  assert.deepEqual(Object.keys(b), Object.keys(a), 'same key order');
}

describe('request line writer', () => {
  it('writes the line pino writes: escapes, unicode, floats, omitted undefined fields', async () => {
    const [a, b] = await both(FULL, 'info');
    sameLine(a, b);
    assert.match(b, /"decision":"forwarded"/);
    assert.doesNotMatch(b, /"reason"/);
  });

  it('escapes every string field as pino does, whatever it holds and wherever', async () => {
    // Each character JSON escapes (or must keep), at the start, middle and end of a field. A lone
    // surrogate is the one difference: pino writes it raw (it becomes U+FFFD in UTF-8, the
    // character is lost), the writer escapes it as JSON.stringify does, so it parses back.
    const awkward = [
      '"',
      '\\',
      '\u0000',
      '\u001f',
      '\n',
      '\ud83d\ude00',
      '\u2028',
      'ü',
      '\u007f',
      ' ',
      '\ud800',
      '\udfff',
    ];
    for (const c of awkward) {
      const lone = c.length === 1 && c >= '\ud800' && c <= '\udfff';
      for (const at of [
        (v: string) => c + v,
        (v: string) => v.slice(0, 2) + c + v.slice(2),
        (v: string) => v + c,
      ]) {
        const line: RequestLine = {
          ...FULL,
          reqId: at('r-1'),
          method: at('GET'),
          path: at('/p'),
          route: at('route'),
          reason: at('upstream_timeout'),
          clientIp: at('10.0.0.7'),
          sub: at('sub'),
          clientId: at('client'),
        };
        const [a, b] = await both(line, 'info');
        if (!lone) assert.equal(b, a, `the character ${JSON.stringify(c)}`);
        const parsed = JSON.parse(b) as Record<string, unknown>;
        for (const key of [
          'reqId',
          'method',
          'path',
          'route',
          'reason',
          'clientIp',
          'sub',
          'clientId',
        ] as const) {
          assert.equal(parsed[key], line[key], `${key} with ${JSON.stringify(c)} parses back`);
        }
      }
    }
  });

  it('escapes a field that alone needs it, whichever field that is', async () => {
    const keys = ['reqId', 'method', 'path', 'route', 'reason', 'clientIp', 'sub', 'clientId'] as const;
    for (const key of keys) {
      for (const c of ['"', '\\', '\n']) {
        // FULL's path needs escaping itself; here every other field is plain.
        const line: RequestLine = {
          ...FULL,
          path: '/api/v1/echo',
          reason: 'upstream_timeout',
          [key]: `a${c}b`,
        };
        const [a, b] = await both(line, 'info');
        assert.equal(b, a, `${key} holding ${JSON.stringify(c)}`);
      }
    }
  });

  it('writes every line of a sequence as pino does, as fields repeat, change and need escaping', async () => {
    // One writer for the whole sequence: it remembers the last plain value of each field, so a
    // repeat skips the test; a value needing escaping must never be taken for that repeat.
    const keys = ['method', 'path', 'route', 'reason', 'clientIp', 'sub', 'clientId'] as const;
    const viaPino = capture();
    const viaWriter = capture();
    const fixed = Date.now();
    const realNow = Date.now;
    Date.now = () => fixed;
    const lines: RequestLine[] = [];
    for (const key of keys) {
      for (const value of ['plain', 'plain', 'a"b', 'a"b', 'plain', 'other', 'a\\b', 'other']) {
        lines.push({ ...FULL, path: '/api/v1/echo', reason: 'upstream_timeout', [key]: value });
      }
    }
    try {
      const a = createLogger({ level: 'info', destination: viaPino.stream });
      const write = requestLogWriter(createLogger({ level: 'info', destination: viaWriter.stream }));
      for (const line of lines) {
        a.info(line, 'request');
        write('info', line);
      }
    } finally {
      Date.now = realNow;
    }
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(viaWriter.writes.length, lines.length);
    assert.deepEqual(viaWriter.writes, viaPino.writes);
  });

  it('matches pino for a refusal line and at level error', async () => {
    sameLine(...(await both(REFUSED, 'info')));
    sameLine(
      ...(await both({ ...REFUSED, status: 503, decision: 'failed', reason: 'issuer_unavailable' }, 'error')),
    );
  });

  it('carries a child logger’s bindings (the cluster workers’ pid and role)', async () => {
    const [a, b] = await both(FULL, 'info', { pid: 4242, role: 'worker' });
    sameLine(a, b);
    assert.match(b, /"pid":4242/);
  });

  it('writes status, ms and upstreamMs with exactly the digits pino writes', async () => {
    const cases: [number, number, number][] = [
      [200, 0, 0],
      [404, 7, 0.5],
      [502, 999, 12.05],
      [201, 1000, 999.999],
      [204, 65_432, 1000.001],
      [299, 3, 1.234567],
    ];
    for (const [status, ms, upstreamMs] of cases) {
      const [a, b] = await both({ ...FULL, status, ms, upstreamMs }, 'info');
      // Text, not parsed JSON: "1.50" and "1.5" parse alike.
      assert.equal(b.replace(/"time":"[^"]*"/, ''), a.replace(/"time":"[^"]*"/, ''));
    }
  });

  it('formats a duration like String() does, whatever the value', () => {
    const values = [0, -0, 0.001, 0.01, 0.1, 0.5, 1, 1.5, 2.05, 10.001, 999.999, 1000, 1000.5, 1e6 + 0.007];
    values.push(1.234567, -1, -0.5, 0.0005, 1e20, 8.5e12, 2 ** 53, Number.MAX_VALUE);
    // A fixed pseudo-random spread: microsecond-rounded durations and raw doubles.
    let seed = 42;
    for (let i = 0; i < 20_000; i++) {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      const raw = (seed / 2 ** 31) * [1, 5000, 1e7][i % 3]!;
      values.push(Math.round(raw * 1000) / 1000, raw);
    }
    for (const value of values) assert.equal(millis(value), String(value), `millis(${value})`);
  });

  it('writes non-finite numbers as null, like pino', async () => {
    sameLine(...(await both({ ...FULL, upstreamMs: Number.NaN }, 'info')));
  });

  it('hands a line with an error to pino, so the err serializer scrubs it', async () => {
    const out = capture();
    const logger = createLogger({ level: 'info', destination: out.stream });
    const token = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    requestLogWriter(logger)('error', {
      ...FULL,
      decision: 'failed',
      status: 502,
      err: new Error(`boom ${token}`),
    });
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.writes.length, 1);
    const line = JSON.parse(out.writes[0] ?? '') as { err?: { message?: string } };
    assert.equal(line.err?.message, 'boom [REDACTED]');
  });

  it('honours the level, also when it changes at run time', async () => {
    const out = capture();
    const logger = createLogger({ level: 'warn', destination: out.stream });
    const write = requestLogWriter(logger);
    write('info', FULL);
    logger.level = 'info';
    write('info', FULL);
    logger.level = 'silent';
    write('error', FULL);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(out.writes.length, 1);
  });

  it('goes through pino for a logger createLogger did not make (unknown options)', async () => {
    const out = capture();
    const logger = pino({ mixin: () => ({ extra: 1 }) }, out.stream);
    requestLogWriter(logger)('info', FULL);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal((JSON.parse(out.writes[0] ?? '') as { extra?: number }).extra, 1);
  });
});
