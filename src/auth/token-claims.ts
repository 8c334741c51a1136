/**
 * Registered-claim checks (RFC 7519 §4.1) plus Keycloak's `typ`. Each check records one trace
 * step and throws its own code; no signature is needed, so `explain --claims` runs them too.
 * Times are NumericDate seconds; `clockSkewSeconds` widens every window by the same amount.
 */
import type { JWTPayload } from 'jose';
import { GatewayError } from '../errors.ts';
import type { JwtRequirements } from '../policy/route.ts';
import type { TraceSink } from '../policy/trace.ts';

type Check = 'typ' | 'iss' | 'aud' | 'exp' | 'nbf' | 'iat' | 'lifetime' | 'age';

function fail(
  trace: TraceSink | undefined,
  check: Check,
  error: GatewayError,
  detail = error.message,
): never {
  trace?.step({ stage: 'claims', check, ok: false, detail });
  throw error;
}

/** A NumericDate claim: undefined when absent, else a finite number or `token_claim_invalid`. */
function numericDate(
  payload: JWTPayload,
  name: 'exp' | 'nbf' | 'iat',
  trace?: TraceSink,
): number | undefined {
  const value: unknown = payload[name];
  if (value === undefined) return undefined;
  // JSON.parse turns 1e999 into Infinity, so typeof alone is not enough.
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    fail(trace, name, new GatewayError('token_claim_invalid', `The token ${name} claim is not a number`));
  }
  return value;
}

function checkAudience(payload: JWTPayload, audiences: readonly string[] | 'any', trace?: TraceSink): void {
  if (audiences === 'any') {
    trace?.step({ stage: 'claims', check: 'aud', ok: true, detail: 'any audience accepted' });
    return;
  }
  const aud: unknown = payload.aud;
  if (aud === undefined) {
    fail(trace, 'aud', new GatewayError('token_audience_invalid', 'The token has no aud claim'));
  }
  // RFC 7519 §4.1.3: a single StringOrURI or an array of them.
  const values: unknown[] = Array.isArray(aud) ? aud : [aud];
  if (!values.every((value) => typeof value === 'string')) {
    fail(
      trace,
      'aud',
      new GatewayError('token_claim_invalid', 'The token aud claim is not a string or array of strings'),
    );
  }
  const accepted = values.find((value) => audiences.includes(value));
  if (accepted === undefined) {
    fail(
      trace,
      'aud',
      new GatewayError('token_audience_invalid', 'The token audience is not accepted by this route'),
      `[${values.join(', ')}] has none of [${audiences.join(', ')}]`,
    );
  }
  trace?.step({ stage: 'claims', check: 'aud', ok: true, detail: `${String(accepted)} accepted` });
}

/** The checks that do not depend on the time: `typ`, `iss`, `aud`. */
function checkIdentity(payload: JWTPayload, jwt: JwtRequirements, trace: TraceSink | undefined): void {
  // Keycloak marks ID tokens `ID` and refresh tokens `Refresh`; both are signed by the same
  // realm key and would otherwise pass as access tokens.
  const typ: unknown = payload['typ'];
  if (typ !== undefined && typ !== 'Bearer') {
    fail(
      trace,
      'typ',
      new GatewayError('token_type_invalid', 'The token is not an access token (typ is not Bearer)'),
      `typ ${JSON.stringify(typ)}`.slice(0, 60),
    );
  }
  trace?.step({ stage: 'claims', check: 'typ', ok: true, detail: typ === undefined ? 'no typ' : 'Bearer' });

  const iss: unknown = payload.iss;
  if (typeof iss !== 'string' || !jwt.issuers.includes(iss)) {
    fail(
      trace,
      'iss',
      new GatewayError('token_issuer_invalid', 'The token issuer is not accepted by this route'),
      `${typeof iss === 'string' ? iss : 'no iss'} not in [${jwt.issuers.join(', ')}]`,
    );
  }
  trace?.step({ stage: 'claims', check: 'iss', ok: true, detail: iss });

  checkAudience(payload, jwt.audiences, trace);
}

