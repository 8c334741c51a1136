/**
 * A route's `ipFilter`: compiled once at load into sorted, merged numeric ranges per family, then
 * answered per request with a binary search (no parsing of the policy, no allocation beyond
 * parsing the client address itself).
 */
import IPCIDR from 'ip-cidr';
import { ConfigError } from '../errors.ts';
import type { TraceSink } from '../policy/trace.ts';
import { formatIp, parseIp, parseIpAgain } from './ip-address.ts';
import type { IpAddress } from './ip-address.ts';

/** One entry of `ipFilter.addresses` as written in a policy. */
export type AddressEntry = string | { readonly from: string; readonly to: string };

/** An inclusive range of one family; `start <= end`. */
export type IpRange =
  | { readonly family: 4; readonly start: number; readonly end: number }
  | { readonly family: 6; readonly start: bigint; readonly end: bigint };

export interface IpFilterSpec {
  readonly action: 'allow' | 'forbid';
  readonly addresses: readonly AddressEntry[];
}

export interface IpFilter {
  readonly action: 'allow' | 'forbid';
  /**
   * Whether a client at `ip` may pass. An unparsable `ip` is never allowed, for `forbid` too:
   * an address we cannot read cannot be shown to be outside the forbidden set (fail closed).
   */
  allows(ip: string, trace?: TraceSink): boolean;
  /** `allow 10.0.0.0/8, 10.1.0.1-10.1.0.20` — the entries as written, for logs and `explain`. */
  describe(): string;
}

const PREFIX_DIGITS = /^(0|[1-9][0-9]{0,2})$/;

/**
 * Parses one `addresses` entry: an IPv4/IPv6 address, a CIDR (`ip-cidr` computes its bounds) or
 * a `{from, to}` range of one family with `from <= to`. IPv4-mapped IPv6 forms become IPv4.
 * Zone ids are refused (they name an interface of this host, meaningless in a shared policy), as
 * are CIDRs with host bits set (`10.0.0.1/8` is usually a typo for a single address or for
 * `10.0.0.0/8`; we make the admin say which).
 *
 * @returns the range, or `{ error }` with a message for the policy diagnostics.
 */
export function parseAddressEntry(entry: AddressEntry): IpRange | { error: string } {
  if (typeof entry !== 'string') {
    const from = parseSingle(entry.from);
    if ('error' in from) return { error: `from: ${from.error}` };
    const to = parseSingle(entry.to);
    if ('error' in to) return { error: `to: ${to.error}` };
    if (from.family !== to.family) return { error: `from and to must be the same IP family` };
    if (from.value > to.value) return { error: `from (${entry.from}) is greater than to (${entry.to})` };
    return rangeOf(from, to);
  }
  if (!entry.includes('/')) {
    const single = parseSingle(entry);
    return 'error' in single ? single : rangeOf(single, single);
  }
  return parseCidr(entry);
}

function parseSingle(text: string): IpAddress | { error: string } {
  if (text.includes('%')) return { error: `"${text}" has a zone id; write the address without %zone` };
  const address = parseIp(text);
  return address ?? { error: `"${text}" is not an IPv4 or IPv6 address` };
}

function rangeOf(from: IpAddress, to: IpAddress): IpRange {
  return from.family === 4
    ? { family: 4, start: from.value, end: to.value as number }
    : { family: 6, start: from.value, end: to.value as bigint };
}

