import { broaderThan, canonicalIp, DEFAULT_MAX_PREFIX, parseCidr, type PrefixLimits } from './net.ts';
import type { WarningLists } from './warninglists.ts';
import { feedIndicatorSchema, type FeedIndicator, type HashAlgo, type IndicatorType, type Tlp, TLP_LEVELS } from '../store/index.ts';
import { ownValue } from '../../reserved-keys.ts';

export { WarningLists, loadWarningLists, type WarningListFile } from './warninglists.ts';
export { canonicalIp, parseCidr, v4ToBig, v6ToBig, bigToV4, bigToV6, DEFAULT_MAX_PREFIX, type PrefixLimits } from './net.ts';

/** A row as a feed gave it, before validation: every field is untrusted text or number. */
export interface RawIndicator {
  value: unknown;
  /** The feed's own type vocabulary (MISP ip-dst, ThreatFox ip:port, STIX ipv4-addr, ours, or undefined: detect). */
  type?: unknown;
  confidence?: unknown;
  tlp?: unknown;
  first_seen?: unknown;
  last_seen?: unknown;
  expires_at?: unknown;
  revoked?: boolean;
  description?: unknown;
  reference?: unknown;
  tags?: unknown;
  source_id?: unknown;
  provider?: string;
}

export interface NormalizeDefaults {
  feed: string;
  provider: string;
  confidence: number;
  tlp: Tlp;
  expiryDays: number;
  decayHalfLifeDays?: number;
  allowTlpRed: boolean;
  /** Ranges broader than this are refused (default DEFAULT_MAX_PREFIX); a feed that allows broad ranges sets 0. */
  maxPrefix?: PrefixLimits;
}

/** Why a row was not stored: `rejected` is bad data, `skipped` is policy (warning list, TLP:RED). */
export type NormalizeOutcome = { ok: true; indicator: FeedIndicator } | { ok: false; kind: 'rejected' | 'skipped'; reason: string };

/** Type vocabularies of MISP, ThreatFox/URLhaus, STIX and plain words, onto ours. */
const TYPE_ALIASES: Record<string, IndicatorType | HashAlgo | 'ip' | 'domain|ip' | 'hostname'> = {
  'ip-src': 'ip',
  'ip-dst': 'ip',
  'ip-src|port': 'ip',
  'ip-dst|port': 'ip',
  'ip:port': 'ip',
  ip: 'ip',
  ipv4: 'ipv4-addr',
  ipv6: 'ipv6-addr',
  'ipv4-addr': 'ipv4-addr',
  'ipv6-addr': 'ipv6-addr',
  cidr: 'ip',
  'ip-range': 'ip',
  domain: 'domain-name',
  'domain-name': 'domain-name',
  hostname: 'domain-name',
  fqdn: 'domain-name',
  'domain|ip': 'domain|ip',
  url: 'url',
  uri: 'url',
  link: 'url',
  md5: 'md5',
  md5_hash: 'md5',
  sha1: 'sha1',
  sha1_hash: 'sha1',
  sha256: 'sha256',
  sha256_hash: 'sha256',
  'filename|md5': 'md5',
  'filename|sha1': 'sha1',
  'filename|sha256': 'sha256',
  hash: 'file',
  file: 'file',
  email: 'email-addr',
  'email-src': 'email-addr',
  'email-dst': 'email-addr',
  'email-addr': 'email-addr',
  'filehash-md5': 'md5',
  'filehash-sha1': 'sha1',
  'filehash-sha256': 'sha256',
  ipv4addr: 'ipv4-addr',
};

const DOMAIN_RE = /^(?=.{1,253}$)(?:(?!-)[a-z0-9_-]{1,63}(?<!-)\.)+[a-z][a-z0-9-]{0,62}$/;
const EMAIL_RE = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
const HASH_BY_LENGTH: Record<number, HashAlgo> = { 32: 'md5', 40: 'sha1', 64: 'sha256' };

/** hxxp://evil[.]example → http://evil.example: feeds publish defanged values. */
export function refang(value: string): string {
  return value
    .trim()
    .replace(/^hxxp/i, 'http')
    .replace(/\[\.\]|\(\.\)|\{\.\}/g, '.')
    .replace(/\[:\]/g, ':')
    .replace(/\[@\]|\[at\]/gi, '@');
}

function text(v: unknown, max: number): string | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const s = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  return s === undefined ? undefined : s.slice(0, max);
}

/** Dates as feeds send them: ISO 8601, "YYYY-MM-DD HH:MM:SS" (UTC, abuse.ch), epoch seconds or millis. */
export function parseFeedDate(v: unknown): string | undefined | 'invalid' {
  if (v === undefined || v === null || v === '') return undefined;
  if (typeof v === 'number' || (typeof v === 'string' && /^\d{9,13}$/.test(v.trim()))) {
    const n = Number(v);
    const ms = n < 1e11 ? n * 1000 : n;
    const d = new Date(ms);
    return Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString();
  }
  if (typeof v !== 'string') return 'invalid';
  let s = v.trim();
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}(:\d{2})?( UTC)?$/.test(s)) s = `${s.replace(' UTC', '').replace(' ', 'T')}Z`;
  // Zone-less ISO timestamps (OTX, MISP) are UTC, whatever the local zone is.
  else if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) s = `${s}Z`;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString();
}