/**
 * Checks `typ`, `iss`, `aud`, `exp`, `nbf`, `iat`, the lifetime and the age of a token.
 * Throws `token_type_invalid`, `token_issuer_invalid`, `token_audience_invalid`, `token_expired`,
 * `token_not_yet_valid`, `token_lifetime_too_long` or `token_claim_invalid`.
 *
 * @param nowSeconds - Current time in seconds since the epoch (may be fractional).
 */
export function checkRegisteredClaims(
  payload: JWTPayload,
  jwt: JwtRequirements,
  nowSeconds: number,
  trace?: TraceSink,
  /** Skip `typ`, `iss` and `aud`: the caller knows this payload passed them for `jwt`. */
  timesOnly = false,
): void {
  const skew = jwt.clockSkewSeconds;
  if (!timesOnly) checkIdentity(payload, jwt, trace);
  const exp = numericDate(payload, 'exp', trace);
  if (exp === undefined) {
    if (jwt.requireExpiration)
      fail(trace, 'exp', new GatewayError('token_claim_invalid', 'The token has no exp claim'));
    trace?.step({ stage: 'claims', check: 'exp', ok: true, detail: 'no exp (not required)' });
  } else if (nowSeconds >= exp + skew) {
    // RFC 7519 §4.1.4: the token MUST NOT be accepted on or after exp.
    fail(
      trace,
      'exp',
      new GatewayError('token_expired', 'The token has expired'),
      `expired ${Math.round(nowSeconds - exp)} s ago`,
    );
  } else {
    trace?.step({
      stage: 'claims',
      check: 'exp',
      ok: true,
      detail: `expires in ${Math.round(exp - nowSeconds)} s`,
    });
  }

  const nbf = numericDate(payload, 'nbf', trace);
  if (nbf !== undefined && nbf > nowSeconds + skew) {
    fail(trace, 'nbf', new GatewayError('token_not_yet_valid', 'The token is not valid yet (nbf)'));
  }
  trace?.step({
    stage: 'claims',
    check: 'nbf',
    ok: true,
    detail: nbf === undefined ? 'no nbf' : 'valid now',
  });
  const iat = numericDate(payload, 'iat', trace);
  if (iat !== undefined && iat > nowSeconds + skew) {
    fail(trace, 'iat', new GatewayError('token_not_yet_valid', 'The token was issued in the future (iat)'));
  }
  trace?.step({
    stage: 'claims',
    check: 'iat',
    ok: true,
    detail: iat === undefined ? 'no iat' : 'in the past',
  });

  if (exp !== undefined) {
    // Without iat the lifetime is unknown; if what is left of it already exceeds the limit,
    // the whole lifetime does too.
    const lifetime = iat === undefined ? exp - nowSeconds - skew : exp - iat;
    if (lifetime > jwt.maxLifetimeSeconds) {
      fail(
        trace,
        'lifetime',
        new GatewayError('token_lifetime_too_long', `The token lifetime exceeds ${jwt.maxLifetimeSeconds} s`),
        `lifetime ${Math.round(lifetime)} s > ${jwt.maxLifetimeSeconds} s`,
      );
    }
    trace?.step({ stage: 'claims', check: 'lifetime', ok: true, detail: `${Math.round(lifetime)} s` });
  }

  if (jwt.maxTokenAgeSeconds !== undefined) {
    if (iat === undefined) {
      fail(
        trace,
        'age',
        new GatewayError('token_claim_invalid', 'The token has no iat claim (its age is limited)'),
      );
    }
    const age = nowSeconds - iat;
    if (age - skew > jwt.maxTokenAgeSeconds) {
      fail(
        trace,
        'age',
        new GatewayError('token_lifetime_too_long', `The token is older than ${jwt.maxTokenAgeSeconds} s`),
        `issued ${Math.round(age)} s ago`,
      );
    }
    trace?.step({ stage: 'claims', check: 'age', ok: true, detail: `issued ${Math.round(age)} s ago` });
  }
}
