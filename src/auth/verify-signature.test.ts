import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign, webcrypto, type KeyObject } from 'node:crypto';
import { generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import { isGatewayError } from '../errors.ts';
import { isSignatureMismatch, verifySignature } from './verify-signature.ts';

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

function rsaPair(bits: number): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: bits });
}

function rs256(privateKey: KeyObject, payload: unknown, header: Record<string, unknown> = {}): string {
  const input = `${b64({ alg: 'RS256', kid: 'k1', ...header })}.${b64(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

async function verifyKey(publicKey: KeyObject, name: string, hash = 'SHA-256'): Promise<CryptoKey> {
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return await webcrypto.subtle.importKey('spki', der, { name, hash }, true, ['verify']);
}

/** The refusal's code, with `:mismatch` when it is a signature mismatch (cacheable). */
async function refusalKind(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isGatewayError(err));
    return isSignatureMismatch(err) ? `${err.code}:mismatch` : err.code;
  }
  return 'accepted';
}

async function refusal(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (err) {
    assert.ok(isGatewayError(err));
    return err.code;
  }
  return 'accepted';
}

describe('verifySignature: RS256 through node:crypto', () => {
  const pair = rsaPair(2048);
  const payload = { sub: 'alice', scope: 'spark' };

  it('returns the payload of a valid token and refuses a tampered one', async () => {
    const key = await verifyKey(pair.publicKey, 'RSASSA-PKCS1-v1_5');
    const token = rs256(pair.privateKey, payload);
    assert.deepEqual(await verifySignature(token, ['RS256'], () => Promise.resolve(key)), payload);

    const [h, , s] = token.split('.');
    const swapped = `${h}.${b64({ sub: 'mallory', scope: 'spark' })}.${s}`;
    assert.equal(
      await refusal(verifySignature(swapped, ['RS256'], () => Promise.resolve(key))),
      'token_signature_invalid',
    );
    const other = rs256(rsaPair(2048).privateKey, payload);
    assert.equal(
      await refusal(verifySignature(other, ['RS256'], () => Promise.resolve(key))),
      'token_signature_invalid',
    );
  });

  it('refuses RSA keys under 2048 bits (RFC 7518 §3.3), as jose does', async () => {
    const small = rsaPair(1024);
    const key = await verifyKey(small.publicKey, 'RSASSA-PKCS1-v1_5');
    const token = rs256(small.privateKey, payload);
    assert.equal(
      await refusal(verifySignature(token, ['RS256'], () => Promise.resolve(key))),
      'token_signature_invalid',
    );
  });

  it('refuses a key the resolver imported for another algorithm', async () => {
    const pss = await verifyKey(pair.publicKey, 'RSA-PSS');
    const token = rs256(pair.privateKey, payload);
    assert.equal(
      await refusal(verifySignature(token, ['RS256'], () => Promise.resolve(pss))),
      'token_signature_invalid',
    );
  });

  it('maps resolver failures the same way as the jose path', async () => {
    const token = rs256(pair.privateKey, payload);
    const noKey = Object.assign(new Error('no applicable key'), { code: 'ERR_JWKS_NO_MATCHING_KEY' });
    assert.equal(
      await refusal(verifySignature(token, ['RS256'], () => Promise.reject(noKey))),
      'token_key_not_found',
    );
  });

  it('marks only real mismatches as such, never a key that could not be used', async () => {
    const key = await verifyKey(pair.publicKey, 'RSASSA-PKCS1-v1_5');
    const other = rs256(rsaPair(2048).privateKey, payload);
    assert.equal(
      await refusalKind(verifySignature(other, ['RS256'], () => Promise.resolve(key))),
      'token_signature_invalid:mismatch',
    );
    const pss = await verifyKey(pair.publicKey, 'RSA-PSS');
    assert.equal(
      await refusalKind(
        verifySignature(rs256(pair.privateKey, payload), ['RS256'], () => Promise.resolve(pss)),
      ),
      'token_signature_invalid',
    );
    const small = rsaPair(1024);
    const smallKey = await verifyKey(small.publicKey, 'RSASSA-PKCS1-v1_5');
    assert.equal(
      await refusalKind(
        verifySignature(rs256(small.privateKey, payload), ['RS256'], () => Promise.resolve(smallKey)),
      ),
      'token_signature_invalid',
    );
  });

  it('marks a mismatch on the jose path (ES256) too', async () => {
    const signer = await generateKeyPair('ES256');
    const stranger = await generateKeyPair('ES256');
    const token = await new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .sign(signer.privateKey);
    assert.equal(
      await refusalKind(verifySignature(token, ['ES256'], () => Promise.resolve(stranger.publicKey))),
      'token_signature_invalid:mismatch',
    );
    assert.deepEqual(
      await verifySignature(token, ['ES256'], () => Promise.resolve(signer.publicKey)),
      payload,
    );
  });
});
