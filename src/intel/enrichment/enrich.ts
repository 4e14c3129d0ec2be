import { ipv6Key, mappedIpv4, parseIpv4, parseIpv6 } from './ip.ts';
import { normaliseDomain, normaliseUrl, type IndicatorAtom } from './indicators.ts';
import type { IndicatorHit, IndicatorSet } from './indicator-set.ts';
import type { WarningList } from './warning-list.ts';

type FieldKind = 'ip' | 'domain' | 'url' | 'hash' | 'email';

/** The ECS fields an event is matched on, by the kind of value they hold. */
export const ENRICHED_FIELDS: ReadonlyArray<readonly [field: string, kind: FieldKind]> = [
  ...['source.ip', 'destination.ip', 'client.ip', 'server.ip', 'host.ip'].map((f) => [f, 'ip'] as const),
  ...['url.domain', 'destination.domain', 'source.domain', 'client.domain', 'server.domain', 'dns.question.name'].map((f) => [f, 'domain'] as const),
  ...['url.full', 'url.original'].map((f) => [f, 'url'] as const),
  ...['file', 'process', 'process.parent', 'dll'].flatMap((o) => ['md5', 'sha1', 'sha256'].map((h) => [`${o}.hash.${h}`, 'hash'] as const)),
  ...['email.from.address', 'email.to.address', 'email.sender.address', 'user.email'].map((f) => [f, 'email'] as const),
];

const COMPILED = ENRICHED_FIELDS.map(([field, kind]) => ({ field, kind, path: field.split('.') }));

export interface EnrichOptions {
  /** Matches at or above this confidence score raise event.severity. */
  highConfidence: number;
  raisedSeverity: number;
}

export interface EnrichmentMatch {
  field: string;
  atomic: string;
  hit: IndicatorHit;
}

/** One threat.enrichments entry, ECS-shaped. */
export interface ThreatEnrichment {
  matched: { field: string; atomic: string; type: 'indicator_match_rule' };
  indicator: { type: string; provider: string | null; confidence: string };
  feed: { name: string | null };
}

function valueAt(doc: Record<string, unknown>, path: string[]): unknown {
  let node: unknown = doc;
  for (let i = 0; i < path.length; i++) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[path[i]!];
  }
  return node;
}

/** The slot matching one event value of a kind, -1 for none; `atom` receives the parsed value for the warning list. */
function lookup(set: IndicatorSet, kind: FieldKind, text: string): { slot: number; atom?: IndicatorAtom } {
  if (kind === 'ip') {
    const v4 = parseIpv4(text);
    if (v4 !== undefined) {
      const slot = set.matchIpv4(v4);
      return slot < 0 ? { slot } : { slot, atom: { kind: 'ipv4', ip: v4, text } };
    }
    const v6 = parseIpv6(text);
    if (!v6) return { slot: -1 };
    const mapped = mappedIpv4(v6);
    if (mapped !== undefined) {
      const slot = set.matchIpv4(mapped);
      return slot < 0 ? { slot } : { slot, atom: { kind: 'ipv4', ip: mapped, text } };
    }
    const key = ipv6Key(v6);
    const slot = set.matchIpv6(key, v6);
    return slot < 0 ? { slot } : { slot, atom: { kind: 'ipv6', key, text } };
  }
  const key = kind === 'domain' ? normaliseDomain(text) : kind === 'url' ? normaliseUrl(text) : text.trim().toLowerCase();
  const slot = set.matchKey(kind, key);
  return slot < 0 ? { slot } : { slot, atom: { kind, key, text } };
}

/** Every indicator match in one document (warning-listed values never match). Reads only. */
export function findMatches(doc: Record<string, unknown>, set: IndicatorSet, warningList?: WarningList): EnrichmentMatch[] {
  let out: EnrichmentMatch[] | undefined;
  for (const { field, kind, path } of COMPILED) {
    const found = valueAt(doc, path);
    if (found === undefined || found === null) continue;
    const values = Array.isArray(found) ? found : [found];
    for (const v of values) {
      if (typeof v !== 'string' || v.length === 0) continue;
      const { slot, atom } = lookup(set, kind, v);
      if (slot < 0) continue;
      // Checked after a hit (rare), so the common path pays nothing: an allowlisted IP inside a bad CIDR never flags.
      if (warningList && atom && warningList.explain(atom)) continue;
      (out ??= []).push({ field, atomic: v, hit: set.hit(slot) });
    }
  }
  return out ?? [];
}

/**
 * Adds threat.enrichments entries and `ioc:<kind>` tags for every match, and raises event.severity for a
 * high-confidence one. An entry already present for the same field and value (the pipeline twin may have
 * added it) is not added twice. Returns the matches.
 */
export function enrichDocument(doc: Record<string, unknown>, set: IndicatorSet, options: EnrichOptions, warningList?: WarningList): EnrichmentMatch[] {
  const matches = findMatches(doc, set, warningList);
  if (matches.length === 0) return matches;
  const threat = (doc.threat && typeof doc.threat === 'object' && !Array.isArray(doc.threat) ? doc.threat : (doc.threat = {})) as Record<string, unknown>;
  const enrichments = (Array.isArray(threat.enrichments) ? threat.enrichments : (threat.enrichments = [])) as Array<Partial<ThreatEnrichment>>;
  const tags = (Array.isArray(doc.tags) ? doc.tags : (doc.tags = typeof doc.tags === 'string' ? [doc.tags] : [])) as unknown[];
  let maxScore = 0;
  for (const m of matches) {
    const kind = COMPILED.find((c) => c.field === m.field)!.kind;
    const tag = `ioc:${kind}`;
    if (!tags.includes(tag)) tags.push(tag);
    maxScore = Math.max(maxScore, m.hit.score);
    const existing = enrichments.find((e) => e.matched?.field === m.field && e.matched?.atomic === m.atomic);
    const entry: ThreatEnrichment = {
      matched: { field: m.field, atomic: m.atomic, type: 'indicator_match_rule' },
      indicator: { type: m.hit.type, provider: m.hit.provider, confidence: m.hit.confidence },
      feed: { name: m.hit.feed },
    };
    if (existing) Object.assign(existing, entry);
    else enrichments.push(entry);
  }
  if (maxScore >= options.highConfidence) {
    const event = (doc.event && typeof doc.event === 'object' && !Array.isArray(doc.event) ? doc.event : (doc.event = {})) as Record<string, unknown>;
    const current = typeof event.severity === 'number' ? event.severity : Number(event.severity);
    if (!(Number.isFinite(current) && current >= options.raisedSeverity)) event.severity = options.raisedSeverity;
    if (!tags.includes('ioc:high_confidence')) tags.push('ioc:high_confidence');
  }
  return matches;
}