function normalizeTlp(v: unknown): Tlp | undefined | 'invalid' {
  if (v === undefined || v === null || v === '') return undefined;
  const s = String(v).trim().toUpperCase().replace(/^TLP:/, '').replace(/^TLP_/, '');
  if (s === 'WHITE' || s === 'CLEAR') return 'CLEAR';
  return (TLP_LEVELS as readonly string[]).includes(s) ? (s as Tlp) : 'invalid';
}

function reject(reason: string): NormalizeOutcome {
  return { ok: false, kind: 'rejected', reason };
}

function detect(value: string): IndicatorType | HashAlgo | 'ip' | undefined {
  if (/^[0-9a-f]+$/i.test(value) && HASH_BY_LENGTH[value.length]) return HASH_BY_LENGTH[value.length];
  if (canonicalIp(value) || parseCidr(value) || /^\d+\.\d+\.\d+\.\d+:\d+$/.test(value)) return 'ip';
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return 'url';
  if (value.includes('@')) return 'email-addr';
  if (DOMAIN_RE.test(value.toLowerCase().replace(/\.$/, ''))) return 'domain-name';
  return undefined;
}

/**
 * Validates and normalises one feed row into a FeedIndicator: canonical value, known type, dates,
 * confidence and TLP; warning-listed values and TLP:RED (unless allowed) are skipped with the reason.
 */
