/**
 * `private_key_jwt` client authentication (RFC 7523 §2.2, OpenID Connect Core §9): a short-lived
 * JWT signed with the client's private key stands in for the client secret at the token endpoint.
 */
import { randomUUID } from 'node:crypto';
import { importJWK, importPKCS8, SignJWT, type CryptoKey, type JWK, type KeyObject } from 'jose';

export const CLIENT_ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

/** Seconds an assertion is valid: long enough for clock skew, short enough to be useless if leaked. */
const LIFETIME_SECONDS = 120;

/** Why `value` is not key material we can try to import (never repeats the value). */
export function privateKeyProblem(value: string): string | undefined {
  const text = value.trim();
  if (text === '') return 'is empty';
  if (text.startsWith('{') || text.includes('-----BEGIN PRIVATE KEY-----')) return undefined;
  return 'is neither a PKCS#8 PEM (-----BEGIN PRIVATE KEY-----) nor a JWK (JSON)';
}

/** Imports a PKCS#8 PEM or a private JWK for `alg`. */
export async function importPrivateKey(
  material: string,
  alg: string,
): Promise<CryptoKey | KeyObject | Uint8Array> {
  const text = material.trim();
  if (text.startsWith('{')) return importJWK(JSON.parse(text) as JWK, alg);
  return importPKCS8(text, alg);
}

export interface AssertionClaims {
  readonly clientId: string;
  /** The token endpoint URL (RFC 7523 §3: the authorization server as audience). */
  readonly audience: string;
  readonly alg: string;
  readonly keyId: string | undefined;
}

/** A signed client assertion: iss = sub = client id, aud = token endpoint, unique jti (RFC 7523 §3). */
export async function signClientAssertion(
  key: CryptoKey | KeyObject | Uint8Array,
  claims: AssertionClaims,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({})
    .setProtectedHeader({
      alg: claims.alg,
      typ: 'JWT',
      ...(claims.keyId === undefined ? {} : { kid: claims.keyId }),
    })
    .setIssuer(claims.clientId)
    .setSubject(claims.clientId)
    .setAudience(claims.audience)
    .setJti(randomUUID())
    .setIssuedAt(now)
    .setExpirationTime(now + LIFETIME_SECONDS)
    .sign(key);
}
