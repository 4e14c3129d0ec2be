/**
 * IP parsing for matching: IPv4 as a signed 32-bit integer (a V8 small integer, so a Map keyed by it
 * allocates nothing per key) and IPv6 as 16 bytes. Hot path: no regexes, no allocation for IPv4.
 */

/** IPv4 dotted quad → int32 (the unsigned value's bits), or undefined when not exactly one. */
export function parseIpv4(text: string): number | undefined {
  let value = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 46) {
      if (digits === 0 || ++dots > 3) return undefined;
      value = (value << 8) | octet;
      octet = 0;
      digits = 0;
    } else if (c >= 48 && c <= 57) {
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else return undefined;
  }
  if (dots !== 3 || digits === 0) return undefined;
  return (value << 8) | octet;
}

export function formatIpv4(value: number): string {
  return `${(value >>> 24) & 255}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** IPv6 (with :: and an optional embedded IPv4 tail; a %zone is ignored) → 16 bytes, or undefined. */
export function parseIpv6(text: string): Uint8Array | undefined {
  if (text.indexOf(':') < 0) return undefined;
  const zone = text.indexOf('%');
  const addr = zone >= 0 ? text.slice(0, zone) : text;
  const halves = addr.split('::');
  if (halves.length > 2) return undefined;
  const groups = (part: string): number[] | undefined => {
    if (part === '') return [];
    const out: number[] = [];
    const pieces = part.split(':');
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i]!;
      if (i === pieces.length - 1 && p.includes('.')) {
        const v4 = parseIpv4(p);
        if (v4 === undefined) return undefined;
        out.push((v4 >>> 16) & 0xffff, v4 & 0xffff);
      } else {
        if (p.length === 0 || p.length > 4 || !/^[0-9a-fA-F]+$/.test(p)) return undefined;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const all = [...head, ...new Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((g, i) => {
    bytes[i * 2] = g >>> 8;
    bytes[i * 2 + 1] = g & 255;
  });
  return bytes;
}

/** A canonical key for an IPv6 address (32 hex digits): equal addresses, equal keys, whatever the spelling. */
export function ipv6Key(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < 16; i++) out += (bytes[i]! < 16 ? '0' : '') + bytes[i]!.toString(16);
  return out;
}

/** An IPv4-mapped IPv6 address (::ffff:a.b.c.d) as its IPv4 int32, else undefined. */
export function mappedIpv4(bytes: Uint8Array): number | undefined {
  for (let i = 0; i < 10; i++) if (bytes[i] !== 0) return undefined;
  if (bytes[10] !== 255 || bytes[11] !== 255) return undefined;
  return (bytes[12]! << 24) | (bytes[13]! << 16) | (bytes[14]! << 8) | bytes[15]!;
}

export interface ParsedCidr {
  family: 4 | 6;
  /** Network bytes (4 or 16), host bits cleared. */
  bytes: Uint8Array;
  prefix: number;
}

/** `a.b.c.d/n` or `x::/n` (a bare address is a /32 or /128), host bits cleared; undefined when not one. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const slash = text.indexOf('/');
  const addr = slash >= 0 ? text.slice(0, slash) : text;
  const v4 = parseIpv4(addr);
  const bytes = v4 !== undefined ? new Uint8Array([(v4 >>> 24) & 255, (v4 >>> 16) & 255, (v4 >>> 8) & 255, v4 & 255]) : parseIpv6(addr);
  if (!bytes) return undefined;
  const max = bytes.length * 8;
  const prefixText = slash >= 0 ? text.slice(slash + 1) : String(max);
  if (!/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > max) return undefined;
  for (let bit = prefix; bit < max; bit++) bytes[bit >> 3]! &= ~(0x80 >> (bit & 7));
  return { family: v4 !== undefined ? 4 : 6, bytes, prefix };
}

export function formatCidr(c: ParsedCidr): string {
  if (c.family === 4) return `${c.bytes.join('.')}/${c.prefix}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((c.bytes[i]! << 8) | c.bytes[i + 1]!).toString(16));
  return `${groups.join(':')}/${c.prefix}`;
}