export function normalizeIndicator(raw: RawIndicator, defaults: NormalizeDefaults, warnings: WarningLists, now: Date = new Date()): NormalizeOutcome {
  const rawValue = text(raw.value, 4096);
  if (!rawValue) return reject('empty value');
  let value = refang(rawValue);
  const typeText = text(raw.type, 100)?.toLowerCase();
  // The feed's type text is data: only the table's own entries count (`constructor` is not a type).
  let kind = typeText && typeText !== 'auto' ? ownValue(TYPE_ALIASES, typeText) : detect(value);
  if (!kind) return reject(typeText ? `unsupported indicator type ${typeText}` : `cannot tell the indicator type of ${value.slice(0, 80)}`);
  if (kind === 'domain|ip') {
    value = value.split('|')[0] ?? '';
    kind = 'domain-name';
  }
  if (typeText?.startsWith('filename|')) value = value.split('|').at(-1) ?? '';
  if (kind === 'file') kind = HASH_BY_LENGTH[value.length] ?? 'file';

  let type: IndicatorType;
  let hash: HashAlgo | undefined;
  let cidr = false;
  switch (kind) {
    case 'ip':
    case 'ipv4-addr':
    case 'ipv6-addr': {
      let v = value;
      if (v.includes('|')) v = v.split('|')[0] ?? ''; // MISP ip-dst|port
      if (/^\d+\.\d+\.\d+\.\d+:\d+$/.test(v)) v = v.slice(0, v.lastIndexOf(':'));
      const m = /^\[([^\]]+)\]:\d+$/.exec(v);
      if (m?.[1]) v = m[1];
      if (v.includes('/')) {
        const c = parseCidr(v);
        if (!c) return reject(`not a CIDR block: ${v.slice(0, 80)}`);
        // A block this wide would make every event in it match and every playbook fire: refuse it unless the feed allows it.
        const widest = broaderThan(c, defaults.maxPrefix ?? DEFAULT_MAX_PREFIX);
        if (widest !== undefined) {
          return reject(`${c.text} is broader than /${widest}, the widest IPv${c.version} range this feed accepts (its max_prefix or allow_broad_ranges can allow it)`);
        }
        cidr = c.prefix < (c.version === 4 ? 32 : 128);
        value = cidr ? c.text : c.text.split('/')[0] ?? c.text;
        type = c.version === 4 ? 'ipv4-addr' : 'ipv6-addr';
      } else {
        const ip = canonicalIp(v);
        if (!ip) return reject(`not an IP address: ${v.slice(0, 80)}`);
        value = ip.ip;
        type = ip.version === 4 ? 'ipv4-addr' : 'ipv6-addr';
      }
      if (kind !== 'ip' && kind !== type) return reject(`${value} is not ${kind}`);
      const listed = warnings.ipListed(value);
      if (listed) return { ok: false, kind: 'skipped', reason: `warning list ${listed}` };
      break;
    }
    case 'domain-name': {
      value = value.toLowerCase().replace(/\.$/, '');
      if (!DOMAIN_RE.test(value)) return reject(`not a domain name: ${value.slice(0, 80)}`);
      const listed = warnings.domainListed(value);
      if (listed) return { ok: false, kind: 'skipped', reason: `warning list ${listed}` };
      type = 'domain-name';
      break;
    }
    case 'url': {
      let u: URL;
      try {
        u = new URL(value);
      } catch {
        return reject(`not a URL: ${value.slice(0, 80)}`);
      }
      if (!['http:', 'https:', 'ftp:', 'tcp:', 'udp:'].includes(u.protocol) || !u.hostname) return reject(`not a network URL: ${value.slice(0, 80)}`);
      const host = u.hostname.replace(/^\[|\]$/g, '');
      const listed = canonicalIp(host) ? warnings.ipListed(host) : warnings.domainListed(host);
      if (listed) return { ok: false, kind: 'skipped', reason: `warning list ${listed}` };
      type = 'url';
      break;
    }
    case 'md5':
    case 'sha1':
    case 'sha256': {
      value = value.toLowerCase();
      if (!/^[0-9a-f]+$/.test(value) || HASH_BY_LENGTH[value.length] !== kind) return reject(`not a ${kind} hash: ${value.slice(0, 80)}`);
      type = 'file';
      hash = kind;
      break;
    }
    case 'email-addr': {
      value = value.toLowerCase();
      if (!EMAIL_RE.test(value)) return reject(`not an email address: ${value.slice(0, 80)}`);
      const listed = warnings.domainListed(value.split('@')[1] ?? '');
      if (listed) return { ok: false, kind: 'skipped', reason: `warning list ${listed}` };
      type = 'email-addr';
      break;
    }
    default:
      return reject(`cannot tell the hash type of ${value.slice(0, 80)}`);
  }

  const confidence = raw.confidence === undefined || raw.confidence === null || raw.confidence === '' ? defaults.confidence : Number(raw.confidence);
  if (!Number.isFinite(confidence) || confidence < 0 || confidence > 100) return reject(`confidence ${String(raw.confidence).slice(0, 20)} is not 0-100`);
  const tlp = normalizeTlp(raw.tlp) ?? defaults.tlp;
  if (tlp === 'invalid') return reject(`unknown TLP ${String(raw.tlp).slice(0, 20)}`);
  if (tlp === 'RED' && !defaults.allowTlpRed) return { ok: false, kind: 'skipped', reason: 'TLP:RED is not imported (set allow_tlp_red to allow)' };
  const dates: Record<'first_seen' | 'last_seen' | 'expires_at', string | undefined> = { first_seen: undefined, last_seen: undefined, expires_at: undefined };
  for (const f of ['first_seen', 'last_seen', 'expires_at'] as const) {
    const d = parseFeedDate(raw[f]);
    if (d === 'invalid') return reject(`${f}: not a date: ${String(raw[f]).slice(0, 40)}`);
    dates[f] = d;
  }
  const lastSeen = dates.last_seen ?? now.toISOString();
  const firstSeen = dates.first_seen && dates.first_seen <= lastSeen ? dates.first_seen : undefined;
  let expiresAt = dates.expires_at ?? new Date(Date.parse(lastSeen) + defaults.expiryDays * 86_400_000).toISOString();
  // With decay, the report also ends when its confidence falls below 10.
  if (defaults.decayHalfLifeDays && confidence > 10) {
    const until = Date.parse(lastSeen) + defaults.decayHalfLifeDays * Math.log2(confidence / 10) * 86_400_000;
    if (until < Date.parse(expiresAt)) expiresAt = new Date(until).toISOString();
  }
  const tags = Array.isArray(raw.tags) ? raw.tags.map((t) => text(t, 200)).filter((t): t is string => !!t).slice(0, 100) : typeof raw.tags === 'string' && raw.tags ? raw.tags.split(/[,;]/).map((t) => t.trim()).filter(Boolean).slice(0, 100) : undefined;
  const candidate: FeedIndicator = {
    feed: defaults.feed,
    type,
    value,
    ...(hash ? { hash } : {}),
    ...(cidr ? { cidr } : {}),
    provider: raw.provider ?? defaults.provider,
    confidence,
    tlp,
    ...(firstSeen ? { first_seen: firstSeen } : {}),
    last_seen: lastSeen,
    expires_at: expiresAt,
    ...(raw.revoked ? { revoked: true } : {}),
    ...(defaults.decayHalfLifeDays ? { decay_half_life_days: defaults.decayHalfLifeDays } : {}),
    ...(text(raw.description, 4000) ? { description: text(raw.description, 4000) } : {}),
    ...(text(raw.reference, 2000) ? { reference: text(raw.reference, 2000) } : {}),
    ...(tags?.length ? { tags } : {}),
    ...(text(raw.source_id, 200) ? { source_id: text(raw.source_id, 200) } : {}),
  };
  const checked = feedIndicatorSchema.safeParse(candidate);
  if (!checked.success) return reject(`${checked.error.issues[0]?.path.join('.')}: ${checked.error.issues[0]?.message}`);
  return { ok: true, indicator: checked.data };
}