function parseCidr(text: string): IpRange | { error: string } {
  const slash = text.indexOf('/');
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const address = parseSingle(addressText);
  if ('error' in address) return { error: `CIDR ${address.error}` };
  if (!PREFIX_DIGITS.test(prefixText)) return { error: `"${text}": the prefix length must be a number` };
  let prefix = Number(prefixText);
  // A mapped IPv6 CIDR (::ffff:10.0.0.0/104) is an IPv4 CIDR, since mapped clients are IPv4.
  if (address.family === 4 && addressText.includes(':')) {
    if (prefix < 96)
      return { error: `"${text}" covers more than the IPv4-mapped range; use a /96 or longer` };
    prefix -= 96;
  }
  const bits = address.family === 4 ? 32 : 128;
  if (prefix > bits) return { error: `"${text}": the prefix length must be 0..${bits}` };
  let cidr: IPCIDR;
  try {
    // ip-cidr validates and computes the bounds; we hand it the canonical text because it
    // mishandles mapped forms and dotted quads inside IPv6.
    cidr = new IPCIDR(`${formatIp(address)}/${prefix}`);
  } catch (error) {
    return {
      error: `"${text}" is not a valid CIDR (${error instanceof Error ? error.message : String(error)})`,
    };
  }
  const start = BigInt(cidr.start<bigint>({ type: 'bigInteger' }));
  const end = BigInt(cidr.end<bigint>({ type: 'bigInteger' }));
  const value = BigInt(address.value);
  if (value !== start) {
    const network = formatIp(
      address.family === 4 ? { family: 4, value: Number(start) } : { family: 6, value: start },
    );
    return { error: `"${text}" has host bits set; did you mean ${network}/${prefix}?` };
  }
  return address.family === 4
    ? { family: 4, start: Number(start), end: Number(end) }
    : { family: 6, start, end };
}

/** Sorts and merges overlapping or adjacent ranges so a binary search finds at most one. */
function mergeRanges<T extends number | bigint>(
  ranges: { start: T; end: T }[],
  successor: (value: T) => T,
): { starts: T[]; ends: T[] } {
  ranges.sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const starts: T[] = [];
  const ends: T[] = [];
  for (const range of ranges) {
    const last = ends.length - 1;
    const lastEnd = ends[last];
    if (lastEnd !== undefined && range.start <= successor(lastEnd)) {
      if (range.end > lastEnd) ends[last] = range.end;
    } else {
      starts.push(range.start);
      ends.push(range.end);
    }
  }
  return { starts, ends };
}

function contains<T extends number | bigint>(starts: readonly T[], ends: readonly T[], value: T): boolean {
  let low = 0;
  let high = starts.length - 1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (value < (starts[mid] as T)) high = mid - 1;
    else if (value > (ends[mid] as T)) low = mid + 1;
    else return true;
  }
  return false;
}

/**
 * Compiles an `ipFilter`. Throws ConfigError naming the first bad entry (the policy loader has
 * already reported bad entries with their position, so this only fires for direct callers).
 */
export function compileIpFilter(spec: IpFilterSpec): IpFilter {
  const v4: { start: number; end: number }[] = [];
  const v6: { start: bigint; end: bigint }[] = [];
  for (const entry of spec.addresses) {
    const range = parseAddressEntry(entry);
    if ('error' in range) throw new ConfigError(`ipFilter: ${range.error}`);
    if (range.family === 4) v4.push({ start: range.start, end: range.end });
    else v6.push({ start: range.start, end: range.end });
  }
  const set4 = mergeRanges(v4, (n) => n + 1);
  const set6 = mergeRanges(v6, (n) => n + 1n);
  const action = spec.action;
  const description = `${action} ${spec.addresses.map((e) => (typeof e === 'string' ? e : `${e.from}-${e.to}`)).join(', ')}`;

  return Object.freeze({
    action,
    allows(ip: string, trace?: TraceSink): boolean {
      const address = parseIpAgain(ip);
      if (address === undefined) {
        trace?.step({
          stage: 'ip',
          check: 'ipFilter',
          ok: false,
          detail: `client address "${ip}" is unreadable`,
        });
        return false;
      }
      const listed =
        address.family === 4
          ? contains(set4.starts, set4.ends, address.value)
          : contains(set6.starts, set6.ends, address.value);
      const allowed = action === 'allow' ? listed : !listed;
      trace?.step({
        stage: 'ip',
        check: 'ipFilter',
        ok: allowed,
        detail: `${formatIp(address)} is ${listed ? '' : 'not '}listed in ${description}`,
      });
      return allowed;
    },
    describe(): string {
      return description;
    },
  });
}
