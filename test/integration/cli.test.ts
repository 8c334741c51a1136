/**
 * The admin CLI as admins run it (a child process): `lint` on fixture directories and `explain`
 * against a live IdP (`--token`) and without one (`--claims`).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { LocalIdp } from '../../src/dev/local-idp.ts';
import type { ExplainResult } from '../../src/cli/explain.ts';
import { adlsPolicy, NODE, OTHER, policyDir, REPO, SPARK, startIdp } from '../fixtures/gateway-harness.ts';

const FIXTURES = join(REPO, 'test/fixtures/policies');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      NODE,
      [join(REPO, 'src/cli/main.ts'), ...args],
      { env: { PATH: process.env['PATH'] ?? '' } },
      (err, stdout, stderr) => {
        const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('connector-gateway lint', () => {
  it('exits 0 on valid policies, including the shipped example', async () => {
    const valid = await cli('lint', join(FIXTURES, 'valid'));
    assert.equal(valid.code, 0, valid.stdout + valid.stderr);
    assert.match(valid.stdout, /0 error\(s\)/);
    const shipped = await cli('lint', join(REPO, 'policies'));
    assert.equal(shipped.code, 0, shipped.stdout + shipped.stderr);
  });

  it('exits 1 with file:line:col: path: message for a typo', async () => {
    const res = await cli('lint', join(FIXTURES, 'invalid/unknown-key'));
    assert.equal(res.code, 1);
    assert.match(res.stdout, /policy\.yaml:\d+:\d+: routes\[\d+\]\.\S+: .*unknown/i);
  });

  it('reports JSON with --json and usage errors with exit 2', async () => {
    const res = await cli('lint', join(FIXTURES, 'invalid/duplicate-id'), '--json');
    assert.equal(res.code, 1);
    const body = JSON.parse(res.stdout) as { valid: boolean; diagnostics: { line: number; path: string }[] };
    assert.equal(body.valid, false);
    assert.ok(body.diagnostics.length > 0);
    assert.ok(body.diagnostics.every((d) => d.line > 0));
    const usage = await cli('lint');
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /expected exactly one directory/);
  });

  it('has --help on every command', async () => {
    for (const command of ['serve', 'lint', 'explain']) {
      const res = await cli(command, '--help');
      assert.equal(res.code, 0);
      assert.match(res.stdout, new RegExp(`Usage: connector-gateway ${command}`));
    }
    const serve = await cli('serve', '--help');
    assert.match(serve.stdout, /GATEWAY_TRUSTED_PROXIES/);
  });
});

describe('connector-gateway explain', () => {
  let idp: LocalIdp;
  let dir: string;
  let token: string;

  before(async () => {
    idp = await startIdp();
    dir = await policyDir({ 'adls.yaml': adlsPolicy(idp.issuer, 'http://127.0.0.1:9') });
    token = await idp.getToken(SPARK.clientId, SPARK.clientSecret, 'spark');
  });
  after(() => idp.close());

  const base = (): string[] => [
    'explain',
    '--policies',
    dir,
    '--method',
    'GET',
    '--path',
    '/connectors/adls/files',
  ];

  it('traces an accepted request with the signature verified against the live JWKS', async () => {
    const res = await cli(...base(), '--ip', '127.0.0.1', '--token', token);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /route/);
    assert.match(res.stdout, /^ok .*signature/m);
    assert.match(res.stdout, /decision: forward to http:\/\/127\.0\.0\.1:9\/api via route adls/);
    assert.ok(!res.stdout.includes(token), 'the token is never printed');
  });

  it('stops at the IP check and says why', async () => {
    const res = await cli(...base(), '--ip', '192.0.2.10', '--token', token, '--json');
    assert.equal(res.code, 1);
    const result = JSON.parse(res.stdout) as ExplainResult;
    assert.equal(result.forwarded, false);
    assert.equal(result.code, 'ip_forbidden');
    assert.equal(result.status, 403);
    assert.equal(result.route, 'adls');
    const ip = result.steps.find((s) => s.stage === 'ip');
    assert.equal(ip?.ok, false);
    assert.ok(
      !result.steps.some((s) => s.stage === 'token' && s.check === 'signature'),
      'no token check after a refusal',
    );
  });

  it('believes X-Forwarded-For only from a trusted proxy', async () => {
    const untrusted = await cli(
      ...base(),
      '--ip',
      '192.0.2.10',
      '--xff',
      '127.0.0.5',
      '--token',
      token,
      '--json',
    );
    assert.equal((JSON.parse(untrusted.stdout) as ExplainResult).code, 'ip_forbidden');
    const trusted = await cli(
      ...base(),
      '--ip',
      '192.0.2.10',
      '--xff',
      '127.0.0.5',
      '--trusted-proxies',
      '192.0.2.0/24',
      '--token',
      token,
      '--json',
    );
    assert.equal(trusted.code, 0, trusted.stdout);
  });

  it('refuses a token without the scope, naming the failed check', async () => {
    const other = await idp.getToken(OTHER.clientId, OTHER.clientSecret, 'reports');
    const res = await cli(...base(), '--ip', '127.0.0.1', '--token', other, '--json');
    assert.equal(res.code, 1);
    const result = JSON.parse(res.stdout) as ExplainResult;
    assert.equal(result.code, 'insufficient_scope');
    assert.ok(result.steps.some((s) => !s.ok && s.stage === 'claims'));
  });

  it('checks a claims file without a signature and says so', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claimsFile = join(dir, 'claims.json');
    await writeFile(
      claimsFile,
      JSON.stringify({
        iss: idp.issuer,
        aud: 'product-factory',
        scope: 'openid spark',
        sub: 'alice',
        iat: now,
        exp: now + 300,
      }),
    );
    const res = await cli(...base(), '--ip', '127.0.0.1', '--claims', claimsFile);
    assert.equal(res.code, 0, res.stdout + res.stderr);
    assert.match(res.stdout, /signature .*NOT CHECKED/);
    assert.match(res.stdout, /note: --claims given, the token signature was not checked/);

    await writeFile(
      claimsFile,
      JSON.stringify({ iss: idp.issuer, aud: 'someone-else', scope: 'spark', iat: now, exp: now + 300 }),
    );
    const wrongAud = await cli(...base(), '--ip', '127.0.0.1', '--claims', claimsFile, '--json');
    assert.equal(wrongAud.code, 1);
    assert.equal((JSON.parse(wrongAud.stdout) as ExplainResult).code, 'token_audience_invalid');
  });

  it('requires exactly one of --token and --claims', async () => {
    const res = await cli(...base(), '--ip', '127.0.0.1');
    assert.equal(res.code, 2);
    assert.match(res.stderr, /exactly one of --token or --claims/);
  });
});
