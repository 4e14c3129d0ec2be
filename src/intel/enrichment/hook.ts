import type { IngestHook } from '../../ingest/hooks.ts';
import { enrichDocument, type EnrichOptions } from './enrich.ts';
import type { IndicatorSet } from './indicator-set.ts';
import type { WarningList } from './warning-list.ts';

/**
 * The in-stream enrichment as an ingest hook: before indexing, every ECS document is matched against the
 * in-memory set. Documents Elasticsearch will still normalise (normalised: false) are not ECS yet, so they
 * are left to the nyx-ioc-enrichment pipeline the source pipeline calls in the cluster.
 */
export function indicatorEnrichmentHook(source: { readonly set: IndicatorSet }, options: EnrichOptions, warningList?: WarningList): IngestHook {
  return {
    name: 'ioc-enrichment',
    onEvents(docs, ctx) {
      if (!ctx.normalised) return;
      const set = source.set;
      if (set.size === 0) return;
      for (const doc of docs) enrichDocument(doc, set, options, warningList);
    },
  };
}
