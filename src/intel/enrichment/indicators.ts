import type { LatestIndicator } from '../store/index.ts';
import { parseCidr, parseIpv4, parseIpv6, ipv6Key, mappedIpv4, type ParsedCidr } from './ip.ts';

export type { LatestIndicator };

/**
 * Where indicators come from: the indicator store's read of the active set, or (with `since`) of every
 * indicator whose matcher-relevant fields changed since then, inactive ones included. IndicatorStore fits.
 */
export interface IndicatorSource {
  activeIndicators(options?: { since?: Date }): AsyncIterable<LatestIndicator>;
}

/** The kinds of observable an event field can be matched as. */
export type AtomKind = 'ipv4' | 'ipv6' | 'cidr' | 'domain' | 'url' | 'hash' | 'email';

/** One matchable value of an indicator, normalised (lowercase; IPv4 as int32; IPv6 as 32 hex digits). */
export type IndicatorAtom =
  | { kind: 'ipv4'; ip: number; text: string }
  | { kind: 'ipv6'; key: string; text: string }
  | { kind: 'cidr'; cidr: ParsedCidr; text: string }
  | { kind: 'domain' | 'url' | 'hash' | 'email'; key: string; text: string };

/** A URL compared as Nyx compares them everywhere: trimmed and lowercased (the pipeline twin lowercases too). */
export function normaliseUrl(url: string): string {
  return url.trim().toLowerCase();
}

export function normaliseDomain(domain: string): string {
  const d = domain.trim().toLowerCase();
  return d.endsWith('.') ? d.slice(0, -1) : d;
}

/** An IP or CIDR text as an atom (an IPv4-mapped IPv6 address becomes IPv4). */
export function ipAtom(text: string): IndicatorAtom | undefined {
  const t = text.trim();
  if (t.includes('/')) {
    const cidr = parseCidr(t);
    if (!cidr) return undefined;
    if (cidr.prefix === cidr.bytes.length * 8) return ipAtom(t.slice(0, t.indexOf('/')));
    return { kind: 'cidr', cidr, text: t };
  }
  const v4 = parseIpv4(t);
  if (v4 !== undefined) return { kind: 'ipv4', ip: v4, text: t };
  const v6 = parseIpv6(t);
  if (!v6) return undefined;
  const mapped = mappedIpv4(v6);
  if (mapped !== undefined) return { kind: 'ipv4', ip: mapped, text: t };
  return { kind: 'ipv6', key: ipv6Key(v6), text: t };
}

/** Every matchable value one indicator carries (a file indicator may carry md5, sha1 and sha256). */
export function indicatorAtoms(indicator: LatestIndicator): IndicatorAtom[] {
  const ti = indicator.threat.indicator;
  const out: IndicatorAtom[] = [];
  const push = (atom: IndicatorAtom | undefined): void => {
    if (atom) out.push(atom);
  };
  const cidr = indicator.nyx.indicator.cidr;
  if (cidr) push(ipAtom(cidr));
  if (ti.ip) push(ipAtom(ti.ip));
  if (ti.domain) push({ kind: 'domain', key: normaliseDomain(ti.domain), text: ti.domain });
  const url = ti.url?.full;
  if (url) push({ kind: 'url', key: normaliseUrl(url), text: url });
  for (const h of [ti.file?.hash?.md5, ti.file?.hash?.sha1, ti.file?.hash?.sha256]) {
    if (h && /^[0-9a-fA-F]{32,128}$/.test(h.trim())) push({ kind: 'hash', key: h.trim().toLowerCase(), text: h });
  }
  if (ti.email?.address) push({ kind: 'email', key: ti.email.address.trim().toLowerCase(), text: ti.email.address });
  // A store that keeps the value generically (nyx.indicator.value) still matches by the indicator type.
  const value = indicator.nyx.indicator.value;
  if (out.length === 0 && value) {
    const type = ti.type.toLowerCase();
    if (type.startsWith('ipv') || type === 'cidr') push(ipAtom(value));
    else if (type === 'domain-name' || type === 'domain') push({ kind: 'domain', key: normaliseDomain(value), text: value });
    else if (type === 'url') push({ kind: 'url', key: normaliseUrl(value), text: value });
    else if (type === 'email-addr') push({ kind: 'email', key: value.trim().toLowerCase(), text: value });
    else if (type === 'file' && /^[0-9a-fA-F]{32,128}$/.test(value.trim())) push({ kind: 'hash', key: value.trim().toLowerCase(), text: value });
  }
  return out;
}

/** True while the indicator should match: active, not revoked, not past its expiry. */
export function isIndicatorLive(indicator: LatestIndicator, now: number): boolean {
  const n = indicator.nyx.indicator;
  if (n.active === false || n.revoked === true) return false;
  if (n.expires_at) {
    const at = Date.parse(n.expires_at);
    if (!Number.isNaN(at) && at <= now) return false;
  }
  return true;
}

/** The fused 0-100 score, or one read from an ECS confidence label, or 50 when nothing says. */
export function confidenceScore(indicator: LatestIndicator): number {
  const s = indicator.nyx.indicator.confidence_score;
  if (typeof s === 'number' && Number.isFinite(s)) return Math.max(0, Math.min(100, Math.round(s)));
  const label = String(indicator.threat.indicator.confidence ?? '').toLowerCase();
  return label === 'high' ? 85 : label === 'medium' ? 60 : label === 'low' ? 30 : label === 'none' ? 0 : 50;
}

/** ECS threat.indicator.confidence is a label; a score maps onto it. */
export function confidenceLabel(score: number): string {
  return score >= 70 ? 'High' : score >= 40 ? 'Medium' : score > 0 ? 'Low' : 'None';
}
