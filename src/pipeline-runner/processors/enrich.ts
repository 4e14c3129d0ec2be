/** Processors that add derived data: geoip, user_agent, community_id, network_direction, fingerprint. */
import crypto, { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { UAParser } from 'ua-parser-js';
import { FieldPath, ProcessorError, isObject, javaTypeName, type JsonObject } from '../document.ts';
import type { IngestDocument } from '../document.ts';
import { createGeoIpLookup, type GeoIpLookup, type GeoIpRecord } from '../geoip.ts';
import { DefinitionError, type ProcessorFactory } from '../processor.ts';
import { readField } from './mutate.ts';

let sharedGeoIp: GeoIpLookup | undefined;

const GEOIP_PROPERTIES = ['continent_name', 'country_iso_code', 'country_name', 'region_iso_code', 'region_name', 'city_name', 'timezone', 'location', 'postal_code', 'ip'] as const;
const GEOIP_DEFAULT = ['continent_name', 'country_iso_code', 'country_name', 'region_iso_code', 'region_name', 'city_name', 'location'];

export const geoip: ProcessorFactory<'geoip'> = (o, ctx) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field);
  const properties = o.properties ?? GEOIP_DEFAULT;
  properties.forEach((p, i) => {
    if (!(GEOIP_PROPERTIES as readonly string[]).includes(p)) throw new DefinitionError(`illegal property value [${p}]. valid values are [${GEOIP_PROPERTIES.join(', ')}]`, `properties[${i}]`);
  });
  const lookup = (ip: string): JsonObject | undefined => {
    if (isIP(ip) === 0) throw new ProcessorError(`'${ip}' is not an IP string literal.`);
    const db = ctx.options.geoip ?? (sharedGeoIp ??= createGeoIpLookup());
    const record = db.lookup(ip);
    if (!record) return undefined;
    const out: JsonObject = {};
    for (const p of properties) {
      const value = p === 'ip' ? ip : record[p as keyof GeoIpRecord];
      if (value !== undefined) out[p] = typeof value === 'object' ? { ...value } : value;
    }
    return Object.keys(out).length > 0 ? out : undefined;
  };
  const nullMessage = `field [${o.field}] is null, cannot extract geoip information.`;
  return (doc) => {
    const value = readField(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    if (typeof value === 'string') {
      const record = lookup(value);
      if (record) target.set(doc, record);
      return;
    }
    if (!Array.isArray(value)) throw new ProcessorError(`field [${o.field}] of type [${javaTypeName(value)}] cannot be cast to [java.lang.String]`);
    const records: JsonObject[] = [];
    for (const ip of value) {
      const record = lookup(String(ip));
      if (record && o.first_only) {
        target.set(doc, record);
        return;
      }
      if (record) records.push(record);
    }
    if (records.length > 0) target.set(doc, records);
  };
};

const uaCache = new Map<string, JsonObject>();

function parseUserAgent(original: string, extractDeviceType: boolean): JsonObject {
  const cached = uaCache.get(original);
  if (cached) return cached;
  const parsed = UAParser(original);
  const out: JsonObject = { name: parsed.browser.name ?? 'Other' };
  if (parsed.browser.version) out.version = parsed.browser.version;
  const os: JsonObject = { name: parsed.os.name ?? 'Other' };
  if (parsed.os.name && parsed.os.version) {
    os.version = parsed.os.version;
    os.full = `${parsed.os.name} ${parsed.os.version}`;
  }
  out.os = os;
  const device: JsonObject = { name: parsed.device.model ?? 'Other' };
  if (extractDeviceType) {
    const type = parsed.device.type;
    device.type = type === 'mobile' ? 'Phone' : type === 'tablet' ? 'Tablet' : type ? type[0]!.toUpperCase() + type.slice(1) : parsed.os.name ? 'Desktop' : 'Other';
  }
  out.device = device;
  if (uaCache.size > 5000) uaCache.clear();
  uaCache.set(original, out);
  return out;
}

