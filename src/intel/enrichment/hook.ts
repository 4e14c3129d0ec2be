import type { IngestHook } from '../../ingest/hooks.ts';
import type { MispSightingPusher } from '../misp/sightings.ts';
import { enrichDocument, type EnrichOptions, type ThreatEnrichment } from './enrich.ts';
import type { IndicatorSet } from './indicator-set.ts';
import { ipAtom } from './indicators.ts';
import type { WarningList } from './warning-list.ts';

/**
 * The in-stream enrichment as an ingest hook: before indexing, every ECS document is matched against the
 * in-memory set. Documents Elasticsearch will still normalise (normalised: false) are not ECS yet, so they
 * are left to the nyx-ioc-enrichment pipeline the source pipeline calls in the cluster.
 * With `sightings`, each document stored for the first time (not a retried duplicate) with a match on one
 * of that MISP's indicators is queued as a sighting (exact values only: MISP sights by attribute value,
 * and an address inside a CIDR indicator is not one; the retro-hunt sights those as the CIDR).
 */
export function indicatorEnrichmentHook(source: { readonly set: IndicatorSet }, options: EnrichOptions, warningList?: WarningList, sightings?: MispSightingPusher): IngestHook {
  return {
    name: 'ioc-enrichment',
    onEvents(docs, ctx) {
      if (!ctx.normalised) return;
      const set = source.set;
      if (set.size === 0) return;
      for (const doc of docs) enrichDocument(doc, set, options, warningList);
    },
    ...(sightings
      ? {
          onStored(docs, ctx) {
            if (!ctx.normalised) return;
            docs.forEach((doc, i) => {
              const enrichments = (doc.threat as { enrichments?: unknown } | undefined)?.enrichments;
              if (!Array.isArray(enrichments)) return;
              const ts = Math.floor(Date.parse(String(doc['@timestamp'])) / 1000);
              const eventId = ctx.ids?.[i];
              for (const e of enrichments as Array<Partial<ThreatEnrichment>>) {
                const atomic = e.matched?.atomic;
                if (e.matched?.type !== 'indicator_match_rule' || typeof atomic !== 'string' || !sightings.knows(e.feed?.name)) continue;
                if (e.matched.field?.endsWith('.ip') && !isExactIp(source.set, atomic)) continue;
                sightings.offer({ value: atomic, timestamp: Number.isFinite(ts) ? ts : Math.floor(Date.now() / 1000), ...(eventId ? { eventId } : {}) });
              }
            });
          },
        }
      : {}),
  };
}

function isExactIp(set: IndicatorSet, text: string): boolean {
  const atom = ipAtom(text);
  if (!atom || atom.kind === 'cidr') return false;
  return atom.kind === 'ipv4' ? set.hasExactIpv4(atom.ip) : set.hasExactIpv6(atom.key);
}
