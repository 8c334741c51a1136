import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import type { CompiledRoute } from '../policy/route.ts';
import {
  buildClientResponseHeaders,
  buildUpstreamRequestHead,
  compileRequestHeaderPlan,
  type ForwardedFacts,
} from './upstream-headers.ts';
import { testRoute } from '../../test/fixtures/routes.ts';

// undici's table of header names it takes without checking them (./undici-header-names.ts).
const undiciKnownNames = (
  createRequire(import.meta.url)('undici/lib/core/constants.js') as {
    headerNameLowerCasedRecord: Record<string, string | undefined>;
  }
).headerNameLowerCasedRecord;

function route(
  overrides: Partial<Pick<CompiledRoute, 'forwardToken' | 'forwardClaims'>> = {},
  credentialHeader = 'X-Functions-Key',
): CompiledRoute {
  return testRoute({
    upstream: {
      credential: {
        type: 'apiKey',
        header: credentialHeader,
        secret: { kind: 'env', name: 'K', text: 'env:K' },
      },
    },
    forwardClaims: [{ claim: ['sub'], header: 'x-user' }],
    ...overrides,
  });
}

const facts: ForwardedFacts = {
  clientIp: '203.0.113.5',
  trustedPeer: false,
  proto: 'https',
  requestId: 'rid',
  claimHeaders: [['x-user', 'alice']],
};

/** Pairs of a flat header list, names lower-cased, for order-insensitive comparison. */
function pairs(flat: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flat.length; i += 2)
    out.push(`${(flat[i] as string).toLowerCase()}: ${flat[i + 1] as string}`);
  return out;
}

describe('compileRequestHeaderPlan', () => {
  it('drops hop-by-hop, host, authorization, credential, claims and gateway-set headers', () => {
    const plan = compileRequestHeaderPlan(route());
    for (const name of [
      'connection',
      'te',
      'host',
      'authorization',
      'x-functions-key',
      'x-user',
      'x-forwarded-for',
      'x-request-id',
      'forwarded',
      'expect',
    ]) {
      assert.ok(plan.drop.has(name), name);
    }
    assert.equal(plan.credentialHeader, 'x-functions-key');
  });

  it('keeps authorization with forwardToken', () => {
    assert.ok(!compileRequestHeaderPlan(route({ forwardToken: true })).drop.has('authorization'));
  });

  it('makes every name the gateway sets upstream known to undici (its check of each is a lookup)', () => {
    // Names no other test compiles, so nothing else can have registered them.
    compileRequestHeaderPlan(
      route({ forwardClaims: [{ claim: ['sub'], header: 'X-Plan-Test-User' }] }, 'X-Plan-Test-Key'),
    );
    for (const name of [
      'x-forwarded-for',
      'x-forwarded-proto',
      'x-forwarded-host',
      'x-request-id',
      'x-plan-test-key',
      'X-Plan-Test-Key',
      'x-plan-test-user',
    ]) {
      assert.equal(undiciKnownNames[name], name.toLowerCase(), name);
    }
  });
});

