/**
 * Behind a trusted proxy (an ingress controller on 127.0.0.1 here): the client IP the ipFilter
 * sees comes from X-Forwarded-For, the chain is kept and extended, and X-Forwarded-Proto from the
 * proxy is believed. The same headers from an untrusted peer change nothing.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';
import { policyDir, startTestGateway, type InProcessGateway } from '../fixtures/gateway-harness.ts';
import { call } from '../fixtures/http-client.ts';

const policy = (upstream: string): string => `routes:
  - id: partner
    anonymous: true
    match: { pathPrefix: /partner/ }
    ipFilter: { action: allow, addresses: [203.0.113.0/24] }
    upstream: { url: "${upstream}" }
  - id: open
    anonymous: true
    match: { pathPrefix: /open/ }
    upstream: { url: "${upstream}" }
`;

describe('client IP behind a trusted proxy', () => {
  let upstream: RecordingUpstream;
  let trusted: InProcessGateway;
  let untrusted: InProcessGateway;

  before(async () => {
    upstream = await RecordingUpstream.start(() => ({ body: 'ok' }));
    trusted = await startTestGateway(await policyDir({ 'p.yaml': policy(upstream.origin) }), {
      GATEWAY_TRUSTED_PROXIES: '127.0.0.0/8',
    });
    untrusted = await startTestGateway(await policyDir({ 'p.yaml': policy(upstream.origin) }));
  });

  after(async () => {
    await trusted.close();
    await untrusted.close();
    await upstream.close();
  });

  it('filters on the client named by the trusted proxy and keeps the chain', async () => {
    const res = await call(trusted.url, '/partner/x', {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    });
    assert.equal(res.status, 200);
    const seen = upstream.requests.at(-1);
    assert.deepEqual(seen?.all('x-forwarded-for'), ['203.0.113.7, 127.0.0.1']);
    assert.deepEqual(seen?.all('x-forwarded-proto'), ['https']);

    const outside = await call(trusted.url, '/partner/x', { headers: { 'x-forwarded-for': '198.51.100.1' } });
    assert.equal(outside.status, 403);
  });

  it('ignores X-Forwarded-For and X-Forwarded-Proto from an untrusted peer', async () => {
    const before = upstream.requests.length;
    const res = await call(untrusted.url, '/partner/x', {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    });
    assert.equal(res.status, 403, 'the peer 127.0.0.1 is what the filter sees');
    assert.equal(upstream.requests.length, before);
    const open = await call(untrusted.url, '/open/x', {
      headers: { 'x-forwarded-for': '203.0.113.7', 'x-forwarded-proto': 'https' },
    });
    assert.equal(open.status, 200);
    const seen = upstream.requests.at(-1);
    assert.deepEqual(seen?.all('x-forwarded-for'), ['127.0.0.1']);
    assert.deepEqual(seen?.all('x-forwarded-proto'), ['http']);
  });
});
