/**
 * Which address is "the client": the socket peer, unless the peer is one of our own trusted
 * proxies (ingress controller, load balancer), in which case `X-Forwarded-For` is believed for as
 * many hops as are themselves trusted. Everything left of the first untrusted hop was written by
 * the caller and is ignored: a caller can put any text in XFF, but cannot make a proxy we trust
 * claim to have received the connection from somewhere else.
 */
import { ConfigError } from '../errors.ts';
import { rememberLast } from '../remember-last.ts';
import { formatIp, parseIp } from './ip-address.ts';
import { compileIpFilter } from './ip-filter.ts';
import type { IpFilter } from './ip-filter.ts';

/** `(peer, xForwardedFor) => client IP text`, built once from the trusted proxies setting. */
export type ClientIpResolver = (
  peer: string | undefined,
  xForwardedFor: string | string[] | undefined,
) => string;

/** Canonical text of an address (`::ffff:127.0.0.1` → `127.0.0.1`), or the input if unparsable. */
// The peer's address written canonically, kept while it repeats (`rememberLast`).
const canonical = rememberLast((text: string): string => {
  const address = parseIp(text);
  return address === undefined ? text : formatIp(address);
});

/**
 * Parses one XFF element. Besides a bare address we accept `1.2.3.4:port` and `[v6]:port`, since
 * some load balancers (Azure Application Gateway among them) append the client port.
 */
function parseHop(element: string): string | undefined {
  let text = element;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1) return undefined;
    const rest = text.slice(close + 1);
    if (rest !== '' && !/^:[0-9]{1,5}$/.test(rest)) return undefined;
    text = text.slice(1, close);
    if (!text.includes(':')) return undefined;
  } else {
    const colon = text.indexOf(':');
    if (colon !== -1 && colon === text.lastIndexOf(':')) {
      if (!/^[0-9]{1,5}$/.test(text.slice(colon + 1))) return undefined;
      text = text.slice(0, colon);
    }
  }
  const address = parseIp(text);
  return address === undefined ? undefined : formatIp(address);
}

/**
 * Builds the client IP resolver.
 *
 * @param trustedProxies IPs and CIDRs (setting `GATEWAY_TRUSTED_PROXIES`; default none, so XFF is
 *   never believed). Throws ConfigError for an unparsable entry.
 * @returns a resolver that takes the socket peer address and the XFF header value(s) (several
 *   header lines are joined with `,` in order, RFC 9110 §5.3) and returns the client address in
 *   canonical form. An undefined peer (socket already gone) yields `''`, which no filter allows.
 */
export function createClientIpResolver(trustedProxies: readonly string[]): ClientIpResolver {
  const entries = trustedProxies.map((p) => p.trim()).filter((p) => p !== '');
  if (entries.length === 0) {
    return function clientIpFromPeer(peer) {
      return peer === undefined ? '' : canonical(peer);
    };
  }
  let trusted: IpFilter;
  try {
    trusted = compileIpFilter({ action: 'allow', addresses: entries });
  } catch (error) {
    const detail = error instanceof Error ? error.message.replace(/^ipFilter: /, '') : String(error);
    throw new ConfigError(`trusted proxies: ${detail}`);
  }

  return function clientIpFromForwardedFor(peer, xForwardedFor) {
    if (peer === undefined) return '';
    const peerText = canonical(peer);
    if (xForwardedFor === undefined || !trusted.allows(peerText)) return peerText;
    const header = typeof xForwardedFor === 'string' ? xForwardedFor : xForwardedFor.join(',');
    const elements = header.split(',');
    // Walk right to left: the rightmost element was appended by the proxy that connected to us.
    let lastTrusted = peerText;
    for (let i = elements.length - 1; i >= 0; i--) {
      const element = (elements[i] ?? '').trim();
      // RFC 9110 §5.6.1: recipients ignore empty list elements.
      if (element === '') continue;
      const hop = parseHop(element);
      // A value we cannot read may have been forged; stop at the last address a trusted hop vouched for.
      if (hop === undefined) return lastTrusted;
      if (!trusted.allows(hop)) return hop;
      lastTrusted = hop;
    }
    return lastTrusted;
  };
}
