/**
 * `keyvault:` upstream credentials end to end: a real gateway reads its upstream's API key from
 * the HTTPS Key Vault stand-in with the real SecretClient and ManagedIdentityCredential (App
 * Service managed identity form), configured only by environment variables and settings.
 * Covers the first read (challenge, token, audit), rotation under load with zero failed
 * requests, a vault that goes down (stale value served, logged once), disabled, expired and
 * not-yet-valid versions, throttling with Retry-After, the challenge domain check, and that no
 * secret or token appears in any log line or response body. (An identity endpoint failing at
 * start is in credentials-process.test.ts: MSAL caches managed identity tokens per process.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { parseSecretRef } from '../../src/policy/compile.ts';
import { CredentialRegistry } from '../../src/upstream/credential-registry.ts';
import { startAzureStandIns, type AzureStandIns } from '../fixtures/azure-standins.ts';
import { policyDir, startTestGateway, waitFor, type InProcessGateway } from '../fixtures/gateway-harness.ts';
import { call, type ErrorJson } from '../fixtures/http-client.ts';
import { makeRoute } from '../fixtures/forward-harness.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

type KvGateway = InProcessGateway;

/** Every secret value and token of this file, to search the logs and bodies for at the end. */
const SECRETS = new Set<string>();
const ALL_LOGS: string[] = [];
const BODIES: string[] = [];

function secret(value: string): string {
  SECRETS.add(value);
  return value;
}

/** An anonymous route /kv/ → upstream, sending the Key Vault secret as x-functions-key. */
function kvPolicy(upstream: string, ref: string, refreshIntervalSeconds?: number): string {
  const secretLine =
    refreshIntervalSeconds === undefined
      ? `secret: ${ref}`
      : `secret:\n          ref: ${ref}\n          refreshIntervalSeconds: ${refreshIntervalSeconds}`;
  return `routes:
  - id: kv
    match:
      pathPrefix: /kv/
    anonymous: true
    upstream:
      url: ${upstream}
      credential:
        type: apiKey
        header: x-functions-key
        ${secretLine}
`;
}

