import { isIPv4, isIPv6 } from 'node:net';
import { bigToV4, bigToV6, v4ToBig, v6ToBig } from '../intel/normalize/index.ts';

/**
 * IP addresses and ranges as the response guardrails read them: every spelling an attacker can choose for a
 * block target (`127.1`, `0x7f.0.0.1`, `2130706433`, `0177.0.0.1`, `[::ffff:127.0.0.1]`, `fe80::1%eth0`,
 * `0000::0001`, CIDR blocks) is read the way a resolver, a browser or a firewall API may read it, and the
 * guardrail refuses the target when *any* of those readings touches a protected range.
 *
 * One 128-bit space holds both families: an IPv4 address a.b.c.d sits at ::ffff:a.b.c.d (RFC 4291 IPv4-mapped),
 * so the mapped spelling of a protected IPv4 address is the same number and needs no special case, and a v6 range
 * such as ::/0 is seen to contain every IPv4 address too.
 */

export interface AddressRange {
  /** First and last address, in the shared 128-bit space. */
  start: bigint;
  end: bigint;
}

/** One way of reading a target: the range it names and its canonical text (a.b.c.d, a.b.c.d/n, compressed v6). */
export interface AddressReading extends AddressRange {
  canonical: string;
  /** The IPv4 address an IPv6 spelling embeds (::a.b.c.d, NAT64): checked, but no second meaning of the text. */
  embedded?: true;
}

export type AddressRead = { ok: true; readings: AddressReading[] } | { ok: false; reason: string };

export interface ProtectedRange extends AddressRange {
  /** The range as written (127.0.0.0/8). */
  cidr: string;
  /** What it is and who protects it, for the refusal reason: "loopback (built in)". */
  label: string;
}

const V4_MAPPED = 0xffff_0000_0000n;
/**
 * Other IPv6 blocks that carry an IPv4 address in their last 32 bits, which a dual-stack host or a NAT64 gateway
 * may deliver to that IPv4 address: IPv4-compatible ::a.b.c.d (deprecated, ::/96) and the NAT64 well-known prefix.
 */
const V4_EMBEDDING = [0n, 0x0064_ff9b_0000_0000_0000_0000_0000_0000n];
const LOW_32 = 0xffff_ffffn;
/** Longer input is no address: bounded before any parsing. */
const MAX_TARGET_LENGTH = 100;

/**
 * Addresses no playbook may block or isolate, whatever an alert says: the host itself, addresses that mean
 * "every host", and ranges a firewall rule would turn into an outage.
 */
export const BUILTIN_PROTECTED_CIDRS: ReadonlyArray<{ cidr: string; what: string }> = [
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '::1/128', what: 'loopback' },
  { cidr: '0.0.0.0/8', what: 'unspecified ("this network")' },
  { cidr: '::/128', what: 'unspecified' },
  { cidr: '255.255.255.255/32', what: 'broadcast' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: 'ff00::/8', what: 'multicast' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: 'fe80::/10', what: 'link-local' },
];

/** Canonical text of one address in the shared space: IPv4 for the mapped block, compressed IPv6 otherwise. */
function pointText(n: bigint): string {
  return n >> 32n === 0xffffn ? bigToV4(n & 0xffff_ffffn) : bigToV6(n);
}

/**
 * Every IPv4 reading of a numeric host: the WHATWG/inet_aton one (1-4 parts, hex 0x…, octal 0…, the last part
 * filling the remaining bytes), and, when a part has a leading zero, the plain-decimal one some firewall APIs use.
 */
function ipv4Readings(text: string): bigint[] {
  if (!/^[0-9a-fA-FxX.]+$/.test(text)) return [];
  const found: bigint[] = [];
  try {
    const host = new URL(`http://${text}/`).hostname;
    if (isIPv4(host)) found.push(v4ToBig(host));
  } catch {
    // Not a number WHATWG accepts: there may still be a decimal reading.
  }
  const parts = text.replace(/\.$/, '').split('.');
  if (parts.length === 4 && parts.every((p) => /^\d{1,12}$/.test(p) && Number(p) <= 255) && parts.some((p) => p.length > 1 && p.startsWith('0'))) {
    const decimal = v4ToBig(parts.map((p) => String(Number(p))).join('.'));
    if (!found.includes(decimal)) found.push(decimal);
  }
  return found;
}