export const user_agent: ProcessorFactory<'user_agent'> = (o) => {
  const field = new FieldPath(o.field);
  const target = new FieldPath(o.target_field);
  const properties = new Set(o.properties ?? ['name', 'os', 'device', 'original', 'version']);
  const nullMessage = `field [${o.field}] is null, cannot parse user-agent.`;
  return (doc) => {
    const value = readField(doc, field, o.ignore_missing, nullMessage);
    if (value === undefined) return false;
    if (typeof value !== 'string') throw new ProcessorError(`field [${o.field}] of type [${javaTypeName(value)}] cannot be cast to [java.lang.String]`);
    const parsed = parseUserAgent(value, o.extract_device_type);
    const out: JsonObject = {};
    if (properties.has('original')) out.original = value;
    for (const key of ['name', 'version', 'os', 'device'] as const) {
      const part = parsed[key];
      if (properties.has(key) && part !== undefined) out[key] = isObject(part) ? { ...part } : part;
    }
    target.set(doc, out);
  };
};

const ipBytesCache = new Map<string, Uint8Array | undefined>();

/**
 * IPv4/IPv6 text → bytes (4 or 16), undefined when not an address. Flows repeat their endpoints, so
 * results are kept in a small bounded cache; callers must not modify the returned bytes.
 */
export function ipBytes(ip: string): Uint8Array | undefined {
  let bytes = ipBytesCache.get(ip);
  if (bytes === undefined && !ipBytesCache.has(ip)) {
    bytes = parseIpBytes(ip);
    if (ipBytesCache.size >= 4096) ipBytesCache.clear();
    ipBytesCache.set(ip, bytes);
  }
  return bytes;
}

