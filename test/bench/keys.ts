/**
 * Bench keys and tokens, with node:crypto only (no IdP process to start): RS256 2048-bit keys as
 * Keycloak uses, a JWKS publishing two of them (as after a rotation), and ~1 KB access tokens
 * shaped like Keycloak's. A `rogue` key signs with the published kid: its tokens are refused only
 * after a full RSA verification, the most expensive refusal there is.
 */
import {
  createPrivateKey,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  type KeyObject,
} from 'node:crypto';

export interface BenchKey {
  readonly kid: string;
  /** PKCS#8 PEM, so a worker thread can import it. */
  readonly privatePem: string;
  readonly publicJwk: Record<string, unknown>;
}

export interface BenchKeys {
  /** Signs every valid token; published. */
  readonly signing: BenchKey;
  /** Published only (the previous key after a rotation). */
  readonly previous: BenchKey;
  /** Never published; signs with `signing.kid`. */
  readonly rogue: BenchKey;
}

function newKey(kid: string): BenchKey {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = publicKey.export({ format: 'jwk' });
  return {
    kid,
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicJwk: { ...jwk, kid, alg: 'RS256', use: 'sig' },
  };
}

export function generateBenchKeys(): BenchKeys {
  return { signing: newKey('bench-key-1'), previous: newKey('bench-key-0'), rogue: newKey('bench-key-1') };
}

export function jwksOf(keys: BenchKeys): { keys: Record<string, unknown>[] } {
  return { keys: [keys.signing.publicJwk, keys.previous.publicJwk] };
}

export interface TokenShape {
  readonly issuer: string;
  readonly audience: string;
  readonly scope: string;
  /** Seconds from now; default 3600. */
  readonly ttlSeconds?: number;
}

/** Claims of a Keycloak client-credentials access token; `i` makes them distinct. */
export function claimsFor(shape: TokenShape, i: number): Record<string, unknown> {
  const now = Math.floor(Date.now() / 1000);
  return {
    exp: now + (shape.ttlSeconds ?? 3600),
    iat: now,
    jti: randomUUID(),
    iss: shape.issuer,
    aud: shape.audience,
    sub: randomUUID(),
    typ: 'Bearer',
    azp: 'bench-client',
    sid: randomUUID(),
    scope: shape.scope,
    preferred_username: `bench-user-${i}`,
    email_verified: true,
    realm_access: { roles: ['default-roles-bench', 'offline_access', 'spark-user'] },
    resource_access: { 'bench-client': { roles: ['reader', 'writer'] } },
  };
}

const b64 = (value: unknown): string => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact RS256 JWS of `claims`, header `kid` = the key's kid. */
export function signRs256(key: KeyObject, kid: string, claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), key).toString('base64url')}`;
}

/**
 * A token shaped exactly like `signRs256`'s, under the published kid, with 256 random bytes as
 * its signature: refused only after a full RSA-2048 verification, like a token signed by a rogue
 * key, but free to make (the unique-garbage scenario needs more than 10,000).
 */
export function forgeRs256(kid: string, claims: Record<string, unknown>): string {
  const input = `${b64({ alg: 'RS256', typ: 'JWT', kid })}.${b64(claims)}`;
  return `${input}.${randomBytes(256).toString('base64url')}`;
}

export function importKey(key: BenchKey): KeyObject {
  return createPrivateKey(key.privatePem);
}