/** The IPv6 reading: brackets and a zone id (%eth0) removed, leading zeros and case made canonical by WHATWG. */
function ipv6Reading(text: string): bigint | undefined {
  const bare = text.replace(/^\[(.*)\]$/, '$1').replace(/%[^%]*$/, '');
  if (!bare.includes(':') || !/^[0-9a-fA-F:.]+$/.test(bare)) return undefined;
  try {
    const host = new URL(`http://[${bare}]/`).hostname.slice(1, -1);
    return isIPv6(host) ? v6ToBig(host) : undefined;
  } catch {
    return undefined;
  }
}

function rangeOf(point: bigint, prefix: number, bits: 32 | 128, base: bigint): AddressReading {
  const hostBits = BigInt(bits - prefix);
  const start = ((point - base) >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  const first = base + start;
  const single = prefix === bits;
  return { start: first, end: base + end, canonical: single ? pointText(first) : `${bits === 32 ? bigToV4(start) : bigToV6(first)}/${prefix}` };
}

/**
 * Reads a block target (an address or a CIDR block, in any spelling) into every range it may name.
 * Fails with the reason when no reading is an address.
 */
export function readAddressTarget(input: string): AddressRead {
  const text = input.normalize('NFKC').trim();
  if (!text) return { ok: false, reason: 'empty address' };
  if (text.length > MAX_TARGET_LENGTH) return { ok: false, reason: `"${text.slice(0, 40)}…" is longer than any address (${text.length} characters)` };
  const slash = text.lastIndexOf('/');
  const host = slash >= 0 ? text.slice(0, slash) : text;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : undefined;
  if (prefixText !== undefined && !/^\d{1,3}$/.test(prefixText)) return { ok: false, reason: `"${text}": the prefix length "${prefixText}" is not a number` };
  const readings: AddressReading[] = [];
  const v6 = ipv6Reading(host);
  if (v6 !== undefined) {
    const prefix = prefixText === undefined ? 128 : Number(prefixText);
    if (prefix > 128) return { ok: false, reason: `"${text}": an IPv6 prefix is at most /128` };
    const reading = rangeOf(v6, prefix, 128, 0n);
    readings.push(reading);
    // ::127.0.0.1 or 64:ff9b::7f00:1 may reach 127.0.0.1: the embedded IPv4 part is read too (:: and ::1 excepted).
    for (const base of V4_EMBEDDING) {
      const start = reading.start > base ? reading.start : base;
      const end = reading.end < base + LOW_32 ? reading.end : base + LOW_32;
      if (start > end || (base === 0n && end <= 1n)) continue;
      const low = base === 0n && start < 2n ? 2n : start;
      const single = low === end;
      readings.push({ start: V4_MAPPED + (low - base), end: V4_MAPPED + (end - base), canonical: single ? bigToV4(low - base) : reading.canonical, embedded: true });
    }
  } else {
    const prefix = prefixText === undefined ? 32 : Number(prefixText);
    const v4 = ipv4Readings(host);
    if (v4.length && prefix > 32) return { ok: false, reason: `"${text}": an IPv4 prefix is at most /32` };
    for (const n of v4) readings.push(rangeOf(V4_MAPPED + n, prefix, 32, V4_MAPPED));
  }
  if (!readings.length) return { ok: false, reason: `"${text.slice(0, 60)}" is not an IP address or CIDR block` };
  return { ok: true, readings };
}

/** Parses trusted range text (config, resolved addresses) into a labelled protected range; throws on bad text. */
export function protectedRange(text: string, label: string): ProtectedRange {
  const read = readAddressTarget(text);
  if (!read.ok) throw new Error(read.reason);
  const [first] = read.readings;
  if (!first || read.readings.length > 1) throw new Error(`"${text}" is ambiguous: write it as a canonical address or CIDR`);
  return { start: first.start, end: first.end, cidr: first.canonical, label };
}

export function builtinProtectedRanges(): ProtectedRange[] {
  return BUILTIN_PROTECTED_CIDRS.map(({ cidr, what }) => protectedRange(cidr, `${what}, protected by default`));
}

export function overlaps(a: AddressRange, b: AddressRange): boolean {
  return a.start <= b.end && b.start <= a.end;
}

/** Whether a range is exactly one address. */
export function isSingleAddress(r: AddressRange): boolean {
  return r.start === r.end;
}
