/**
 * 401-then-retry in the forwarder: when the upstream refuses the credential, a request without a
 * body (or with a small one, buffered for this) is retried once with a renewed credential — a new
 * Key Vault version, the previous one within its rotation grace period, or a fresh access token.
 * A streamed body, a body over the retry limit, or a credential that cannot be renewed gets the
 * upstream's 401 relayed as it came, after exactly one upstream request.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startLocalIdp, type LocalIdp } from '../../src/dev/local-idp.ts';
import { parseSecretRef } from '../../src/policy/compile.ts';
import type { CompiledRoute, CredentialSpec } from '../../src/policy/route.ts';
import { CredentialRegistry } from '../../src/upstream/credential-registry.ts';
import { startAzureStandIns, type AzureStandIns } from '../fixtures/azure-standins.ts';
import { ForwardHarness, makeRoute, send } from '../fixtures/forward-harness.ts';
import { waitFor } from '../fixtures/gateway-harness.ts';
import { RecordingUpstream, type RecordedRequest, type Reply } from '../fixtures/recording-upstream.ts';

describe('credential renewal after an upstream 401', () => {
  let azure: AzureStandIns;
  let idp: LocalIdp;
  let upstream: RecordingUpstream;
  /** Header values the upstream accepts; anything else gets 401 with a WWW-Authenticate. */
  let accepted = new Set<string>();
  const harnesses: ForwardHarness[] = [];

  /** The upstream: 200 (after reading the body) for an accepted key, else 401. */
  const byKey = async (request: RecordedRequest): Promise<Reply> => {
    await request.body;
    const value = request.headers['x-functions-key'] ?? request.headers.authorization;
    return typeof value === 'string' && accepted.has(value)
      ? { body: `ok after ${request.bodyBytes} bytes` }
      : { status: 401, headers: { 'www-authenticate': 'Key realm="fn"' }, body: 'key refused' };
  };

  before(async () => {
    azure = await startAzureStandIns();
    azure.useInProcess();
    idp = await startLocalIdp({
      realm: 'retry',
      clients: [{ clientId: 'gw', clientSecret: 'retry-secret-5e6f' }],
      audience: 'fn',
      scopes: ['fn'],
    });
    process.env['RETRY_CLIENT_SECRET'] = 'retry-secret-5e6f';
    process.env['RETRY_STATIC_KEY'] = 'static-key-6f7a';
    upstream = await RecordingUpstream.start(byKey);
  });

  after(async () => {
    for (const harness of harnesses) await harness.close();
    await upstream.close();
    await idp.close();
    await azure.close();
  });

  async function gatewayFor(
    credential: CredentialSpec,
  ): Promise<{ harness: ForwardHarness; route: CompiledRoute; registry: CredentialRegistry }> {
    const registry = new CredentialRegistry({
      keyVault: { credential: 'managed', disableChallengeResourceVerification: true },
      keyVaultRefreshSeconds: 300,
    });
    const route = makeRoute({ origin: upstream.origin, credential });
    registry.sync([route]);
    await waitFor(() => registry.ready([route]), 'credential obtained');
    const harness = await ForwardHarness.start({ route, credentials: registry });
    harnesses.push(harness);
    return { harness, route, registry };
  }

  const kvKey = (name: string): CredentialSpec => ({
    type: 'apiKey',
    header: 'x-functions-key',
    secret: parseSecretRef(azure.vault.ref(name)),
  });

  /** The x-functions-key values of the upstream requests since `from`. */
  function keysSince(from: number): unknown[] {
    return upstream.requests.slice(from).map((r) => r.headers['x-functions-key']);
  }

  it('retries a bodiless request once with the new Key Vault version when the upstream rotated first', async () => {
    azure.vault.setSecret('ahead', 'kv-old-1a2b');
    const { harness } = await gatewayFor(kvKey('ahead'));
    azure.vault.setSecret('ahead', 'kv-new-2b3c');
    accepted = new Set(['kv-new-2b3c']);
    const from = upstream.requests.length;
    const res = await send(harness.url, { path: '/files' });
    assert.equal(res.status, 200);
    assert.deepEqual(keysSince(from), ['kv-old-1a2b', 'kv-new-2b3c']);
  });

  it('retries a small POST with its whole body, buffered', async () => {
    azure.vault.setSecret('small-body', 'kv-body-old-3c4d');
    const { harness } = await gatewayFor(kvKey('small-body'));
    azure.vault.setSecret('small-body', 'kv-body-new-4d5e');
    accepted = new Set(['kv-body-new-4d5e']);
    const from = upstream.requests.length;
    const body = 'x'.repeat(1024);
    const res = await send(harness.url, {
      method: 'POST',
      path: '/upload',
      body,
      headers: { 'content-type': 'text/plain' },
    });
    assert.equal(res.status, 200);
    assert.equal(res.body, 'ok after 1024 bytes');
    const attempts = upstream.requests.slice(from);
    assert.deepEqual(keysSince(from), ['kv-body-old-3c4d', 'kv-body-new-4d5e']);
    assert.deepEqual(
      attempts.map((r) => r.bodyBytes),
      [1024, 1024],
    );
  });

  it('never retries a streamed (chunked) body or one over the retry limit: the 401 is relayed', async () => {
    azure.vault.setSecret('streamed', 'kv-stream-old-5e6f');
    const { harness } = await gatewayFor(kvKey('streamed'));
    azure.vault.setSecret('streamed', 'kv-stream-new-6f7a');
    accepted = new Set(['kv-stream-new-6f7a']);

    let from = upstream.requests.length;
    const chunked = await send(harness.url, {
      method: 'POST',
      path: '/stream',
      body: 'chunk',
      headers: { 'transfer-encoding': 'chunked' },
    });
    assert.equal(chunked.status, 401);
    assert.equal(chunked.body, 'key refused');
    assert.deepEqual(keysSince(from), ['kv-stream-old-5e6f']);

    from = upstream.requests.length;
    const large = await send(harness.url, { method: 'PUT', path: '/large', body: 'y'.repeat(70 * 1024) });
    assert.equal(large.status, 401);
    assert.deepEqual(keysSince(from), ['kv-stream-old-5e6f']);
  });

  it('retries with the previous value within the grace period when the upstream has not rotated yet', async () => {
    azure.vault.setSecret('behind', 'kv-behind-old-7a8b');
    const { harness, registry, route } = await gatewayFor(kvKey('behind'));
    azure.vault.setSecret('behind', 'kv-behind-new-8b9c');
    registry.forRoute(route)?.invalidate();
    await waitFor(
      () => registry.statusByRoute([route])[0]?.version !== undefined && lastRead('behind') === 'new',
      'new version read',
    );
    accepted = new Set(['kv-behind-old-7a8b']);
    const from = upstream.requests.length;
    const res = await send(harness.url, { path: '/lagging' });
    assert.equal(res.status, 200);
    assert.deepEqual(keysSince(from), ['kv-behind-new-8b9c', 'kv-behind-old-7a8b']);
  });

  /** Whether the vault served the newest version of `name` after the first read. */
  function lastRead(name: string): 'new' | 'old' {
    const reads = azure.vault.requests.filter((r) => r.path === `/secrets/${name}/` && r.status === 200);
    return reads.length >= 2 ? 'new' : 'old';
  }

  it('relays the 401 (body and headers) after one request when there is nothing to renew to', async () => {
    azure.vault.setSecret('unchanged', 'kv-same-9c0d');
    const kv = await gatewayFor(kvKey('unchanged'));
    const env = await gatewayFor({
      type: 'apiKey',
      header: 'x-functions-key',
      secret: { kind: 'env', name: 'RETRY_STATIC_KEY', text: 'env:RETRY_STATIC_KEY' },
    });
    accepted = new Set();
    for (const { harness } of [kv, env]) {
      const from = upstream.requests.length;
      const res = await send(harness.url, { path: '/refused' });
      assert.equal(res.status, 401);
      assert.equal(res.body, 'key refused');
      assert.equal(res.headers['www-authenticate'], 'Key realm="fn"');
      assert.equal(res.headers['x-functions-key'], undefined);
      assert.equal(upstream.requests.length - from, 1, 'exactly one upstream request');
    }
  });

  it('retries with a fresh access token when the upstream refuses the cached one', async () => {
    const { harness } = await gatewayFor({
      type: 'clientCredentials',
      header: 'authorization',
      tokenUrl: idp.tokenUrl,
      issuer: undefined,
      clientId: 'gw',
      authMethod: 'client_secret_basic',
      clientSecret: { kind: 'env', name: 'RETRY_CLIENT_SECRET', text: 'env:RETRY_CLIENT_SECRET' },
      privateKey: undefined,
      keyId: undefined,
      signingAlgorithm: 'RS256',
      scope: 'fn',
      audience: undefined,
      resource: undefined,
      refreshSkewSeconds: 60,
      timeoutMs: 5000,
    });
    idp.resetStats();
    // Accept any token but the one the gateway holds now (a token revoked at the resource).
    accepted = new Set();
    const from = upstream.requests.length;
    upstream.reply((request) => {
      const auth = request.headers.authorization;
      const first = upstream.requests[from]?.headers.authorization;
      return auth !== first ? { body: 'ok' } : { status: 401, body: 'token revoked' };
    });
    try {
      const res = await send(harness.url, { path: '/api' });
      assert.equal(res.status, 200);
      const tokens = upstream.requests.slice(from).map((r) => r.headers.authorization);
      assert.equal(tokens.length, 2);
      assert.notEqual(tokens[0], tokens[1]);
      assert.equal(idp.stats().token, 1, 'one new token for the retry');
    } finally {
      upstream.reply(byKey);
    }
  });
});
