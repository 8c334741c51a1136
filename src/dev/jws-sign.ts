/**
 * Signs arbitrary compact JWS for the local IdP's `signToken`. Deliberately lower-level than
 * jose's `SignJWT`: negative tests need headers jose refuses to produce (`crit` with unknown
 * names, `jku`, an embedded `jwk`, ...) and payloads that are not valid claim sets.
 */
import { constants, sign, type KeyObject } from 'node:crypto';

/** RSA algorithms the IdP can sign with (its keys are RSA 2048). RFC 7518 §3.3 and §3.5. */
export const RSA_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'] as const;
export type RsaAlgorithm = (typeof RSA_ALGORITHMS)[number];

export function isRsaAlgorithm(value: string): value is RsaAlgorithm {
  return (RSA_ALGORITHMS as readonly string[]).includes(value);
}

function base64url(input: string | Buffer): string {
  return Buffer.from(input).toString('base64url');
}

/**
 * Returns `BASE64URL(header).BASE64URL(payload).BASE64URL(signature)` (RFC 7515 §7.1).
 * `payload` is JSON-encoded unless it is a string, which is used as the raw payload text.
 */
export function signCompact(
  header: Readonly<Record<string, unknown>>,
  payload: Readonly<Record<string, unknown>> | string,
  alg: RsaAlgorithm,
  privateKey: KeyObject,
): string {
  const signingInput = `${base64url(JSON.stringify(header))}.${base64url(
    typeof payload === 'string' ? payload : JSON.stringify(payload),
  )}`;
  const digest = `sha${alg.slice(2)}`;
  // RFC 7518 §3.5: PSS uses MGF1 with the same hash and a salt as long as the hash output.
  const signature = alg.startsWith('PS')
    ? sign(digest, Buffer.from(signingInput), {
        key: privateKey,
        padding: constants.RSA_PKCS1_PSS_PADDING,
        saltLength: Number(alg.slice(2)) / 8,
      })
    : sign(digest, Buffer.from(signingInput), privateKey);
  return `${signingInput}.${base64url(signature)}`;
}
