import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { authorizationFields, requestIdOf } from './gateway-handler.ts';

function withHeaders(headers: Record<string, string>): IncomingMessage {
  return { headers } as unknown as IncomingMessage;
}

describe('request ids', () => {
  it('keeps a plain propagated X-Request-Id and replaces one that could forge log fields', () => {
    assert.equal(requestIdOf(withHeaders({ 'x-request-id': 'abc-123:x@y.z' })), 'abc-123:x@y.z');
    const forged = requestIdOf(withHeaders({ 'x-request-id': 'a","status":200,"x":"' }));
    assert.notEqual(forged, 'a","status":200,"x":"');
    assert.match(forged, /^[0-9a-f]{12}-[0-9a-z]+$/);
  });

  it('generates distinct ids within a process', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => requestIdOf(withHeaders({}))));
    assert.equal(ids.size, 10_000);
  });

  it('generates different ids in different processes (random prefix per process)', () => {
    const script =
      "import { requestIdOf } from './src/app/gateway-handler.ts'; process.stdout.write(requestIdOf({ headers: {} }));";
    const run = (): string =>
      execFileSync(process.execPath, ['--input-type=module', '-e', script], {
        cwd: new URL('../..', import.meta.url),
      }).toString();
    const [a, b] = [run(), run()];
    assert.match(a, /^[0-9a-f]{12}-1$/);
    assert.notEqual(a, b);
  });
});

describe('authorizationFields', () => {
  it('finds every Authorization field, whatever its case, as headersDistinct would', () => {
    assert.deepEqual(
      authorizationFields([
        'Host',
        'x',
        'authorization',
        'Bearer a',
        'X-Other',
        'y',
        'AUTHORIZATION',
        'Bearer b',
      ]),
      ['Bearer a', 'Bearer b'],
    );
    assert.equal(authorizationFields(['Host', 'x', 'Proxy-Authorization', 'Basic z']), undefined);
    assert.deepEqual(authorizationFields(['Authorization', '']), ['']);
  });
});
