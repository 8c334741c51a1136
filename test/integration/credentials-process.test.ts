/**
 * Upstream credentials in real child processes, configured only by environment variables: the
 * gateway (`serve`) and `connector-gateway check` reach the HTTPS Key Vault stand-in through
 * NODE_EXTRA_CA_CERTS and the App Service managed identity endpoint (IDENTITY_ENDPOINT,
 * IDENTITY_HEADER), and the local IdP for client credentials. A fresh process also means a fresh
 * managed identity token cache, so an identity endpoint failing at start is seen as such.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { LocalIdp } from '../../src/dev/local-idp.ts';
import { startLocalIdp } from '../../src/dev/local-idp.ts';
import { startAzureStandIns, type AzureStandIns } from '../fixtures/azure-standins.ts';
import { NODE, policyDir, REPO, spawnGateway, waitFor } from '../fixtures/gateway-harness.ts';
import { call, type ErrorJson } from '../fixtures/http-client.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';

const FUNCTION_KEY = 'fk-process-1d2e3f';
const CLIENT = { clientId: 'gateway-check', clientSecret: 'check-secret-2e3f4a', scope: 'fn' };

interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function cli(args: readonly string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [join(REPO, 'src/cli/main.ts'), ...args], {
      env: { PATH: process.env['PATH'] ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('credentials in child processes', () => {
  let azure: AzureStandIns;
  let idp: LocalIdp;
  let upstream: RecordingUpstream;

  before(async () => {
    azure = await startAzureStandIns();
    azure.vault.setSecret('fn-key', FUNCTION_KEY);
    idp = await startLocalIdp({ realm: 'check', clients: [CLIENT], audience: 'fn', scopes: ['fn'] });
    upstream = await RecordingUpstream.start((request) => {
      const key = request.headers['x-functions-key'];
      const auth = request.headers.authorization;
      const ok = key === FUNCTION_KEY || (typeof auth === 'string' && auth.startsWith('Bearer ey'));
      return ok ? { body: 'healthy' } : { status: 401, body: 'no' };
    });
  });

  after(async () => {
    await upstream.close();
    await idp.close();
    await azure.close();
  });

  function kvRoute(id: string, extra = ''): string {
    return `
  - id: ${id}
    match:
      pathPrefix: /${id}/
    anonymous: true
    upstream:
      url: ${upstream.origin}/api
      healthPath: /health
      credential:
        type: apiKey
        header: x-functions-key
        secret:
          ref: ${azure.vault.ref('fn-key')}
          refreshIntervalSeconds: 1
${extra}`;
  }

  it('serve: not ready while the identity endpoint fails at start, 503 with nothing sent upstream, then ready', async () => {
    const dir = await policyDir({ 'kv.yaml': `routes:${kvRoute('kv')}` });
    azure.identity.failWith(500);
    const gw = await spawnGateway(dir, azure.childEnv());
    try {
      await waitFor(
        () => gw.stdout.some((l) => l.includes('"outcome":"identity_unavailable"')),
        'a failed read',
        15_000,
      );
      const notReady = await call(gw.url, '/readyz');
      assert.equal(notReady.status, 503);
      const detail = notReady.json<{ credentials: Record<string, unknown>[] }>().credentials[0];
      assert.equal(detail?.['obtained'], false);
      assert.equal(detail?.['state'], 'failed');
      const seen = upstream.requests.length;
      const refused = await call(gw.url, '/kv/x');
      assert.equal(refused.status, 503);
      assert.equal(refused.json<ErrorJson>().error.code, 'upstream_credential_unavailable');
      assert.equal(upstream.requests.length, seen, 'the upstream received nothing');

      azure.identity.failWith(undefined);
      let ready = notReady;
      for (let i = 0; i < 150 && ready.status !== 200; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        ready = await call(gw.url, '/readyz');
      }
      assert.equal(ready.status, 200);
      assert.equal(
        ready.json<{ credentials: Record<string, unknown>[] }>().credentials[0]?.['state'],
        'authenticated',
      );
      const ok = await call(gw.url, '/kv/x');
      assert.equal(ok.status, 200);
      assert.equal(upstream.requests.at(-1)?.headers['x-functions-key'], FUNCTION_KEY);

      // Log lines reach stdout in batches (at most LOG_FLUSH_INTERVAL_MS late).
      await waitFor(
        () => gw.stdout.some((l) => /"action":"keyvault\.secret\.read".*"outcome":"ok"/.test(l)),
        'the audit line of the successful read',
        5_000,
      );
      const output = [...gw.stdout, ...gw.stderr].join('\n');
      assert.match(output, /"level":"warn".*CHALLENGE RESOURCE VERIFICATION IS DISABLED/);
      for (const value of [FUNCTION_KEY, azure.identity.identityHeader, ...azure.identity.issuedTokens()]) {
        assert.ok(!output.includes(value), 'a secret or token appears in the output');
        assert.ok(!notReady.text.includes(value) && !refused.text.includes(value));
      }
    } finally {
      azure.identity.failWith(undefined);
      gw.child.kill('SIGTERM');
      await gw.exited;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('check: obtains every credential, calls health paths, prints a table and exits 1 when one fails', async () => {
    const ccRoute = `
  - id: cc
    match:
      pathPrefix: /cc/
    anonymous: true
    upstream:
      url: ${upstream.origin}/api
      healthPath: /health
      credential:
        type: clientCredentials
        issuer: ${idp.issuer}
        clientId: ${CLIENT.clientId}
        clientSecret: env:CHECK_CLIENT_SECRET
        scope: fn
`;
    const missing = `
  - id: missing
    match:
      pathPrefix: /missing/
    anonymous: true
    upstream:
      url: ${upstream.origin}/api
      credential:
        type: bearer
        secret: env:NOT_SET_ANYWHERE
`;
    const dir = await policyDir({
      'a.yaml': `routes:${kvRoute('kv')}${ccRoute}`,
      'b.yaml': `routes:${missing}`,
    });
    const env = { ...azure.childEnv(), GATEWAY_POLICIES_DIR: dir, CHECK_CLIENT_SECRET: CLIENT.clientSecret };
    try {
      const healthBefore = upstream.requests.filter((r) => r.url === '/api/health').length;
      const failing = await cli(['check'], env);
      assert.equal(failing.code, 1, failing.stderr);
      const lines = failing.stdout.trim().split('\n');
      assert.match(lines[0] ?? '', /^ROUTE\s+CREDENTIAL\s+OUTCOME\s+EXPIRES\s+DETAIL$/);
      const row = (id: string): string => lines.find((l) => l.startsWith(`${id} `)) ?? '';
      assert.match(
        row('kv'),
        new RegExp(
          `apiKey ${escape(azure.vault.ref('fn-key'))}\\s+ok\\s+-\\s+credential obtained; GET /health answered 200`,
        ),
      );
      assert.match(
        row('cc'),
        /clientCredentials gateway-check@http:\/\/127\.0\.0\.1:\d+\/realms\/check\s+ok\s+\d{4}-\d\d-\d\dT\S+Z\s+credential obtained; GET \/health answered 200/,
      );
      assert.match(
        row('missing'),
        /bearer env:NOT_SET_ANYWHERE\s+failed\s+-\s+environment variable NOT_SET_ANYWHERE is not set/,
      );
      assert.match(lines.at(-1) ?? '', /^3 route\(s\): 1 failed$/);
      assert.equal(upstream.requests.filter((r) => r.url === '/api/health').length - healthBefore, 2);

      const json = await cli(['check', '--json', '--skip-health'], env);
      assert.equal(json.code, 1);
      const report = JSON.parse(json.stdout) as { passed: boolean; routes: Record<string, unknown>[] };
      assert.equal(report.passed, false);
      assert.deepEqual(
        report.routes.map((r) => [r['route'], r['type'], r['outcome'], r['state']]),
        [
          ['kv', 'apiKey', 'ok', 'authenticated'],
          ['cc', 'clientCredentials', 'ok', 'authenticated'],
          ['missing', 'bearer', 'failed', 'failed'],
        ],
      );
      assert.equal(typeof report.routes[0]?.['version'], 'string');

      const passing = await cli(['check', '--policies', dir, '--skip-health'], {
        ...env,
        NOT_SET_ANYWHERE: 'now-set-3f4a5b',
      });
      assert.equal(passing.code, 0, passing.stdout);
      assert.match(passing.stdout, /3 route\(s\): all passed/);

      for (const result of [failing, json, passing]) {
        const output = result.stdout + result.stderr;
        for (const value of [
          FUNCTION_KEY,
          CLIENT.clientSecret,
          'now-set-3f4a5b',
          ...azure.identity.issuedTokens(),
        ]) {
          assert.ok(!output.includes(value), 'check printed a secret or token');
        }
        assert.ok(!/Bearer ey/.test(output), 'check printed an access token');
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('check: GATEWAY_AZURE_CREDENTIAL=default reads the vault through DefaultAzureCredential', async () => {
    const dir = await policyDir({ 'kv.yaml': `routes:${kvRoute('kv')}` });
    try {
      const result = await cli(['check', '--json', '--skip-health'], {
        ...azure.childEnv(),
        GATEWAY_POLICIES_DIR: dir,
        GATEWAY_AZURE_CREDENTIAL: 'default',
      });
      assert.equal(result.code, 0, result.stdout + result.stderr);
      const report = JSON.parse(result.stdout) as { routes: Record<string, unknown>[] };
      assert.equal(report.routes[0]?.['outcome'], 'ok');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('check: --help, and usage errors exit 2', async () => {
    const help = await cli(['check', '--help'], {});
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: connector-gateway check/);
    assert.equal((await cli(['check', '--timeout-ms', 'soon'], {})).code, 2);
    assert.equal((await cli(['check', 'extra'], {})).code, 2);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
