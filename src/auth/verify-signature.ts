/**
 * Signature verification of a compact JWS with jose's `compactVerify` against a key resolver
 * (the issuer's JWKS). Claim checks are separate (`check-claims.ts`) so each refusal has its own
 * stable code and trace step, and `explain --claims` can run them without a signature.
 */
import { KeyObject, verify as cryptoVerify } from 'node:crypto';
import { compactVerify } from 'jose';
import type { CryptoKey, FlattenedJWSInput, JWSHeaderParameters, JWTPayload } from 'jose';
import { GatewayError, isGatewayError } from '../errors.ts';
import type { TraceSink } from '../policy/trace.ts';
import { checkProtectedHeader, decodeProtectedHeader } from './token-header.ts';

/** Finds the verification key for a token header; `IssuerKeys.getKey` is one. */
export type KeyResolver = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<CryptoKey>;

const decoder = new TextDecoder('utf-8', { fatal: true });

// Refusals because the signature does not match the token under the chosen key, as opposed to
// `token_signature_invalid` because it could not be checked (a key too short or imported for
// another algorithm, an unexpected error): only a mismatch is a property of the token bytes and
// the key set alone, so only a mismatch may be remembered (refused-token-cache.ts).
const mismatches = new WeakSet<GatewayError>();

function signatureMismatch(cause?: unknown): GatewayError {
  const error = new GatewayError(
    'token_signature_invalid',
    'The token signature is invalid',
    cause === undefined ? undefined : { cause },
  );
  mismatches.add(error);
  return error;
}

/** True when `error` is a refusal because the signature does not match (see `mismatches`). */
export function isSignatureMismatch(error: unknown): boolean {
  return isGatewayError(error) && mismatches.has(error);
}

/** Maps jose's stable error codes (never message text) to the gateway's. */
function toGatewayError(err: unknown): GatewayError {
  if (isGatewayError(err)) return err;
  const code = err instanceof Error && 'code' in err ? err.code : undefined;
  switch (code) {
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return signatureMismatch(err);
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      // NOT_SUPPORTED: the JWKS cannot serve this alg (jose refuses symmetric algs for a JWKS).
      return new GatewayError('token_algorithm_not_allowed', 'The token algorithm is not allowed', {
        cause: err,
      });
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return new GatewayError('token_key_not_found', "No key of the issuer matches the token's kid", {
        cause: err,
      });
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return new GatewayError('token_key_not_found', 'The token has no kid and several issuer keys match', {
        cause: err,
      });
    case 'ERR_JWS_INVALID':
      return new GatewayError('token_malformed', 'The token is not a valid JWS', { cause: err });
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return new GatewayError('issuer_unavailable', "The issuer's keys could not be fetched", { cause: err });
    default:
      // Fail closed: e.g. an RSA key under 2048 bits in the JWKS makes jose throw a TypeError.
      return new GatewayError('token_signature_invalid', 'The token signature could not be verified', {
        cause: err,
      });
  }
}

function decodePayload(bytes: Uint8Array): JWTPayload {
  let payload: unknown;
  try {
    payload = JSON.parse(decoder.decode(bytes));
  } catch (cause) {
    throw new GatewayError('token_malformed', 'The token payload is not valid JSON', { cause });
  }
  // RFC 7519 §7.2 step 10: the claims set must be a JSON object.
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new GatewayError('token_malformed', 'The token payload is not a JSON object');
  }
  return payload as JWTPayload;
}

// RS256 is what Keycloak signs with by default, so it gets a synchronous node:crypto path: jose
// verifies through WebCrypto, a job on the libuv thread pool per token, which cost 25–45 µs more
// per never-seen or refused token (docs/performance.md). The key still comes from the same
// resolver (the issuer's JWKS, chosen by kid and alg); every other algorithm goes through jose.
const keyObjects = new WeakMap<CryptoKey, KeyObject>();

function rsaKeyObject(key: CryptoKey): KeyObject {
  let object = keyObjects.get(key);
  if (object === undefined) {
    if (key.type !== 'public' || key.algorithm.name !== 'RSASSA-PKCS1-v1_5') {
      throw new GatewayError('token_signature_invalid', 'The token signature could not be verified');
    }
    object = KeyObject.from(key);
    // RFC 7518 §3.3: RSA keys for RS256 are at least 2048 bits (jose enforces the same).
    if ((object.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new GatewayError('token_signature_invalid', 'The token signature could not be verified');
    }
    keyObjects.set(key, object);
  }
  return object;
}

async function verifyRs256(
  token: string,
  header: JWSHeaderParameters,
  resolveKey: KeyResolver,
): Promise<Uint8Array> {
  const first = token.indexOf('.');
  const second = token.indexOf('.', first + 1);
  // The shape (three base64url parts) was checked when the token was extracted.
  const parts = {
    protected: token.slice(0, first),
    payload: token.slice(first + 1, second),
    signature: token.slice(second + 1),
  };
  const key = rsaKeyObject(await resolveKey(header, parts));
  const signature = Buffer.from(parts.signature, 'base64url');
  const signingInput = Buffer.from(token.slice(0, second), 'latin1');
  if (!cryptoVerify('sha256', signingInput, key, signature)) throw signatureMismatch();
  return Buffer.from(parts.payload, 'base64url');
}

/**
 * Verifies the token's header and signature and returns its payload (claims not checked yet).
 * Throws `token_header_invalid`, `token_algorithm_not_allowed`, `token_key_not_found`,
 * `token_signature_invalid`, `token_malformed`, or whatever the resolver throws as a GatewayError
 * (e.g. `issuer_unavailable`).
 *
 * @param algorithms - The route's allowlist; must never hold `none` or `HS*` (refused at load).
 */
export async function verifySignature(
  token: string,
  algorithms: readonly string[],
  resolveKey: KeyResolver,
  trace?: TraceSink,
): Promise<JWTPayload> {
  const rawHeader = decodeProtectedHeader(token);
  const header = checkProtectedHeader(rawHeader, algorithms, trace);
  let payloadBytes: Uint8Array;
  try {
    if (header.alg === 'RS256') payloadBytes = await verifyRs256(token, rawHeader, resolveKey);
    else
      ({ payload: payloadBytes } = await compactVerify(token, resolveKey, { algorithms: [...algorithms] }));
  } catch (err) {
    const mapped = toGatewayError(err);
    trace?.step({
      stage: 'token',
      check: 'signature',
      ok: false,
      detail: `${mapped.code}: ${mapped.message}`,
    });
    throw mapped;
  }
  trace?.step({
    stage: 'token',
    check: 'signature',
    ok: true,
    detail: `${header.alg} with ${header.kid === undefined ? 'the only matching key' : `key ${header.kid}`}`,
  });
  return decodePayload(payloadBytes);
}
