/**
 * startGateway's warm-up (what a cluster worker uses): with `warmUpMs` the gateway listens only
 * once the issuer keys and credentials are loaded, so the first request it is handed is served;
 * with an unreachable IdP it listens anyway once the wait is over, and says so.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LocalIdp } from '../../src/dev/local-idp.ts';
import { call } from '../fixtures/http-client.ts';
import { RecordingUpstream } from '../fixtures/recording-upstream.ts';
import { adlsPolicy, policyDir, SPARK, startIdp, startTestGateway } from '../fixtures/gateway-harness.ts';

describe('gateway warm-up before listening', () => {
  let idp: LocalIdp;
  let upstream: RecordingUpstream;

  before(async () => {
    idp = await startIdp();
    upstream = await RecordingUpstream.start(() => ({ body: 'ok' }));
  });
  after(async () => {
    await upstream.close();
    await idp.close();
  });

  it('serves a token request the moment it listens', async () => {
    const token = await idp.getToken(SPARK.clientId, SPARK.clientSecret, 'spark');
    const gw = await startTestGateway(
      await policyDir({ 'adls.yaml': adlsPolicy(idp.issuer, upstream.origin) }),
      {},
      {
        waitReady: false,
        warmUpMs: 10_000,
      },
    );
    try {
      // No waiting here: the keys were fetched before the port opened.
      const first = await call(gw.url, '/connectors/adls/x', {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(first.status, 200, first.text);
      assert.equal(gw.gateway.readiness().ready, true);
    } finally {
      await gw.close();
    }
  });

  it('listens anyway after the wait when the IdP cannot be reached, and logs it', async () => {
    const deadIssuer = 'http://127.0.0.1:9/realms/gone';
    const started = Date.now();
    const gw = await startTestGateway(
      await policyDir({ 'adls.yaml': adlsPolicy(deadIssuer, upstream.origin) }),
      {},
      {
        waitReady: false,
        warmUpMs: 400,
      },
    );
    try {
      assert.ok(Date.now() - started >= 400, 'it waited');
      const ready = await call(gw.url, '/readyz');
      assert.equal(ready.status, 503);
      assert.ok(
        gw.logs.some((l) => l.includes('not ready after the warm-up') && l.includes('"issuers":false')),
        gw.logs.join('\n'),
      );
    } finally {
      await gw.close();
    }
  });
});