describe('keyvault: credentials through a running gateway', () => {
  let azure: AzureStandIns;
  let upstream: RecordingUpstream;
  /** The keys the upstream accepts; anything else gets 401. */
  let accepted = new Set<string>();

  before(async () => {
    azure = await startAzureStandIns();
    azure.useInProcess();
    upstream = await RecordingUpstream.start((request) => {
      const key = request.headers['x-functions-key'];
      return typeof key === 'string' && accepted.has(key) ? { body: 'ok' } : { status: 401, body: 'bad key' };
    });
  });

  after(async () => {
    await upstream.close();
    for (const token of azure.identity.issuedTokens()) SECRETS.add(token);
    await azure.close();
    // The gateway logs audit events, warnings and request lines; none may carry a value.
    assert.ok(ALL_LOGS.length > 50, 'logs were captured');
    for (const value of SECRETS) {
      const line = ALL_LOGS.find((l) => l.includes(value));
      assert.equal(line, undefined, 'a secret or token appears in a log line');
      assert.ok(!BODIES.some((b) => b.includes(value)), 'a secret or token appears in a response body');
    }
  });

  /** Starts an in-process gateway with the stand-in's settings; `ready` waits for /readyz. */
  async function start(
    policy: string,
    settings: Record<string, string> = {},
    ready = true,
  ): Promise<KvGateway> {
    return startTestGateway(
      await policyDir({ 'kv.yaml': policy }),
      { ...azure.settings, ...settings },
      { waitReady: ready, onLog: (line) => ALL_LOGS.push(line) },
    );
  }

  async function get(gw: KvGateway, path = '/kv/x'): Promise<{ status: number; code?: string }> {
    const res = await call(gw.url, path);
    BODIES.push(res.text);
    return res.status === 200
      ? { status: 200 }
      : { status: res.status, code: res.json<ErrorJson>().error.code };
  }

  function lastKey(): string | undefined {
    const key = upstream.requests.at(-1)?.headers['x-functions-key'];
    return typeof key === 'string' ? key : undefined;
  }

  function parsed(logs: readonly string[]): Record<string, unknown>[] {
    return logs.map((line) => JSON.parse(line) as Record<string, unknown>);
  }

  it('reads the secret at start through the challenge and the managed identity, and audits the read', async () => {
    const value = secret('fk-first-5d1f0c');
    const version = azure.vault.setSecret('first-read', value);
    accepted = new Set([value]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('first-read')));
    try {
      assert.deepEqual(await get(gw), { status: 200 });
      assert.equal(lastKey(), value);
      assert.equal(upstream.requests.at(-1)?.url, '/api/kv/x');

      // The SDK's first request carried no token and got the challenge; then a token for the vault.
      const reads = azure.vault.requests.filter((r) => r.path === '/secrets/first-read/');
      assert.ok(reads.length >= 2);
      assert.equal(reads[0]?.status, 401);
      assert.ok(reads.every((r) => r.apiVersion !== null && r.apiVersion !== ''));
      assert.ok(reads.some((r) => r.status === 200 && r.authorized));
      assert.ok(
        azure.identity.requests.some(
          (r) =>
            r.resource === 'https://vault.azure.net' && r.apiVersion === '2019-08-01' && r.status === 200,
        ),
      );

      const audit = parsed(gw.logs).find((l) => l['action'] === 'keyvault.secret.read');
      assert.ok(audit !== undefined);
      assert.equal(audit['event'], 'audit');
      assert.equal(audit['source'], azure.vault.ref('first-read'));
      assert.equal(audit['version'], version);
      assert.equal(audit['outcome'], 'ok');
      assert.equal(typeof audit['durationMs'], 'number');
      assert.ok(
        gw.logs.some(
          (l) => l.includes('CHALLENGE RESOURCE VERIFICATION IS DISABLED') && l.includes('"warn"'),
        ),
      );

      const ready = await call(gw.url, '/readyz');
      BODIES.push(ready.text);
      const detail = ready.json<{ credentials: Record<string, unknown>[] }>().credentials[0];
      assert.equal(ready.status, 200);
      assert.equal(detail?.['route'], 'kv');
      assert.equal(detail?.['state'], 'authenticated');
      assert.equal(detail?.['version'], version);
      assert.equal(detail?.['source'], azure.vault.ref('first-read'));
      assert.equal(typeof detail?.['lastCheckAt'], 'string');
    } finally {
      await gw.close();
    }
  });

  it('picks up a new version under load without a restart and without one failed request', async () => {
    const v1 = secret('fk-rotate-old-81aa');
    const v2 = secret('fk-rotate-new-93bb');
    azure.vault.setSecret('rotating', v1);
    accepted = new Set([v1, v2]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('rotating'), 1));
    try {
      const statuses: number[] = [];
      const keys: (string | undefined)[] = [];
      let rotated = false;
      let sinceRotation = 0;
      const deadline = Date.now() + 15_000;
      const worker = async (): Promise<void> => {
        while ((statuses.length < 300 || sinceRotation < 30) && Date.now() < deadline) {
          if (!rotated && statuses.length >= 60) {
            rotated = true;
            azure.vault.setSecret('rotating', v2);
          }
          const res = await call(gw.url, '/kv/load');
          statuses.push(res.status);
          keys.push(lastKey());
          if (lastKey() === v2) sinceRotation++;
        }
      };
      await Promise.all(Array.from({ length: 8 }, worker));
      assert.ok(statuses.length >= 300);
      assert.deepEqual(
        statuses.filter((s) => s !== 200),
        [],
        'every request succeeded',
      );
      assert.ok(keys.includes(v1) && keys.includes(v2), 'both versions were used');
      assert.equal(lastKey(), v2);
      assert.ok(gw.logs.some((l) => l.includes('a new Key Vault secret version is in use')));
    } finally {
      await gw.close();
    }
  });

  it('keeps serving the last good value while the vault is down, logging the failure once', async () => {
    const value = secret('fk-stale-4c2e');
    azure.vault.setSecret('stale', value);
    accepted = new Set([value]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('stale'), 1));
    try {
      await azure.vault.stop();
      const failedReads = (): number =>
        parsed(gw.logs).filter((l) => l['action'] === 'keyvault.secret.read' && l['outcome'] !== 'ok').length;
      await waitFor(() => failedReads() >= 3, 'three failed reads', 15_000);
      for (let i = 0; i < 5; i++) assert.deepEqual(await get(gw), { status: 200 });
      assert.equal(lastKey(), value);
      const warnings = parsed(gw.logs).filter(
        (l) => l['msg'] === 'Key Vault secret read failed; serving the last good value',
      );
      assert.equal(warnings.length, 1, 'one warning per failure streak');
      assert.equal(warnings[0]?.['servingLastGoodValue'], true);

      const ready = await call(gw.url, '/readyz');
      BODIES.push(ready.text);
      assert.equal(ready.status, 200, 'a credential obtained once keeps the gateway ready');
      const detail = ready.json<{ credentials: Record<string, unknown>[] }>().credentials[0];
      assert.equal(detail?.['state'], 'failed');
      assert.equal(detail?.['available'], true);

      await azure.vault.start();
      await waitFor(
        () => gw.logs.some((l) => l.includes('Key Vault secret read recovered')),
        'recovery',
        15_000,
      );
      assert.equal(gw.gateway.readiness()['credentials'] instanceof Array, true);
    } finally {
      await azure.vault.start();
      await gw.close();
    }
  });

  it('stops using a version that gets disabled: 503 and the upstream receives nothing', async () => {
    const value = secret('fk-disabled-77d0');
    const version = azure.vault.setSecret('disabled', value);
    accepted = new Set([value]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('disabled'), 1));
    try {
      assert.deepEqual(await get(gw), { status: 200 });
      azure.vault.updateSecret('disabled', version, { enabled: false });
      await waitFor(
        () =>
          parsed(gw.logs).some((l) => l['action'] === 'keyvault.secret.read' && l['outcome'] === 'disabled'),
        'a read that finds the version disabled',
      );
      const seen = upstream.requests.length;
      assert.deepEqual(await get(gw), { status: 503, code: 'upstream_credential_unavailable' });
      assert.equal(upstream.requests.length, seen, 'the upstream received nothing');
      assert.ok(gw.logs.some((l) => l.includes('"warn"') && l.includes('the secret version is disabled')));

      azure.vault.updateSecret('disabled', version, { enabled: true });
      await waitFor(
        () => gw.gateway.readiness()['credentials'] !== undefined && lastStatus(gw) === 'authenticated',
        're-enabled',
      );
      assert.deepEqual(await get(gw), { status: 200 });
    } finally {
      await gw.close();
    }
  });

  function lastStatus(gw: KvGateway): unknown {
    const credentials = gw.gateway.readiness()['credentials'] as Record<string, unknown>[];
    return credentials[0]?.['state'];
  }

  it('passes over a latest version that is disabled or not yet valid for the newest usable one (versions listing with nextLink)', async () => {
    const old = secret('fk-older-0a9c');
    const good = secret('fk-good-1b8d');
    azure.vault.setSecret('fallback', old);
    const goodVersion = azure.vault.setSecret('fallback', good);
    const disabled = azure.vault.setSecret('fallback', secret('fk-latest-disabled-2c7e'), { enabled: false });
    accepted = new Set([good]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('fallback'), 1));
    try {
      assert.deepEqual(await get(gw), { status: 200 });
      assert.equal(lastKey(), good);
      const listing = azure.vault.requests.filter(
        (r) => r.path === '/secrets/fallback/versions' && r.status === 200,
      );
      assert.ok(
        listing.some((r) => r.search.includes('$skiptoken=')),
        'followed nextLink',
      );
      assert.ok(
        gw.logs.some((l) => l.includes('using the newest usable older version') && l.includes(goodVersion)),
      );
      assert.equal(lastStatus(gw), 'authenticated');

      // A version staged for later (nbf tomorrow) is not used before its time either.
      azure.vault.updateSecret('fallback', disabled, {
        enabled: true,
        nbf: new Date(Date.now() + 86_400_000),
      });
      await waitFor(
        () => gw.logs.some((l) => l.includes('not valid before')),
        'a read that finds the latest version not yet valid',
      );
      assert.deepEqual(await get(gw), { status: 200 });
      assert.equal(lastKey(), good);
    } finally {
      await gw.close();
    }
  });

  it('never uses an expired version, drops the one in use when its exp passes, and flags one expiring soon', async () => {
    azure.vault.setSecret('expired', secret('fk-expired-3d6f'), { exp: new Date(Date.now() - 60_000) });
    const registry = new CredentialRegistry({
      keyVault: { credential: 'managed', disableChallengeResourceVerification: true },
    });
    const expired = makeRoute({
      origin: upstream.origin,
      credential: {
        type: 'apiKey',
        header: 'x-functions-key',
        secret: parseSecretRef(azure.vault.ref('expired')),
      },
    });
    try {
      await assert.rejects(registry.forRoute(expired)?.value() ?? Promise.resolve(), {
        code: 'upstream_credential_unavailable',
      });
      assert.equal(registry.ready([expired]), false, 'never obtained: not ready');
      assert.match(registry.statusByRoute([expired])[0]?.reason ?? '', /expired at .* \(exp\)/);
    } finally {
      registry.close();
    }

    const soon = secret('fk-exp-soon-4e5a');
    // Key Vault keeps exp in whole seconds: this version expires 3-4 s from now.
    const exp = new Date(Date.now() + 4000);
    azure.vault.setSecret('exp-soon', soon, { exp });
    const week = secret('fk-exp-week-5f4b');
    azure.vault.setSecret('exp-week', week, { exp: new Date(Date.now() + 3 * 86_400_000) });
    accepted = new Set([soon, week]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('exp-soon')));
    try {
      assert.deepEqual(await get(gw), { status: 200 });
      assert.equal(lastKey(), soon);
      const expiresAt = Math.floor(exp.getTime() / 1000) * 1000;
      await new Promise((resolve) => setTimeout(resolve, expiresAt - Date.now() + 100));
      assert.deepEqual(await get(gw), { status: 503, code: 'upstream_credential_unavailable' });
    } finally {
      await gw.close();
    }

    const gw2 = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('exp-week')));
    try {
      assert.deepEqual(await get(gw2), { status: 200 });
      const detail = (gw2.gateway.readiness()['credentials'] as Record<string, unknown>[])[0];
      assert.equal(detail?.['state'], 'expiring');
      assert.equal(typeof detail?.['expiresAt'], 'string');
      assert.ok(gw2.logs.some((l) => l.includes('"warn"') && l.includes('expires soon')));
    } finally {
      await gw2.close();
    }
  });

  it('honours Retry-After when the vault throttles, serving the cached value meanwhile', async () => {
    const value = secret('fk-throttled-6a3c');
    azure.vault.setSecret('throttled', value);
    accepted = new Set([value]);
    const gw = await start(kvPolicy(`${upstream.origin}/api`, azure.vault.ref('throttled'), 1));
    try {
      azure.vault.failWith({ status: 429, retryAfterSeconds: 2 });
      const throttled = (): typeof azure.vault.requests =>
        azure.vault.requests.filter((r) => r.path === '/secrets/throttled/' && r.status === 429);
      await waitFor(() => throttled().length >= 2, 'two throttled reads', 15_000);
      azure.vault.failWith(undefined);
      const [first, second] = throttled();
      assert.ok(first !== undefined && second !== undefined);
      // The regular interval is 1 s and the backoff is capped by it: only Retry-After explains 2 s.
      assert.ok(second.at - first.at >= 1900, `retried after ${second.at - first.at} ms`);
      assert.deepEqual(await get(gw), { status: 200 });
      assert.equal(lastKey(), value);
      const warning = parsed(gw.logs).find((l) => l['outcome'] === 'throttled' && l['level'] === 'warn');
      assert.equal(warning?.['status'], 429);
    } finally {
      azure.vault.failWith(undefined);
      await gw.close();
    }
  });

  it("refuses a challenge naming another domain unless verification is disabled (the SDK's default)", async () => {
    azure.vault.setSecret('verified', secret('fk-verified-8c1e'));
    const registry = new CredentialRegistry({
      keyVault: { credential: 'managed', disableChallengeResourceVerification: false },
    });
    const route = makeRoute({
      origin: upstream.origin,
      credential: {
        type: 'apiKey',
        header: 'x-functions-key',
        secret: parseSecretRef(azure.vault.ref('verified')),
      },
    });
    try {
      await assert.rejects(registry.forRoute(route)?.value() ?? Promise.resolve(), {
        code: 'upstream_credential_unavailable',
      });
      assert.match(registry.statusByRoute([route])[0]?.reason ?? '', /does not match the requested domain/);
    } finally {
      registry.close();
    }
  });
});
