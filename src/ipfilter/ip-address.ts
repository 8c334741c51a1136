/**
 * IP address text → number, for the per-request IP filter. IPv4 is a uint32 `number` (fast to
 * compare), IPv6 a 128-bit `bigint`. An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`,
 * `::ffff:a00:1`, RFC 4291 §2.5.5.2) is returned as IPv4 so that a dual-stack socket's peer
 * matches IPv4 entries. A zone id (`fe80::1%eth0`, RFC 6874) is stripped: it names the local
 * interface, not the peer, so it says nothing a filter could use.
 *
 * Hand-written rather than `ip-address`/`ip-cidr` because it runs on every request; those
 * libraries are used at load time (see `ip-filter.ts`).
 */

import { rememberLast } from '../remember-last.ts';

export type IpAddress =
  { readonly family: 4; readonly value: number } | { readonly family: 6; readonly value: bigint };

const MAPPED_PREFIX = 0xffffn << 32n;
const MAPPED_MASK = ~0xffffffffn & ((1n << 128n) - 1n);

/**
 * Parses an IPv4 dotted quad or an IPv6 address (RFC 4291 §2.2, including `::` and a trailing
 * dotted quad). Leading zeros in an IPv4 octet are refused (`010.0.0.1` is octal to some parsers,
 * decimal to others). No brackets, no port, no surrounding whitespace.
 *
 * @returns the address, or `undefined` when `text` is not an IP address.
 */
export function parseIp(text: string): IpAddress | undefined {
  if (text.includes(':')) {
    const zone = text.indexOf('%');
    const value = parseIpv6(zone === -1 ? text : text.slice(0, zone));
    if (value === undefined) return undefined;
    // RFC 4291 §2.5.5.2: ::ffff:0:0/96 carries an IPv4 address.
    if ((value & MAPPED_MASK) === MAPPED_PREFIX) return { family: 4, value: Number(value & 0xffffffffn) };
    return { family: 6, value };
  }
  const value = parseIpv4(text, 0, text.length);
  return value === -1 ? undefined : { family: 4, value };
}

/**
 * `parseIp` for the per-request paths, remembering the last text it read (`rememberLast`): most
 * requests come from the address the one before came from, and parsing one costs hundreds of
 * instructions (an IPv6 address: BigInt arithmetic). An `IpAddress` is immutable, so sharing it is
 * safe.
 */
export const parseIpAgain: (text: string) => IpAddress | undefined = rememberLast(parseIp);

/** True when `text` is IPv6 text whose value lies in ::ffff:0:0/96 (so `parseIp` gives IPv4). */
export function isMappedIpv6Text(text: string): boolean {
  return text.includes(':') && parseIp(text)?.family === 4;
}

/** Parses `a.b.c.d` between `start` and `end`; -1 when invalid. */
function parseIpv4(text: string, start: number, end: number): number {
  let value = 0;
  let octets = 0;
  let i = start;
  while (octets < 4) {
    const octetStart = i;
    let octet = 0;
    while (i < end) {
      const c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      octet = octet * 10 + (c - 48);
      i++;
    }
    const digits = i - octetStart;
    if (digits === 0 || digits > 3 || octet > 255) return -1;
    if (digits > 1 && text.charCodeAt(octetStart) === 48) return -1;
    value = value * 256 + octet;
    octets++;
    if (octets < 4) {
      if (i >= end || text.charCodeAt(i) !== 46) return -1;
      i++;
    }
  }
  return i === end ? value : -1;
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}

/** RFC 4291 §2.2 text forms; undefined when invalid. */
function parseIpv6(text: string): bigint | undefined {
  const groups: number[] = [];
  let gap = -1; // index in `groups` where `::` stands
  let i = 0;
  const end = text.length;
  if (text.startsWith('::')) {
    gap = 0;
    i = 2;
    if (i === end) return 0n;
  }
  while (i < end) {
    // A trailing dotted quad fills the last two groups (RFC 4291 §2.2 form 3).
    let j = i;
    let value = 0;
    while (j < end && j - i < 5) {
      const d = hexDigit(text.charCodeAt(j));
      if (d === -1) break;
      value = value * 16 + d;
      j++;
    }
    if (j < end && text.charCodeAt(j) === 46) {
      const v4 = parseIpv4(text, i, end);
      if (v4 === -1 || groups.length > 6) return undefined;
      groups.push(Math.floor(v4 / 65536), v4 % 65536);
      i = end;
      break;
    }
    const digits = j - i;
    if (digits === 0 || digits > 4) return undefined;
    groups.push(value);
    i = j;
    if (i === end) break;
    if (text.charCodeAt(i) !== 58) return undefined;
    i++;
    if (i < end && text.charCodeAt(i) === 58) {
      if (gap !== -1) return undefined;
      gap = groups.length;
      i++;
    } else if (i === end) {
      return undefined; // trailing single colon
    }
  }
  if (gap === -1 ? groups.length !== 8 : groups.length > 7) return undefined;
  let result = 0n;
  const missing = 8 - groups.length;
  for (let g = 0; g < groups.length; g++) {
    if (g === gap) result <<= BigInt(16 * missing);
    result = (result << 16n) | BigInt(groups[g] ?? 0);
  }
  if (gap === groups.length) result <<= BigInt(16 * missing);
  return result;
}

/** Canonical text: dotted quad for IPv4, RFC 5952 §4 for IPv6 (lower case, longest zero run as `::`). */
export function formatIp(address: IpAddress): string {
  if (address.family === 4) {
    const v = address.value;
    return `${Math.floor(v / 16777216)}.${Math.floor(v / 65536) % 256}.${Math.floor(v / 256) % 256}.${v % 256}`;
  }
  const groups: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) groups.push(Number((address.value >> shift) & 0xffffn));
  // RFC 5952 §4.2.3: shorten the longest run of two or more zero groups, the first if tied.
  let bestStart = -1;
  let bestLength = 1;
  for (let g = 0; g < 8;) {
    if (groups[g] !== 0) {
      g++;
      continue;
    }
    let h = g;
    while (h < 8 && groups[h] === 0) h++;
    if (h - g > bestLength) {
      bestStart = g;
      bestLength = h - g;
    }
    g = h;
  }
  const hex = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((n) => n.toString(16))
      .join(':');
  if (bestStart === -1) return hex(0, 8);
  return `${hex(0, bestStart)}::${hex(bestStart + bestLength, 8)}`;
}
