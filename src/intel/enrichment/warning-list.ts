import { CidrTrie } from './cidr-trie.ts';
import { ipAtom, normaliseDomain, normaliseUrl, type IndicatorAtom } from './indicators.ts';

/** Ranges no feed should ever make us flag: private, loopback, link-local, CGNAT, multicast, documentation-free. */
const PRIVATE_RANGES = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.168.0.0/16',
  '224.0.0.0/4', '240.0.0.0/4', '::/128', '::1/128', 'fc00::/7', 'fe80::/10', 'ff00::/8',
];

export interface WarningListOptions {
  private_ranges: boolean;
  own_addresses: string[];
  allow: string[];
}

/**
 * Values that never flag: private ranges, our own addresses, and the configured allowlist
 * (IPs and CIDRs, domains with their subdomains, URLs, hashes, email addresses).
 */
export class WarningList {
  private readonly v4 = new CidrTrie(32, 64);
  private readonly v6 = new CidrTrie(128, 64);
  private readonly domains = new Set<string>();
  private readonly exact = new Set<string>();
  /** What each trie entry is, for `explain`. */
  private readonly reasons: string[] = [];

  constructor(options: WarningListOptions) {
    if (options.private_ranges) for (const r of PRIVATE_RANGES) this.addIp(r, 'private range');
    for (const a of options.own_addresses) if (!this.addIp(a, 'own address')) throw new Error(`warning list: own address ${a} is not an IP or CIDR`);
    for (const a of options.allow) {
      if (this.addIp(a, 'allowlist')) continue;
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(a)) this.exact.add(normaliseUrl(a));
      else if (a.includes('@') || /^[0-9a-f]{32,128}$/i.test(a)) this.exact.add(a.trim().toLowerCase());
      else this.domains.add(normaliseDomain(a).replace(/^\*\./, ''));
    }
  }

  /** The reason an atom never flags (e.g. "private range"), or undefined when it may. */
  explain(atom: IndicatorAtom): string | undefined {
    if (atom.kind === 'ipv4') return this.reasons[this.v4.longestMatchV4(atom.ip)];
    if (atom.kind === 'ipv6') return this.reasons[this.v6.longestMatch(hexBytes(atom.key))];
    // A network counts as listed when its own address is (a private /16 inside 10/8, say).
    if (atom.kind === 'cidr') return this.reasons[(atom.cidr.family === 4 ? this.v4 : this.v6).longestMatch(atom.cidr.bytes)];
    if (atom.kind === 'domain') return this.domainListed(atom.key) ? 'allowlist' : undefined;
    if (atom.kind === 'url') {
      if (this.exact.has(atom.key)) return 'allowlist';
      const host = urlHost(atom.key);
      if (host === undefined) return undefined;
      const ip = ipAtom(host);
      return ip ? this.explain(ip) : this.domainListed(host) ? 'allowlist' : undefined;
    }
    return this.exact.has(atom.key) ? 'allowlist' : undefined;
  }

  private domainListed(domain: string): boolean {
    if (this.domains.size === 0) return false;
    let d = domain;
    for (;;) {
      if (this.domains.has(d)) return true;
      const dot = d.indexOf('.');
      if (dot < 0) return false;
      d = d.slice(dot + 1);
    }
  }

  private addIp(text: string, reason: string): boolean {
    const atom = ipAtom(text);
    if (!atom) return false;
    const id = this.reasons.push(reason) - 1;
    if (atom.kind === 'ipv4') this.v4.set(new Uint8Array([(atom.ip >>> 24) & 255, (atom.ip >>> 16) & 255, (atom.ip >>> 8) & 255, atom.ip & 255]), 32, id);
    else if (atom.kind === 'ipv6') this.v6.set(hexBytes(atom.key), 128, id);
    else if (atom.kind === 'cidr') (atom.cidr.family === 4 ? this.v4 : this.v6).set(atom.cidr.bytes, atom.cidr.prefix, id);
    return true;
  }
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export { hexBytes };

/** The host of a URL (lowercase, no port, IPv6 brackets removed), or undefined. */
export function urlHost(url: string): string | undefined {
  const scheme = url.indexOf('://');
  if (scheme < 0) return undefined;
  let rest = url.slice(scheme + 3);
  const end = rest.search(/[/?#]/);
  if (end >= 0) rest = rest.slice(0, end);
  const at = rest.lastIndexOf('@');
  if (at >= 0) rest = rest.slice(at + 1);
  if (rest.startsWith('[')) return rest.slice(1, rest.indexOf(']') > 0 ? rest.indexOf(']') : undefined).toLowerCase();
  const colon = rest.indexOf(':');
  return (colon >= 0 ? rest.slice(0, colon) : rest).toLowerCase();
}
