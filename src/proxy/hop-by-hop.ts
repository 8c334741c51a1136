/**
 * Connection-specific ("hop-by-hop") header fields: they describe one connection, so a proxy
 * consumes them and never forwards them, in either direction.
 */

/**
 * RFC 9110 §7.6.1 names Connection, Proxy-Connection, Keep-Alive, TE, Transfer-Encoding and
 * Upgrade; RFC 9110 §6.6.2 Trailer; Proxy-Authorization and Proxy-Authenticate (§11.7) are meant
 * for the proxy itself and must not leak to the next hop. Lower-case, as compared.
 */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'proxy-authorization',
  'proxy-authenticate',
]);

/**
 * Adds the lower-cased options listed in one `Connection` field value to `into`.
 * RFC 9110 §7.6.1: every field named in Connection is connection-specific and is removed
 * before forwarding. `keep-alive` and `close` land in the set too; they are hop-by-hop anyway.
 */
export function addConnectionTokens(value: string, into: Set<string>): void {
  let start = 0;
  // A hand-rolled split: the field is short and this runs per request that has one.
  for (let i = 0; i <= value.length; i++) {
    if (i === value.length || value.charCodeAt(i) === 44 /* , */) {
      const token = value.slice(start, i).trim().toLowerCase();
      if (token !== '') into.add(token);
      start = i + 1;
    }
  }
}

/**
 * True for the usual `Connection` value, a lone `keep-alive` or `close` (any case, spaces
 * around): it names no field that is not hop-by-hop already, so no option set need be built. Nearly
 * every upstream answer carries one, and building the set for it was a `Set` per response.
 */
export function isPlainConnection(value: string): boolean {
  if (value.length > 14) return false;
  const option = value.trim().toLowerCase();
  return option === 'keep-alive' || option === 'close';
}

/**
 * True when some option in `tokens` names a field not already removed by `alreadyDropped`,
 * i.e. a second filtering pass is needed. The common `Connection: keep-alive` / `close`
 * answer false (`close` is a connection option, not a field anyone sends).
 */
export function namesExtraFields(tokens: ReadonlySet<string>, alreadyDropped: ReadonlySet<string>): boolean {
  for (const token of tokens) {
    if (token !== 'close' && !alreadyDropped.has(token) && !HOP_BY_HOP_HEADERS.has(token)) return true;
  }
  return false;
}
