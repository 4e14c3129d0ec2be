import { isIP } from 'node:net';

/** An address as a big-endian 128-bit number (IPv4 as its IPv4-mapped form is not used: families stay apart). */
export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

export interface ParsedCidr {
  family: 4 | 6;
  network: bigint;
  prefix: number;
}

export function parseIp(text: string): ParsedIp | undefined {
  const kind = isIP(text);
  if (kind === 4) {
    let value = 0n;
    for (const octet of text.split('.')) value = (value << 8n) | BigInt(Number(octet));
    return { family: 4, value };
  }
  if (kind === 6) {
    let addr = text;
    const zone = addr.indexOf('%');
    if (zone >= 0) addr = addr.slice(0, zone);
    // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
    const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
    if (v4) {
      const p = parseIp(v4[1]!)!;
      addr = `${addr.slice(0, -v4[1]!.length)}${(p.value >> 16n).toString(16)}:${(p.value & 0xffffn).toString(16)}`;
    }
    const [head = '', tail] = addr.split('::');
    const headParts = head ? head.split(':') : [];
    const tailParts = tail !== undefined && tail !== '' ? tail.split(':') : [];
    const missing = 8 - headParts.length - tailParts.length;
    const parts = [...headParts, ...Array<string>(tail !== undefined ? missing : 0).fill('0'), ...tailParts];
    let value = 0n;
    for (const part of parts) value = (value << 16n) | BigInt(parseInt(part, 16));
    return { family: 6, value };
  }
  return undefined;
}

export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  const addr = parseIp(slash >= 0 ? text.slice(0, slash) : text);
  if (!addr) return undefined;
  const bits = addr.family === 4 ? 32 : 128;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(bits);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > bits) return undefined;
  const mask = prefix === 0 ? 0n : ((1n << BigInt(prefix)) - 1n) << BigInt(bits - prefix);
  return { family: addr.family, network: addr.value & mask, prefix };
}

export function cidrContains(cidr: ParsedCidr, ip: ParsedIp): boolean {
  if (cidr.family !== ip.family) return false;
  const bits = cidr.family === 4 ? 32 : 128;
  const shift = BigInt(bits - cidr.prefix);
  return ip.value >> shift === cidr.network >> shift;
}

/** Canonical text of an address, so `::1` and `0:0:0:0:0:0:0:1` compare equal. */
export function canonicalIp(text: string): string | undefined {
  const ip = parseIp(text);
  return ip ? `${ip.family}:${ip.value.toString(16)}` : undefined;
}
