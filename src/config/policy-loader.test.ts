import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigError } from '../errors.ts';
import { formatDiagnostic, lintPolicies, loadPolicies } from './policy-loader.ts';

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/policies/', import.meta.url));
const EXAMPLE = fileURLToPath(new URL('../../policies/', import.meta.url));
const DEFAULTS = { upstreamTimeoutMs: 30_000, upstreamConnectTimeoutMs: 5_000 };

/** Diagnostics as `file:line:col: path: message` with the fixture root removed. */
async function lint(dir: string): Promise<string[]> {
  const result = await lintPolicies(join(FIXTURES, dir));
  return result.diagnostics.map((d) => formatDiagnostic(d).replaceAll(FIXTURES, ''));
}

/** Only the errors. */
async function errors(dir: string): Promise<string[]> {
  return (await lint(dir)).filter((line) => !line.includes(': warning: '));
}

describe('policy loader errors name file, line, column, field path and what was expected', () => {
  it('unknown keys, with did-you-mean', async () => {
    assert.deepEqual(await errors('invalid/unknown-key'), [
      'invalid/unknown-key/policy.yaml:5:7: routes[0].match.methds: unknown key "methds"; did you mean "methods"?',
      'invalid/unknown-key/policy.yaml:11:5: routes[0].forwardclaims: unknown key "forwardclaims"; did you mean "forwardClaims"?',
    ]);
  });

  it('wrong types and out-of-range numbers', async () => {
    assert.deepEqual(await errors('invalid/wrong-type'), [
      'invalid/wrong-type/policy.yaml:5:16: routes[0].match.methods: expected a list, got "GET"',
      'invalid/wrong-type/policy.yaml:9:25: routes[0].validateJwt.clockSkewSeconds: must be at most 300, got 900',
      'invalid/wrong-type/policy.yaml:12:18: routes[0].upstream.timeoutMs: expected a number, got "30s"',
    ]);
  });

  it('a route without validateJwt and without anonymous: true (reported at the route mapping)', async () => {
    assert.deepEqual(await errors('invalid/missing-validate-jwt'), [
      'invalid/missing-validate-jwt/policy.yaml:2:5: routes[0].validateJwt: required: every route validates a token unless it says anonymous: true',
    ]);
  });

  it('validateJwt together with anonymous: true', async () => {
    assert.deepEqual(await errors('invalid/jwt-and-anonymous'), [
      'invalid/jwt-and-anonymous/policy.yaml:5:16: routes[0].anonymous: anonymous: true and validateJwt are exclusive',
    ]);
  });

  it('alg none and HS256 are refused, saying they can never be enabled', async () => {
    assert.deepEqual(await errors('invalid/forbidden-algorithms'), [
      'invalid/forbidden-algorithms/policy.yaml:8:27: routes[0].validateJwt.algorithms[1]: "none" (unsigned tokens) can never be enabled: anyone could forge a token',
      'invalid/forbidden-algorithms/policy.yaml:8:33: routes[0].validateJwt.algorithms[2]: "HS256" can never be enabled: HMAC algorithms use a shared secret, and accepting them invites key-confusion forgeries with the issuer\'s public key',
    ]);
  });

  it('no audiences without anyAudience: true', async () => {
    assert.deepEqual(await errors('invalid/no-audiences'), [
      'invalid/no-audiences/policy.yaml:6:7: routes[0].validateJwt.audiences: required: the accepted audiences (or anyAudience: true, which accepts tokens for any client)',
    ]);
  });

  it('bad CIDRs, ranges and addresses', async () => {
    assert.deepEqual(await errors('invalid/bad-addresses'), [
      'invalid/bad-addresses/policy.yaml:8:11: routes[0].ipFilter.addresses[0]: "10.0.0.1/8" has host bits set; did you mean 10.0.0.0/8?',
      'invalid/bad-addresses/policy.yaml:9:11: routes[0].ipFilter.addresses[1]: "10.0.0.0/33": the prefix length must be 0..32',
      'invalid/bad-addresses/policy.yaml:10:11: routes[0].ipFilter.addresses[2]: from (10.0.0.9) is greater than to (10.0.0.1)',
      'invalid/bad-addresses/policy.yaml:11:11: routes[0].ipFilter.addresses[3]: from and to must be the same IP family',
      'invalid/bad-addresses/policy.yaml:12:11: routes[0].ipFilter.addresses[4]: "fe80::1%eth0" has a zone id; write the address without %zone',
      'invalid/bad-addresses/policy.yaml:13:11: routes[0].ipFilter.addresses[5]: "not-an-ip" is not an IPv4 or IPv6 address',
    ]);
  });

  it('a secret reference that is not env: or file: (without echoing it)', async () => {
    const lines = await errors('invalid/bad-secret-ref');
    assert.deepEqual(lines, [
      'invalid/bad-secret-ref/policy.yaml:11:17: routes[0].upstream.credential.secret: expected a secret reference env:NAME, file:/absolute/path or keyvault:https://<vault>/secrets/<name> (never the secret itself)',
    ]);
    assert.ok(!lines.join('\n').includes('s3cr3t'));
  });

  it('keyvault: references and client credentials fields, each error at its field', async () => {
    const at = 'invalid/bad-credentials/policy.yaml';
    assert.deepEqual(await errors('invalid/bad-credentials'), [
      `${at}:11:17: routes[0].upstream.credential.secret: the Key Vault URL must use https`,
      `${at}:21:16: routes[1].upstream.credential.secret.ref: expected https://<vault>/secrets/<name> or https://<vault>/secrets/<name>/<version>`,
      `${at}:22:35: routes[1].upstream.credential.secret.refreshIntervalSeconds: must be at least 1, got 0`,
      `${at}:31:19: routes[2].upstream.credential.clientId: applies to type clientCredentials only`,
      `${at}:34:35: routes[2].upstream.credential.secret.refreshIntervalSeconds: applies to keyvault: references only (file: secrets are watched, env: is read once)`,
      `${at}:46:21: routes[3].upstream.credential.authMethod: expected one of "client_secret_basic", "client_secret_post", "private_key_jwt"; got "client_secret_jwt"`,
      `${at}:47:16: routes[3].upstream.credential.scope: expected scope tokens separated by spaces (printable ASCII, no quotes or backslashes; RFC 6749 §3.3)`,
      `${at}:55:9: routes[4].upstream.credential.tokenUrl: required: the token endpoint (or issuer, to find it by discovery)`,
      `${at}:55:9: routes[4].upstream.credential.privateKey: required for authMethod private_key_jwt: a secret reference of the signing key`,
      `${at}:58:23: routes[4].upstream.credential.clientSecret: not used by authMethod private_key_jwt (it signs with privateKey)`,
    ]);
  });

  it('invalid and reserved header names', async () => {
    assert.deepEqual(await errors('invalid/bad-header-name'), [
      'invalid/bad-header-name/policy.yaml:12:17: routes[0].upstream.credential.header: "x functions key" is not a valid header name (RFC 9110 §5.1)',
      'invalid/bad-header-name/policy.yaml:15:12: routes[0].forwardClaims.sub: transfer-encoding is managed by the gateway or hop-by-hop (RFC 9110 §7.6.1) and cannot be set',
    ]);
  });

  it('a route id used twice across files names both places', async () => {
    assert.deepEqual(await errors('invalid/duplicate-id'), [
      `invalid/duplicate-id/b.yaml:8:9: routes[1].id: duplicate route id "adls"; first defined at invalid/duplicate-id/a.yaml:2:9`,
    ]);
  });

  it('ambiguous routes name both routes, across files and within one', async () => {
    assert.deepEqual(await errors('invalid/ambiguous'), [
      'invalid/ambiguous/b.yaml:4:7: routes[0].match: route "adls-post" is ambiguous with route "adls-get" at invalid/ambiguous/a.yaml:4:7: both match POST on pathPrefix /connectors/adls',
      'invalid/ambiguous/b.yaml:17:7: routes[2].match: route "status-b" is ambiguous with route "status-a" at invalid/ambiguous/b.yaml:11:7: both match any method on pattern /connectors/adls/*',
    ]);
  });

  it('YAML syntax errors and duplicate keys, with their position', async () => {
    // Written at test time: a file that does not parse would also break `prettier --check`.
    const dir = await mkdtemp(join(tmpdir(), 'policies-'));
    try {
      const broken =
        'routes:\n  - id: broken\n    match:\n      pathPrefix: /connectors/adls/\n     methods: [GET]\n';
      await writeFile(join(dir, 'policy.yaml'), broken);
      await writeFile(join(dir, 'tabs.yaml'), 'routes:\n\t- id: tabs\n');
      const result = await lintPolicies(dir);
      assert.deepEqual(
        result.diagnostics.map((d) => formatDiagnostic(d).replace(dir, 'dir')),
        [
          'dir/policy.yaml:5:1: YAML: All mapping items must start at the same column',
          'dir/tabs.yaml:2:1: YAML: Tabs are not allowed as indentation',
        ],
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.deepEqual(await errors('invalid/duplicate-key'), [
      'invalid/duplicate-key/policy.yaml:8:5: YAML: Map keys must be unique',
    ]);
  });

  it('exclusive match fields, and a stripPrefix that is not a segment prefix of the path', async () => {
    assert.deepEqual(await errors('invalid/exclusive-paths'), [
      'invalid/exclusive-paths/policy.yaml:5:19: routes[0].match.pathPrefix: path and pathPrefix are exclusive; give exactly one of path, pathPrefix or pattern',
      "invalid/exclusive-paths/policy.yaml:9:20: routes[0].upstream.stripPrefix: must be a prefix (on a segment boundary) of the route's literal path /connectors/adls",
    ]);
  });

  it('a missing key is reported at its parent mapping', async () => {
    assert.deepEqual(await errors('invalid/missing-upstream'), [
      'invalid/missing-upstream/policy.yaml:2:5: routes[0].upstream: required key is missing (expected a mapping)',
    ]);
  });

  it('a directory without policy files, or without the directory, is an error', async () => {
    assert.deepEqual(await errors('invalid/no-policy-files'), [
      'invalid/no-policy-files: no policy files (*.yaml, *.yml): a gateway without routes refuses every request',
    ]);
    assert.deepEqual(await errors('invalid/does-not-exist'), [
      'invalid/does-not-exist: policy directory does not exist',
    ]);
    assert.deepEqual(await errors('valid/README.md'), [
      'valid/README.md: policy directory is not a directory',
    ]);
  });

  it('loadPolicies throws ConfigError with every error as a problem line', async () => {
    await assert.rejects(
      loadPolicies(join(FIXTURES, 'invalid/bad-addresses'), DEFAULTS),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.equal(error.problems.length, 6);
        assert.match(error.problems[0] ?? '', /policy\.yaml:8:11: routes\[0\]\.ipFilter\.addresses\[0\]: /);
        return true;
      },
    );
    await assert.rejects(loadPolicies(join(FIXTURES, 'invalid/no-policy-files'), DEFAULTS), ConfigError);
  });
});

describe('policy loader: upstream credentials', () => {
  it('compiles keyvault: references and client credentials with their defaults', async () => {
    const set = await loadPolicies(join(FIXTURES, 'credentials'), DEFAULTS);
    const [versionless, pinned, entra, keycloak] = set.routes.map((r) => r.upstream);
    assert.deepEqual(versionless?.credential, {
      type: 'apiKey',
      header: 'x-functions-key',
      secret: {
        kind: 'keyvault',
        vaultUrl: 'https://my-vault.vault.azure.net',
        name: 'adls-func-key',
        version: undefined,
        refreshIntervalSeconds: undefined,
        text: 'keyvault:https://my-vault.vault.azure.net/secrets/adls-func-key',
      },
    });
    assert.equal(versionless?.healthPath, '/health');
    assert.equal(pinned?.healthPath, undefined);
    assert.deepEqual(pinned?.credential?.type === 'bearer' ? pinned.credential.secret : undefined, {
      kind: 'keyvault',
      vaultUrl: 'https://my-vault.vault.azure.net',
      name: 'other-key',
      version: '0123456789abcdef0123456789abcdef',
      refreshIntervalSeconds: 60,
      text: 'keyvault:https://my-vault.vault.azure.net/secrets/other-key/0123456789abcdef0123456789abcdef',
    });
    assert.deepEqual(entra?.credential, {
      type: 'clientCredentials',
      header: 'authorization',
      tokenUrl: 'https://login.microsoftonline.com/00000000-0000-0000-0000-000000000000/oauth2/v2.0/token',
      issuer: undefined,
      clientId: 'gateway',
      authMethod: 'client_secret_post',
      clientSecret: {
        kind: 'keyvault',
        vaultUrl: 'https://my-vault.vault.azure.net',
        name: 'gateway-client-secret',
        version: undefined,
        refreshIntervalSeconds: undefined,
        text: 'keyvault:https://my-vault.vault.azure.net/secrets/gateway-client-secret',
      },
      privateKey: undefined,
      keyId: undefined,
      signingAlgorithm: 'RS256',
      scope: 'api://entra-app/.default',
      audience: undefined,
      resource: undefined,
      refreshSkewSeconds: 60,
      timeoutMs: 10_000,
    });
    assert.deepEqual(keycloak?.credential, {
      type: 'clientCredentials',
      header: 'x-upstream-authorization',
      tokenUrl: undefined,
      issuer: 'https://keycloak.example.com/realms/connectors',
      clientId: 'gateway',
      authMethod: 'private_key_jwt',
      clientSecret: undefined,
      privateKey: {
        kind: 'file',
        path: '/var/run/secrets/gateway/client-key.pem',
        text: 'file:/var/run/secrets/gateway/client-key.pem',
      },
      keyId: 'gateway-2025',
      signingAlgorithm: 'PS256',
      scope: 'read write',
      audience: 'keycloak-app',
      resource: undefined,
      refreshSkewSeconds: 30,
      timeoutMs: 5000,
    });
  });
});

describe('policy loader on a valid directory', () => {
  it('loads *.yaml and *.yml in name order, skipping hidden names, ..data and other files', async () => {
    const set = await loadPolicies(join(FIXTURES, 'valid'), DEFAULTS);
    assert.deepEqual(
      set.files.map((f) => f.replace(FIXTURES, '')),
      ['valid/10-connectors.yaml', 'valid/20-health.yml', 'valid/30-empty.yaml'],
    );
    assert.deepEqual(
      set.routes.map((r) => r.id),
      ['adls-read', 'adls-write', 'status', 'partner-api', 'health'],
    );
    assert.ok(
      Object.isFrozen(set) && Object.isFrozen(set.routes[0]) && Object.isFrozen(set.routes[0]?.match),
    );
  });

  it('reports warnings without failing: anonymous, anyAudience, forwardToken, empty file', async () => {
    assert.deepEqual(await lint('valid'), [
      'valid/10-connectors.yaml:61:16: warning: routes[2].anonymous: anonymous route: requests are forwarded without any token check',
      'valid/10-connectors.yaml:75:20: warning: routes[3].validateJwt.anyAudience: any audience accepted — tokens issued for other clients of the realm will pass',
      "valid/10-connectors.yaml:78:19: warning: routes[3].forwardToken: the caller's token is forwarded; the upstream can replay it",
      'valid/20-health.yml:4:16: warning: routes[0].anonymous: anonymous route: requests are forwarded without any token check',
      'valid/30-empty.yaml:1:1: warning: file is empty: it defines no routes',
    ]);
    const set = await loadPolicies(join(FIXTURES, 'valid'), DEFAULTS);
    assert.equal(set.warnings.length, 5);
  });

  it('compiles defaults: discovery URL, issuers, algorithms, timeouts, lower-case headers', async () => {
    const set = await loadPolicies(join(FIXTURES, 'valid'), {
      upstreamTimeoutMs: 1234,
      upstreamConnectTimeoutMs: 567,
    });
    const [read, write, status, partner] = set.routes;
    assert.ok(read && write && status && partner);
    assert.deepEqual(read.match, { pathPrefix: '/connectors/adls/', methods: ['GET', 'HEAD'] });
    assert.equal(read.auth.kind, 'jwt');
    if (read.auth.kind !== 'jwt') return;
    assert.deepEqual(read.auth.jwt, {
      issuer: 'https://keycloak.example.com/realms/spark/',
      discoveryUrl: 'https://keycloak.example.com/realms/spark/.well-known/openid-configuration',
      issuers: ['https://keycloak.example.com/realms/spark/'],
      audiences: ['product-factory'],
      requiredScopes: { match: 'all', values: ['spark'] },
      requiredClaims: [
        {
          name: 'realm_access.roles',
          path: ['realm_access', 'roles'],
          match: 'any',
          values: ['connector-reader', 'connector-admin'],
        },
        {
          name: 'resource_access.my-client.roles',
          path: ['resource_access', 'my-client', 'roles'],
          match: 'all',
          values: ['reader'],
        },
      ],
      algorithms: ['RS256', 'PS256', 'ES256'],
      clockSkewSeconds: 30,
      requireExpiration: true,
      maxTokenAgeSeconds: undefined,
      maxLifetimeSeconds: 86400,
    });
    assert.deepEqual(read.upstream, {
      origin: 'https://adls-func.azurewebsites.net',
      basePath: '/api',
      stripPrefix: '/connectors/adls',
      connectTimeoutMs: 567,
      timeoutMs: 1234,
      credential: {
        type: 'apiKey',
        header: 'x-functions-key',
        secret: { kind: 'env', name: 'ADLS_FUNC_KEY', text: 'env:ADLS_FUNC_KEY' },
      },
    });
    assert.deepEqual(read.forwardClaims, [
      { claim: ['sub'], header: 'x-auth-subject' },
      { claim: ['azp'], header: 'x-auth-client' },
    ]);
    assert.deepEqual(
      read.ipFilter?.describe(),
      'allow 10.0.0.0/8, 192.168.1.10, 2001:db8::/32, 10.1.0.1-10.1.0.20',
    );
    assert.equal(read.ipFilter?.allows('10.1.0.20'), true);
    assert.equal(read.ipFilter?.allows('10.1.0.21'), true); // inside 10.0.0.0/8

    assert.equal(write.auth.kind === 'jwt' && write.auth.jwt.algorithms.join(), 'ES256,EdDSA');
    assert.deepEqual(write.auth.kind === 'jwt' && write.auth.jwt.requiredScopes, {
      match: 'any',
      values: ['spark.write', 'spark.admin'],
    });
    assert.deepEqual(write.upstream.credential, {
      type: 'bearer',
      header: 'authorization',
      secret: { kind: 'file', path: '/var/run/secrets/adls/token', text: 'file:/var/run/secrets/adls/token' },
    });
    assert.deepEqual([write.upstream.timeoutMs, write.upstream.connectTimeoutMs], [120000, 2000]);

    assert.deepEqual(status.auth, { kind: 'anonymous' });
    assert.deepEqual([status.upstream.origin, status.upstream.basePath], ['http://status.internal:8080', '']);

    assert.equal(partner.match.host, 'partner.example.com');
    assert.deepEqual(partner.auth.kind === 'jwt' && partner.auth.jwt.audiences, 'any');
    assert.deepEqual(
      partner.auth.kind === 'jwt' && [partner.auth.jwt.issuer, partner.auth.jwt.discoveryUrl],
      ['https://login.partner.example/', 'https://login.partner.example/.well-known/openid-configuration'],
    );
    assert.equal(partner.ipFilter?.allows('198.51.100.9'), false); // mapped CIDR became IPv4
    assert.equal(partner.ipFilter?.allows('198.51.101.9'), true);
    assert.equal(partner.forwardToken, true);
    assert.deepEqual(read.source, {
      file: join(FIXTURES, 'valid/10-connectors.yaml'),
      index: 0,
      line: 4,
      column: 5,
    });

    assert.deepEqual(set.issuers, [
      {
        issuer: 'https://keycloak.example.com/realms/spark/',
        discoveryUrl: 'https://keycloak.example.com/realms/spark/.well-known/openid-configuration',
      },
      {
        issuer: 'https://login.partner.example/',
        discoveryUrl: 'https://login.partner.example/.well-known/openid-configuration',
      },
    ]);
  });

  it('the route table answers with the compiled routes', async () => {
    const { table } = await loadPolicies(join(FIXTURES, 'valid'), DEFAULTS);
    assert.equal(table.match('GET', 'gw', '/connectors/adls/files/x')?.id, 'adls-read');
    assert.equal(table.match('PUT', 'gw', '/connectors/adls/files/x')?.id, 'adls-write');
    assert.equal(table.match('PATCH', 'gw', '/connectors/adls/files/x'), undefined);
    // A pattern outranks a prefix, so the anonymous status route serves /connectors/adls/status too.
    assert.equal(table.match('GET', 'gw', '/connectors/adls/status')?.id, 'status');
    assert.equal(table.match('GET', 'gw', '/connectors/adls/status/x')?.id, 'adls-read');
    assert.equal(table.match('GET', 'gw', '/connectors/other/status')?.id, 'status');
    assert.equal(table.match('GET', 'partner.example.com', '/connectors/other/status')?.id, 'partner-api');
    assert.equal(table.match('GET', 'gw', '/connectors/health')?.id, 'health');
  });

  it('the example policy loads cleanly', async () => {
    const result = await lintPolicies(EXAMPLE);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), []);
    const set = await loadPolicies(EXAMPLE, DEFAULTS);
    assert.deepEqual(
      set.routes.map((r) => r.id),
      ['adls'],
    );
    assert.equal(set.table.match('GET', undefined, '/connectors/adls/files/x.csv')?.id, 'adls');
  });
});

describe('policy loader on a ConfigMap-style mount', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('follows the ..data symlinks and ignores the timestamped directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'policies-'));
    dirs.push(dir);
    await mkdir(join(dir, '..2025_01_01_00_00_00.123'));
    await writeFile(
      join(dir, '..2025_01_01_00_00_00.123', 'adls.yaml'),
      'routes:\n  - id: adls\n    match: { pathPrefix: /a/ }\n    anonymous: true\n    upstream: { url: "https://u" }\n',
    );
    await symlink('..2025_01_01_00_00_00.123', join(dir, '..data'));
    await symlink('..data/adls.yaml', join(dir, 'adls.yaml'));
    await symlink('..data/missing.yaml', join(dir, 'dangling.yaml'));
    const result = await lintPolicies(dir);
    assert.deepEqual(result.files, [join(dir, 'adls.yaml')]);
    assert.equal(result.routes, 1);
    assert.deepEqual(result.diagnostics.filter((d) => d.severity === 'error').map(formatDiagnostic), [
      `${join(dir, 'dangling.yaml')}: cannot be read (ENOENT)`,
    ]);
  });
});
