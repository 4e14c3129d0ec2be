import { isIPv4, isIPv6 } from 'node:net';

/** IP and CIDR helpers over BigInt (no dependency; CIDR lists here are small). */
export interface IpRange {
  version: 4 | 6;
  start: bigint;
  end: bigint;
  prefix: number;
}

/** A dotted-quad IPv4 address as a number. */
export function v4ToBig(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) + BigInt(Number(part)), 0n);
}

/** A valid IPv6 address (an embedded IPv4 tail allowed) as a number. */
export function v6ToBig(ip: string): bigint {
  let text = ip;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const n = v4ToBig(v4[1]);
    text = text.slice(0, -v4[1].length) + `${(n >> 16n).toString(16)}:${(n & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const parts = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return parts.reduce((acc, part) => (acc << 16n) + BigInt(parseInt(part || '0', 16)), 0n);
}

/** A number below 2^32 as a dotted-quad IPv4 address. */
export function bigToV4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => ((n >> s) & 255n).toString()).join('.');
}

/** A number below 2^128 as canonical IPv6 text (RFC 5952: lowercase, the first longest zero run compressed). */
export function bigToV6(n: bigint): string {
  const parts: string[] = [];
  for (let i = 7; i >= 0; i--) parts.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (parts[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && parts[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return parts.join(':');
  return `${parts.slice(0, best).join(':')}::${parts.slice(best + bestLen).join(':')}`;
}

/** Canonical text of an IP (IPv4 without leading zeros, IPv6 compressed lowercase), or undefined. */
export function canonicalIp(text: string): { ip: string; version: 4 | 6 } | undefined {
  const t = text.trim().replace(/^\[|\]$/g, '');
  if (isIPv4(t)) return { ip: bigToV4(v4ToBig(t)), version: 4 };
  if (isIPv6(t) && !t.includes('%')) return { ip: bigToV6(v6ToBig(t)), version: 6 };
  return undefined;
}

/** Parses a.b.c.d/n or v6/n into its canonical network (host bits cleared). */
export function parseCidr(text: string): (IpRange & { text: string }) | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text.trim());
  if (!m?.[1] || !m[2]) return undefined;
  const ip = canonicalIp(m[1]);
  const prefix = Number(m[2]);
  if (!ip) return undefined;
  const bits = ip.version === 4 ? 32 : 128;
  if (prefix > bits) return undefined;
  const n = ip.version === 4 ? v4ToBig(ip.ip) : v6ToBig(ip.ip);
  const hostBits = BigInt(bits - prefix);
  const start = (n >> hostBits) << hostBits;
  const end = start + (1n << hostBits) - 1n;
  const text2 = `${ip.version === 4 ? bigToV4(start) : bigToV6(start)}/${prefix}`;
  return { version: ip.version, start, end, prefix, text: text2 };
}

export function ipToRange(ip: string): IpRange | undefined {
  const c = canonicalIp(ip);
  if (!c) return undefined;
  const n = c.version === 4 ? v4ToBig(c.ip) : v6ToBig(c.ip);
  return { version: c.version, start: n, end: n, prefix: c.version === 4 ? 32 : 128 };
}

/** The widest range (smallest prefix length) an indicator may name, per family. */
export interface PrefixLimits {
  ipv4: number;
  ipv6: number;
}

/**
 * Defaults for intel.max_prefix: an indicator such as 0.0.0.0/0 or 10.0.0.0/8 would make every event (or a whole
 * network's) match and every playbook fire, so feeds refuse ranges broader than a /16 (IPv4) or a /48 (IPv6).
 */
export const DEFAULT_MAX_PREFIX: PrefixLimits = { ipv4: 16, ipv6: 48 };

/** The limit a range is broader than, or undefined when it is within it. */
export function broaderThan(range: IpRange, limits: PrefixLimits): number | undefined {
  const limit = range.version === 4 ? limits.ipv4 : limits.ipv6;
  return range.prefix < limit ? limit : undefined;
}

export function rangesOverlap(a: IpRange, b: IpRange): boolean {
  return a.version === b.version && a.start <= b.end && b.start <= a.end;
}