describe('buildUpstreamRequestHead', () => {
  const plan = compileRequestHeaderPlan(route());

  it('copies end-to-end headers in order and appends the gateway headers', () => {
    const head = buildUpstreamRequestHead(
      [
        'Host',
        'gw.example',
        'Accept',
        'a/b',
        'X-User',
        'mallory',
        'Authorization',
        'Bearer t',
        'Cookie',
        'c=1',
      ],
      plan,
      facts,
      '10.0.0.9',
      false,
    );
    assert.deepEqual(pairs(head.headers), [
      'accept: a/b',
      'cookie: c=1',
      'x-forwarded-for: 203.0.113.5',
      'x-forwarded-proto: https',
      'x-forwarded-host: gw.example',
      'x-request-id: rid',
      'x-user: alice',
    ]);
    assert.equal(head.contentLength, -1);
    assert.equal(head.chunked, false);
  });

  it('reports the framing and copies content-length only with a body', () => {
    const raw = ['Content-Length', '12', 'Transfer-Encoding', 'chunked'];
    const withBody = buildUpstreamRequestHead(raw, plan, facts, '10.0.0.9', true);
    assert.equal(withBody.contentLength, 12);
    assert.equal(withBody.chunked, true);
    assert.ok(pairs(withBody.headers).includes('content-length: 12'));
    assert.ok(!pairs(withBody.headers).some((p) => p.startsWith('transfer-encoding')));
    const without = buildUpstreamRequestHead(raw, plan, facts, '10.0.0.9', false);
    assert.ok(!pairs(without.headers).some((p) => p.startsWith('content-length')));
  });

  it('forwards nothing of a plain Connection: keep-alive, and still honours a second Connection line', () => {
    const plain = buildUpstreamRequestHead(
      ['Connection', 'Keep-Alive', 'X-A', '1'],
      plan,
      facts,
      '10.0.0.9',
      false,
    );
    assert.ok(pairs(plain.headers).includes('x-a: 1'));
    assert.ok(!pairs(plain.headers).some((p) => p.startsWith('connection')));
    const both = buildUpstreamRequestHead(
      ['Connection', 'keep-alive', 'connection', 'X-A', 'X-A', '1', 'X-B', '2'],
      plan,
      facts,
      '10.0.0.9',
      false,
    );
    assert.ok(!pairs(both.headers).includes('x-a: 1'));
    assert.ok(pairs(both.headers).includes('x-b: 2'));
  });

  it('removes fields named in Connection, but never content-length or what the gateway sets', () => {
    const head = buildUpstreamRequestHead(
      [
        'Connection',
        'X-A, content-length',
        'connection',
        'x-request-id, X-Forwarded-For, x-user',
        'X-A',
        '1',
        'X-B',
        '2',
        'Content-Length',
        '3',
      ],
      plan,
      facts,
      '10.0.0.9',
      true,
    );
    assert.deepEqual(pairs(head.headers), [
      'x-b: 2',
      'content-length: 3',
      'x-forwarded-for: 203.0.113.5',
      'x-forwarded-proto: https',
      'x-request-id: rid',
      'x-user: alice',
    ]);
  });

  it('replaces X-Forwarded-For from an untrusted peer and extends it from a trusted one', () => {
    const raw = ['X-Forwarded-For', '1.1.1.1', 'x-forwarded-for', '2.2.2.2'];
    const untrusted = buildUpstreamRequestHead(raw, plan, facts, '10.0.0.9', false);
    assert.ok(pairs(untrusted.headers).includes('x-forwarded-for: 203.0.113.5'));
    const trusted = buildUpstreamRequestHead(raw, plan, { ...facts, trustedPeer: true }, '10.0.0.9', false);
    assert.deepEqual(
      pairs(trusted.headers).filter((p) => p.startsWith('x-forwarded-for')),
      ['x-forwarded-for: 1.1.1.1, 2.2.2.2, 10.0.0.9'],
    );
    const trustedNoChain = buildUpstreamRequestHead(
      [],
      plan,
      { ...facts, trustedPeer: true },
      '10.0.0.9',
      false,
    );
    assert.ok(pairs(trustedNoChain.headers).includes('x-forwarded-for: 203.0.113.5'));
  });

  it('omits X-Forwarded-Host when the caller sent no Host', () => {
    const head = buildUpstreamRequestHead([], plan, facts, '10.0.0.9', false);
    assert.ok(!pairs(head.headers).some((p) => p.startsWith('x-forwarded-host')));
  });
});

describe('buildClientResponseHeaders', () => {
  it('drops hop-by-hop, Connection-named and credential headers, expands arrays', () => {
    const out = buildClientResponseHeaders(
      {
        connection: 'X-Hop, keep-alive',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'x-hop': 'internal',
        'x-functions-key': 'secret',
        'set-cookie': ['a=1', 'b=2'],
        'content-length': '10',
        'content-type': 'text/plain',
        'x-empty': undefined,
      },
      'x-functions-key',
    );
    assert.deepEqual(pairs(out), [
      'set-cookie: a=1',
      'set-cookie: b=2',
      'content-length: 10',
      'content-type: text/plain',
    ]);
  });

  it('relays the usual keep-alive answer without its hop-by-hop fields, and honours any other option', () => {
    const usual = { connection: 'Keep-Alive', 'keep-alive': 'timeout=5', 'x-trace': 't', date: 'd' };
    assert.deepEqual(pairs(buildClientResponseHeaders(usual, undefined)), ['x-trace: t', 'date: d']);
    const named = { ...usual, connection: 'keep-alive, x-trace' };
    assert.deepEqual(pairs(buildClientResponseHeaders(named, undefined)), ['date: d']);
  });

  it('never lets Connection remove content-length', () => {
    assert.deepEqual(
      pairs(buildClientResponseHeaders({ connection: 'content-length', 'content-length': '1' }, undefined)),
      ['content-length: 1'],
    );
  });
});
