import { confidenceText, TLP_LEVELS, type FeedIndicatorDoc, type LatestIndicator, type Tlp } from './types.ts';

/** Confidence after decay: halves every half-life since the feed last reported it. */
export function decayedScore(doc: FeedIndicatorDoc, now: number): number {
  const base = doc.nyx.indicator.confidence_score;
  const half = doc.nyx.indicator.decay_half_life_days;
  if (!half) return base;
  const ageDays = Math.max(0, now - Date.parse(doc.threat.indicator.last_seen)) / 86_400_000;
  return base * Math.pow(0.5, ageDays / half);
}

export function isFeedDocActive(doc: FeedIndicatorDoc, now: number): boolean {
  return !doc.nyx.indicator.revoked && Date.parse(doc.nyx.indicator.expires_at) > now;
}

// TLP order for "most restrictive wins"; WHITE sits with CLEAR.
const TLP_RANK: Record<Tlp, number> = { CLEAR: 0, WHITE: 0, GREEN: 1, AMBER: 2, 'AMBER+STRICT': 3, RED: 4 };

/**
 * Merges every feed's report of one indicator into its latest-view document.
 * Confidence is fused noisy-OR (independent sources reinforce each other, never above 100);
 * first_seen is the earliest, last_seen the latest; only active reports count for confidence,
 * expiry and providers, so an expired or revoked report leaves the active set.
 */
export function fuseIndicator(docs: FeedIndicatorDoc[], now: number, modifiedAt: string): LatestIndicator {
  const first = docs[0];
  if (!first) throw new Error('fuseIndicator: no documents');
  const live = docs.filter((d) => isFeedDocActive(d, now));
  const counted = live.length ? live : docs;
  let miss = 1;
  for (const d of live) miss *= 1 - Math.min(100, Math.max(0, decayedScore(d, now))) / 100;
  const score = live.length ? Math.round((1 - miss) * 1000) / 10 : 0;
  const seenFirst = docs.map((d) => d.threat.indicator.first_seen ?? d.threat.indicator.last_seen).sort()[0] as string;
  const seenLast = docs.map((d) => d.threat.indicator.last_seen).sort().at(-1) as string;
  const expires = counted.map((d) => d.nyx.indicator.expires_at).sort().at(-1) as string;
  const providers = [...new Set(counted.map((d) => d.threat.indicator.provider))].sort();
  const feeds = [...new Set(counted.map((d) => d.nyx.indicator.feed))].sort();
  const tlps = counted.map((d) => d.threat.indicator.marking?.tlp).filter((t): t is Tlp => !!t && (TLP_LEVELS as readonly string[]).includes(t));
  const tlp = tlps.sort((a, b) => TLP_RANK[b] - TLP_RANK[a])[0];
  const best = [...counted].sort((a, b) => b.nyx.indicator.confidence_score - a.nyx.indicator.confidence_score)[0] ?? first;
  const tags = [...new Set(counted.flatMap((d) => d.nyx.indicator.tags ?? []))].slice(0, 50);
  const sourceIds = [...new Set(counted.map((d) => d.nyx.indicator.source_id).filter((s): s is string => !!s))].slice(0, 50);
  const ti = first.threat.indicator;
  const valueFields = {
    ...(ti.ip ? { ip: ti.ip } : {}),
    ...(ti.domain ? { domain: ti.domain } : {}),
    ...(ti.url ? { url: ti.url } : {}),
    ...(ti.file ? { file: ti.file } : {}),
    ...(ti.email ? { email: ti.email } : {}),
  };
  return {
    '@timestamp': modifiedAt,
    threat: {
      indicator: {
        ...valueFields,
        type: ti.type,
        provider: providers,
        confidence: confidenceText(score),
        first_seen: seenFirst,
        last_seen: seenLast,
        modified_at: modifiedAt,
        ...(tlp ? { marking: { tlp } } : {}),
        ...(best.threat.indicator.description ? { description: best.threat.indicator.description } : {}),
        ...(best.threat.indicator.reference ? { reference: best.threat.indicator.reference } : {}),
      },
    },
    nyx: {
      indicator: {
        key: first.nyx.indicator.key,
        value: first.nyx.indicator.value,
        ...(first.nyx.indicator.hash ? { hash: first.nyx.indicator.hash } : {}),
        providers,
        feeds,
        confidence_score: score,
        expires_at: expires,
        active: live.length > 0,
        revoked: live.length === 0 && docs.some((d) => d.nyx.indicator.revoked),
        ...(first.nyx.indicator.cidr ? { cidr: first.nyx.indicator.cidr } : {}),
        ...(tags.length ? { tags } : {}),
        ...(sourceIds.length ? { source_ids: sourceIds } : {}),
      },
    },
  };
}

/** What a matcher cares about: when only these are equal, modified_at stays (incremental readers skip it). */
export function materialSignature(doc: LatestIndicator): string {
  const n = doc.nyx.indicator;
  return JSON.stringify([n.key, n.active, n.revoked, n.providers, Math.round(n.confidence_score), doc.threat.indicator.marking?.tlp ?? null, n.cidr ?? null]);
}
