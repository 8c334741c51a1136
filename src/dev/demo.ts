/**
 * `npm run demo`: the gateway's main job on an embedded default, all on 127.0.0.1 —
 *   a real OpenID provider (oidc-provider) with a Keycloak-shaped issuer /realms/demo,
 *   a sample connector that shows what it received, and the gateway with a demo policy.
 * Prints ready-to-paste curl commands; Ctrl-C stops everything.
 * Ports: DEMO_GATEWAY_PORT (8080), DEMO_IDP_PORT (8180), DEMO_CONNECTOR_PORT (8181); 0 = any free port.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSettings } from '../config/settings.ts';
import { startGateway } from '../gateway.ts';
import { createLogger, flushLogger } from '../observability/logger.ts';
import { localAdlsPolicy } from './adls-policy.ts';
import { startLocalIdp } from './local-idp.ts';
import { startSampleConnector } from './sample-connector.ts';

const env = process.env;
const port = (name: string, fallback: number): number => Number(env[name] ?? fallback);

const SPARK_CLIENT = { clientId: 'spark-client', clientSecret: 'spark-demo-secret', scope: 'spark' };
const OTHER_CLIENT = {
  clientId: 'reporting-client',
  clientSecret: 'reporting-demo-secret',
  scope: 'reports',
};

async function main(): Promise<void> {
  const workDir = await mkdtemp(join(tmpdir(), 'connector-gateway-demo-'));
  const functionsKey = randomBytes(24).toString('base64url');
  env['DEMO_FUNCTIONS_KEY'] = functionsKey;

  const idp = await startLocalIdp({
    realm: 'demo',
    port: port('DEMO_IDP_PORT', 8180),
    clients: [SPARK_CLIENT, OTHER_CLIENT],
    audience: 'product-factory',
    scopes: ['spark', 'reports'],
  });
  const connector = await startSampleConnector({ port: port('DEMO_CONNECTOR_PORT', 8181), functionsKey });
  const policiesDir = join(workDir, 'policies');
  await mkdir(policiesDir);
  await writeFile(
    join(policiesDir, 'demo.yaml'),
    localAdlsPolicy({ issuer: idp.issuer, connectorUrl: connector.url, keyEnv: 'DEMO_FUNCTIONS_KEY' }),
  );

  const logFile = join(workDir, 'gateway.log');
  const logger = createLogger({ level: 'info', destination: createWriteStream(logFile) });
  const settings = loadSettings({
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(port('DEMO_GATEWAY_PORT', 8080)),
    GATEWAY_POLICIES_DIR: policiesDir,
    GATEWAY_SHUTDOWN_GRACE_SECONDS: '2',
  });
  const gateway = await startGateway(settings, logger);
  for (let i = 0; i < 100 && !gateway.readiness().ready; i++) await new Promise((r) => setTimeout(r, 50));

  const tokenCmd = (c: typeof SPARK_CLIENT): string =>
    `curl -s -u ${c.clientId}:${c.clientSecret} -d grant_type=client_credentials -d scope=${c.scope} ${idp.tokenUrl} | sed -E 's/.*"access_token":"([^"]+)".*/\\1/'`;
  const api = `${gateway.url}/connectors/adls/files`;
  process.stdout.write(`
Connector Gateway demo is running (ready: ${String(gateway.readiness().ready)})
  identity provider  ${idp.issuer}   (oidc-provider, Keycloak-shaped realm "demo")
  sample connector   ${connector.url}   (expects x-functions-key)
  gateway            ${gateway.url}   (policy: ${join(policiesDir, 'demo.yaml')})
  gateway log        ${logFile}

1. Get an access token for client spark-client (audience product-factory, scope spark):
TOKEN=$(${tokenCmd(SPARK_CLIENT)})

2. Call the connector through the gateway (200; the connector reports receivedFunctionsKey "valid" and receivedAuthorization false):
curl -s -i -H "Authorization: Bearer $TOKEN" ${api}

3. Refused: no token (401, WWW-Authenticate: Bearer):
curl -s -i ${api}

4. Refused: a token without scope spark (403 insufficient_scope):
OTHER=$(${tokenCmd(OTHER_CLIENT)})
curl -s -i -H "Authorization: Bearer $OTHER" ${api}

Press Ctrl-C to stop.
`);

  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    process.stdout.write('\nstopping demo...\n');
    void (async () => {
      await gateway.shutdown(2000);
      flushLogger(logger);
      await Promise.allSettled([connector.close(), idp.close()]);
      await rm(workDir, { recursive: true, force: true });
      process.stdout.write('demo stopped\n');
      process.exit(0);
    })();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