function parseIpBytes(ip: string): Uint8Array | undefined {
  const version = isIP(ip);
  if (version === 4) return Uint8Array.from(ip.split('.').map(Number));
  if (version !== 6) return undefined;
  let text = ip.replace(/%.*$/, '');
  const tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    text = text.slice(0, -v4[1]!.length) + `${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', rest] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const restGroups = rest ? rest.split(':') : [];
  const groups = rest === undefined ? headGroups : [...headGroups, ...Array(8 - headGroups.length - restGroups.length).fill('0'), ...restGroups];
  for (const g of groups) {
    const n = parseInt(g, 16);
    tail.push(n >> 8, n & 0xff);
  }
  return Uint8Array.from(tail);
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** SHA-1 as base64; crypto.hash (one-shot, Node ≥ 20.12) when present, else a Hash object. */
const sha1Base64: (data: Buffer) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (data) => (crypto as unknown as { hash(algorithm: string, data: Buffer, encoding: 'base64'): string }).hash('sha1', data, 'base64')
    : (data) => createHash('sha1').update(data).digest('base64');

const TRANSPORTS: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, 'ipv6-icmp': 58, icmpv6: 58, eigrp: 88, ospf: 89, pim: 103, vrrp: 112, sctp: 132 };
// ICMP types that have a reply type; such flows hash the same in both directions.
const ICMP4_PAIRS: Record<number, number> = { 8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 10: 9, 9: 10, 17: 18, 18: 17 };
const ICMP6_PAIRS: Record<number, number> = { 128: 129, 129: 128, 133: 134, 134: 133, 135: 136, 136: 135, 130: 131, 131: 130, 144: 145, 145: 144 };

export const community_id: ProcessorFactory<'community_id'> = (o) => {
  const f = (name: string) => new FieldPath(name);
  const [srcIp, dstIp, srcPort, dstPort, iana, transport, icmpType, icmpCode, target] = [o.source_ip, o.destination_ip, o.source_port, o.destination_port, o.iana_number, o.transport, o.icmp_type, o.icmp_code, o.target_field].map(f) as [FieldPath, FieldPath, FieldPath, FieldPath, FieldPath, FieldPath, FieldPath, FieldPath, FieldPath];
  const seed = Buffer.from([o.seed >> 8, o.seed & 0xff]);
  return (doc) => {
    const missing = (what: string) => {
      if (o.ignore_missing) return undefined;
      throw new ProcessorError(`field [${what}] not present as part of path [${what}]`);
    };
    const sip = srcIp.get(doc);
    const dip = dstIp.get(doc);
    if (typeof sip !== 'string' || typeof dip !== 'string') return missing(typeof sip !== 'string' ? o.source_ip : o.destination_ip);
    let saddr = ipBytes(sip);
    let daddr = ipBytes(dip);
    if (!saddr || !daddr) throw new ProcessorError(`unable to parse IP address [${!saddr ? sip : dip}]`);
    const ianaValue = iana.get(doc);
    const transportValue = transport.get(doc);
    const proto = typeof ianaValue === 'number' ? ianaValue : typeof ianaValue === 'string' && /^\d+$/.test(ianaValue) ? Number(ianaValue) : typeof transportValue === 'string' ? TRANSPORTS[transportValue.toLowerCase()] : undefined;
    if (proto === undefined) return missing(o.transport);
    let sport = 0;
    let dport = 0;
    let oneWay = false;
    if (proto === 1 || proto === 58) {
      const type = Number(icmpType.get(doc));
      const code = Number(icmpCode.get(doc) ?? 0);
      if (!Number.isInteger(type)) return missing(o.icmp_type);
      const peer = (proto === 1 ? ICMP4_PAIRS : ICMP6_PAIRS)[type];
      sport = type;
      if (peer === undefined) {
        dport = code;
        oneWay = true;
      } else dport = peer;
    } else if (proto === 6 || proto === 17 || proto === 132) {
      sport = Number(srcPort.get(doc));
      dport = Number(dstPort.get(doc));
      if (!Number.isInteger(sport) || !Number.isInteger(dport)) return missing(Number.isInteger(sport) ? o.destination_port : o.source_port);
    }
    const cmp = compareBytes(saddr, daddr);
    if (!oneWay && (cmp > 0 || (cmp === 0 && sport > dport))) {
      [saddr, daddr] = [daddr, saddr];
      [sport, dport] = [dport, sport];
    }
    // One buffer and a one-shot hash: the streaming Hash object cost more than the hashing itself.
    const withPorts = proto === 1 || proto === 58 || proto === 6 || proto === 17 || proto === 132;
    const input = Buffer.allocUnsafe(2 + saddr.length + daddr.length + 2 + (withPorts ? 4 : 0));
    let at = seed.copy(input, 0);
    input.set(saddr, at);
    at += saddr.length;
    input.set(daddr, at);
    at += daddr.length;
    input[at++] = proto;
    input[at++] = 0;
    if (withPorts) {
      input[at++] = sport >> 8;
      input[at++] = sport & 0xff;
      input[at++] = dport >> 8;
      input[at++] = dport & 0xff;
    }
    target.set(doc, `1:${sha1Base64(input)}`);
    return undefined;
  };
};

interface Cidr {
  bytes: Uint8Array;
  bits: number;
}

function parseCidr(text: string): Cidr | undefined {
  const [addr = '', bitsText] = text.split('/');
  const bytes = ipBytes(addr);
  if (!bytes) return undefined;
  const bits = bitsText === undefined ? bytes.length * 8 : Number(bitsText);
  if (!Number.isInteger(bits) || bits < 0 || bits > bytes.length * 8) return undefined;
  return { bytes, bits };
}

function inCidr(ip: Uint8Array, cidr: Cidr): boolean {
  if (ip.length !== cidr.bytes.length) return false;
  let bits = cidr.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((ip[i]! & mask) !== (cidr.bytes[i]! & mask)) return false;
  }
  return true;
}

const NAMED_NETWORKS: Record<string, string[]> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fd00::/8'],
  link_local_unicast: ['169.254.0.0/16', 'fe80::/10'],
  link_local_multicast: ['224.0.0.0/24', 'ff02::/16'],
  interface_local_multicast: ['ff01::/16'],
  multicast: ['224.0.0.0/4', 'ff00::/8'],
  unspecified: ['0.0.0.0/32', '::/128'],
};

function networkMatcher(name: string): ((ip: Uint8Array) => boolean) | undefined {
  const named = NAMED_NETWORKS[name];
  if (named) {
    const cidrs = named.map((c) => parseCidr(c)!);
    return (ip) => cidrs.some((c) => inCidr(ip, c));
  }
  if (name === 'public' || name === 'global_unicast' || name === 'unicast') {
    const nonPublic = ['loopback', 'private', 'link_local_unicast', 'multicast', 'unspecified'].flatMap((n) => NAMED_NETWORKS[n]!).map((c) => parseCidr(c)!);
    const broadcast = parseCidr('255.255.255.255/32')!;
    return (ip) => !nonPublic.some((c) => inCidr(ip, c)) && !inCidr(ip, broadcast);
  }
  const cidr = parseCidr(name);
  return cidr ? (ip) => inCidr(ip, cidr) : undefined;
}

export const network_direction: ProcessorFactory<'network_direction'> = (o) => {
  const source = new FieldPath(o.source_ip);
  const destination = new FieldPath(o.destination_ip);
  const target = new FieldPath(o.target_field);
  if ((o.internal_networks === undefined) === (o.internal_networks_field === undefined)) {
    throw new DefinitionError('exactly one of [internal_networks] or [internal_networks_field] is required');
  }
  const compile = (names: string[], fail: (name: string, i: number) => never) =>
    names.map((name, i) => networkMatcher(name) ?? fail(name, i));
  const staticNetworks = o.internal_networks
    ? compile(o.internal_networks, (name, i) => {
        throw new DefinitionError(`unknown network [${name}]: expected a CIDR or a named network`, `internal_networks[${i}]`);
      })
    : undefined;
  const networksField = o.internal_networks_field ? new FieldPath(o.internal_networks_field) : undefined;
  return (doc: IngestDocument) => {
    let networks = staticNetworks;
    if (!networks) {
      const names = networksField!.get(doc);
      if (!Array.isArray(names)) {
        if (o.ignore_missing) return;
        throw new ProcessorError(`field [${o.internal_networks_field}] not present as part of path [${o.internal_networks_field}]`);
      }
      networks = compile(names.map(String), (name) => {
        throw new ProcessorError(`unknown network [${name}]`);
      });
    }
    const s = source.get(doc);
    const d = destination.get(doc);
    if (typeof s !== 'string' || typeof d !== 'string') {
      if (o.ignore_missing) return;
      const which = typeof s !== 'string' ? o.source_ip : o.destination_ip;
      throw new ProcessorError(`field [${which}] not present as part of path [${which}]`);
    }
    const sb = ipBytes(s);
    const db = ipBytes(d);
    if (!sb || !db) throw new ProcessorError(`unable to parse IP address [${!sb ? s : d}]`);
    const sInternal = networks.some((m) => m(sb));
    const dInternal = networks.some((m) => m(db));
    target.set(doc, sInternal && dInternal ? 'internal' : sInternal ? 'outbound' : dInternal ? 'inbound' : 'external');
  };
};

/** Canonical text of a value: object keys sorted, so equal documents hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (isObject(value)) return `{${Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical(value[k])}`).join(',')}}`;
  return JSON.stringify(value) ?? 'null';
}

export const fingerprint: ProcessorFactory<'fingerprint'> = (o) => {
  if (o.method === 'MurmurHash3') throw new DefinitionError('MurmurHash3 is not supported in process; use SHA-1, SHA-256, SHA-512 or MD5', 'method');
  const algorithm = { MD5: 'md5', 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-512': 'sha512' }[o.method];
  const fields = [...o.fields].sort().map((f) => new FieldPath(f));
  const target = new FieldPath(o.target_field);
  return (doc) => {
    const hash = createHash(algorithm);
    if (o.salt !== undefined) hash.update(o.salt);
    let any = false;
    for (const field of fields) {
      const value = field.get(doc);
      if (value === undefined) {
        if (o.ignore_missing) continue;
        throw new ProcessorError(`field [${field.path}] not present as part of path [${field.path}]`);
      }
      any = true;
      hash.update(`${field.path}\u0000${canonical(value)}\u0000`);
    }
    if (!any) {
      if (o.ignore_missing) return;
      throw new ProcessorError('none of the specified fields can be found');
    }
    target.set(doc, hash.digest('base64'));
  };
};
