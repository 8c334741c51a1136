/**
 * The `WWW-Authenticate` challenge of a refused request (RFC 6750 §3). `error_description` and
 * `scope` have a restricted grammar (§3: %x20-21 / %x23-5B / %x5D-7E, so no `"` or `\` at all,
 * escaped or not); the realm is an RFC 9110 §5.6.4 quoted-string, where `"` and `\` are escaped.
 */
import type { GatewayError } from '../errors.ts';

const MAX_DESCRIPTION = 200;

/** RFC 6750 §3 error_description: printable ASCII without `"` and `\`. */
function description(text: string): string {
  const safe = text
    .replace(/"/g, "'")
    .replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, '?')
    .slice(0, MAX_DESCRIPTION);
  return safe;
}

/** RFC 6750 §3 scope: space-delimited scope-tokens (%x21 / %x23-5B / %x5D-7E). */
function scopeValue(text: string): string {
  return text
    .split(' ')
    .map((token) => token.replace(/[^\x21\x23-\x5B\x5D-\x7E]/g, ''))
    .filter((token) => token.length > 0)
    .join(' ');
}

/** RFC 9110 §5.6.4 quoted-string content: escape `"` and `\`, drop control and non-ASCII characters. */
function quoted(text: string): string {
  return text.replace(/[^\x20-\x7E]/g, '').replace(/["\\]/g, '\\$&');
}

/**
 * The challenge for `err`, or undefined when the response carries none (not an auth error):
 * - `token_missing`: `Bearer realm="…"` only (§3.1: no error code when no credentials were sent);
 * - other 401: `error="invalid_token"`;
 * - `insufficient_scope` and `claim_requirement_failed` (403): `error="insufficient_scope"`, with
 *   `scope` when known;
 * - `invalid_request` (400): `error="invalid_request"`.
 *
 * @param realm - The gateway's realm name, e.g. `connector-gateway`.
 */
export function wwwAuthenticate(err: GatewayError, realm: string): string | undefined {
  const challenge = `Bearer realm="${quoted(realm)}"`;
  let error: string;
  if (err.code === 'token_missing') return challenge;
  if (err.code === 'invalid_request') error = 'invalid_request';
  else if (err.code === 'insufficient_scope' || err.code === 'claim_requirement_failed')
    error = 'insufficient_scope';
  else if (err.status === 401) error = 'invalid_token';
  else return undefined;
  let value = `${challenge}, error="${error}", error_description="${description(err.message)}"`;
  const scope = err.scope === undefined ? '' : scopeValue(err.scope);
  if (error === 'insufficient_scope' && scope.length > 0) value += `, scope="${scope}"`;
  return value;
}
