import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger, scrubSecrets } from './logger.ts';

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
