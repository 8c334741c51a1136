/**
 * The local Keycloak-shaped IdP itself: paths, the client-credentials grant with both client
 * authentication methods, scope filtering, Keycloak claims, key rotation, down/up and counters.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { compactVerify, createLocalJWKSet, type JSONWebKeySet } from 'jose';
import { startLocalIdp, type LocalIdp } from '../../src/dev/local-idp.ts';
import { decodePayload } from '../fixtures/tokens.ts';

function header(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as Record<
    string,
    unknown
  >;
}

describe('local IdP', () => {
  let idp: LocalIdp;

  before(async () => {
    idp = await startLocalIdp({
      realm: 'demo',
      clients: [
        {
          clientId: 'spark-client',
          clientSecret: 's3cret',
          scope: 'spark',
          roles: ['connector-user'],
          resourceAccess: { 'my-client': ['reader'] },
        },
        { clientId: 'other', clientSecret: 'other-secret' },
      ],
      audience: 'product-factory',
      scopes: ['spark', 'reports'],
    });
  });

  after(() => idp.close());

  const jwks = async (): Promise<JSONWebKeySet> =>
    (await fetch(idp.jwksUri)).json() as Promise<JSONWebKeySet>;

  it('serves discovery with Keycloak paths and the realm issuer', async () => {
    assert.match(idp.issuer, /^http:\/\/127\.0\.0\.1:\d+\/realms\/demo$/);
    const doc = (await (await fetch(idp.discoveryUrl)).json()) as Record<string, unknown>;
    assert.equal(doc['issuer'], idp.issuer);
    assert.equal(doc['token_endpoint'], `${idp.issuer}/protocol/openid-connect/token`);
    assert.equal(doc['jwks_uri'], `${idp.issuer}/protocol/openid-connect/certs`);
    assert.equal(idp.discoveryUrl, `${idp.issuer}/.well-known/openid-configuration`);
    assert.equal(idp.tokenUrl, doc['token_endpoint']);
    assert.equal(idp.jwksUri, doc['jwks_uri']);
  });

  it('issues a verifiable JWT access token by client_secret_basic with Keycloak claims', async () => {
    const token = await idp.getToken('spark-client', 's3cret', 'spark');
    const { protectedHeader } = await compactVerify(token, createLocalJWKSet(await jwks()));
    assert.equal(protectedHeader.kid, idp.currentKid);
    const claims = decodePayload(token);
    assert.equal(claims['iss'], idp.issuer);
    assert.equal(claims['aud'], 'product-factory');
    assert.equal(claims['typ'], 'Bearer');
    assert.equal(claims['azp'], 'spark-client');
    assert.equal(claims['scope'], 'spark');
    assert.deepEqual(claims['realm_access'], { roles: ['connector-user'] });
    assert.deepEqual(claims['resource_access'], { 'my-client': { roles: ['reader'] } });
    assert.equal(typeof claims['exp'], 'number');
    assert.equal((claims['exp'] as number) - (claims['iat'] as number), 300);
  });

  it('accepts client_secret_post as well', async () => {
    const claims = decodePayload(await idp.getToken('spark-client', 's3cret', 'spark', 'post'));
    assert.equal(claims['azp'], 'spark-client');
  });

  it('grants only the scopes a client asked for and may have', async () => {
    assert.equal(
      decodePayload(await idp.getToken('spark-client', 's3cret', 'spark reports'))['scope'],
      'spark',
    );
    assert.equal(decodePayload(await idp.getToken('spark-client', 's3cret'))['scope'], undefined);
    assert.equal(decodePayload(await idp.getToken('other', 'other-secret', 'reports'))['scope'], 'reports');
    assert.equal(
      decodePayload(await idp.getToken('other', 'other-secret', 'spark reports'))['scope'],
      'spark reports',
    );
  });

  it('refuses a wrong secret', async () => {
    await assert.rejects(idp.getToken('spark-client', 'wrong'), /401 invalid_client/);
    await assert.rejects(idp.getToken('spark-client', 'wrong', undefined, 'post'), /401 invalid_client/);
  });

  it('signs arbitrary claims and headers with its key, or with a key it never published', async () => {
    const set = createLocalJWKSet(await jwks());
    const token = idp.signToken({ hello: 'world' }, { header: { typ: 'at+jwt' } });
    assert.deepEqual(JSON.parse(new TextDecoder().decode((await compactVerify(token, set)).payload)), {
      hello: 'world',
    });
    const foreign = idp.signToken({ hello: 'world' }, { key: 'unpublished' });
    await assert.rejects(compactVerify(foreign, set), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    const sameKid = idp.signToken({ hello: 'world' }, { key: 'unpublished', kid: idp.currentKid });
    await assert.rejects(compactVerify(sameKid, set), { code: 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' });
    const ps = idp.signToken({ a: 1 }, { alg: 'PS256' });
    assert.equal(header(ps)['alg'], 'PS256');
  });

  it('rotates keys keeping the old one published, or dropping it', async () => {
    const first = idp.currentKid;
    const second = await idp.rotateKeys();
    assert.notEqual(second, first);
    assert.equal(idp.currentKid, second);
    assert.deepEqual(
      (await jwks()).keys.map((k) => k.kid),
      [second, first],
    );
    const token = await idp.getToken('spark-client', 's3cret');
    assert.equal(header(token)['kid'], second);
    const third = await idp.rotateKeys({ keepOld: false });
    assert.deepEqual(
      (await jwks()).keys.map((k) => k.kid),
      [third],
    );
  });

  it('goes down and comes back on the same port, counting what it served', async () => {
    idp.resetStats();
    await fetch(idp.discoveryUrl);
    await fetch(idp.jwksUri);
    await fetch(idp.jwksUri);
    await idp.stop();
    await assert.rejects(fetch(idp.jwksUri));
    await idp.start();
    assert.equal((await fetch(idp.jwksUri)).status, 200);
    await idp.getToken('other', 'other-secret');
    assert.deepEqual(idp.stats(), { discovery: 1, jwks: 3, token: 1 });
  });
});
