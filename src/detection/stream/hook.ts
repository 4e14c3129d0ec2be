import type { Client } from '@elastic/elasticsearch';
import { buildAlertFromMatch, writeAlerts, type AlertDocument, type AlertPolicy } from '../../alerts/index.ts';
import type { IngestHook, IngestHookContext } from '../../ingest/hooks.ts';
import { getLogger } from '../../log/logger.ts';
import { ruleIdOf, SigmaRuleSet, type MappedSigmaRule } from '../sigma/index.ts';
import { indexMatches } from './setup.ts';

/**
 * The stream (fast) path: every event the ingest API stores for the first time meets the rules whose
 * logsource covers its data stream, and each match becomes an alert written at once. Same ids as the
 * watcher's, so whichever path is first stores the alert and the other finds a duplicate.
 */

export interface StreamDetectorStats {
  events: number;
  matches: number;
  created: number;
  duplicates: number;
  failed: number;
  /** Batches skipped because Elasticsearch, not Nyx, normalises them (the watcher covers those). */
  skippedUnnormalised: number;
}

export interface StreamDetector extends IngestHook {
  readonly stats: StreamDetectorStats;
  /** Matches a batch and writes its alerts; the hook's onStored calls this. */
  detect(docs: Array<Record<string, unknown>>, ctx: IngestHookContext): Promise<AlertDocument[]>;
}

export interface StreamDetectorOptions {
  client: Client;
  rules: MappedSigmaRule[];
  policy: AlertPolicy;
  refresh?: boolean;
  /**
   * For batches Elasticsearch will normalise itself (a cluster with ingest processors): the same pipeline run
   * here on a copy, so the stream path still sees ECS. Without it such batches are left to the watcher.
   */
  normalise?: (source: IngestHookContext['source'], doc: Record<string, unknown>, dataStream: string) => Record<string, unknown>;
}

/** The event ids of the batch (alert evidence), aligned with its documents. */
function eventIdsOf(ctx: IngestHookContext): Array<string | undefined> | undefined {
  return ctx.ids;
}

export function createStreamDetector(options: StreamDetectorOptions): StreamDetector {
  const log = getLogger('stream-detection');
  const byId = new Map(options.rules.map((r) => [ruleIdOf(r.rule), r]));
  // One rule set per data stream: only the rules whose logsource indices cover it, as the watcher's query would.
  const sets = new Map<string, SigmaRuleSet>();
  const setFor = (dataStream: string): SigmaRuleSet => {
    let set = sets.get(dataStream);
    if (!set) {
      set = new SigmaRuleSet(options.rules.filter((r) => indexMatches(r.indices, dataStream)));
      sets.set(dataStream, set);
    }
    return set;
  };
  const stats: StreamDetectorStats = { events: 0, matches: 0, created: 0, duplicates: 0, failed: 0, skippedUnnormalised: 0 };

  const detect = async (docs: Array<Record<string, unknown>>, ctx: IngestHookContext): Promise<AlertDocument[]> => {
    const set = setFor(ctx.dataStream);
    if (set.rules.length === 0) return [];
    if (!ctx.normalised) {
      if (!options.normalise) {
        stats.skippedUnnormalised++;
        return [];
      }
      docs = docs.map((d) => options.normalise!(ctx.source, d, ctx.dataStream));
    }
    const ids = eventIdsOf(ctx);
    const alerts: AlertDocument[] = [];
    docs.forEach((doc, i) => {
      stats.events++;
      for (const match of set.match(doc)) {
        stats.matches++;
        const alert = buildAlertFromMatch(match, doc, { namespace: ctx.namespace, policy: options.policy, rule: byId.get(match.ruleId), index: ctx.dataStream, eventId: ids?.[i] });
        if (alert) alerts.push(alert);
      }
    });
    if (!alerts.length) return alerts;
    const res = await writeAlerts(options.client, alerts, { refresh: options.refresh ?? true });
    stats.created += res.created;
    stats.duplicates += res.duplicates;
    stats.failed += res.failed;
    if (res.failed) log.error({ failures: res.failures.slice(0, 5), namespace: ctx.namespace }, `stream detection: ${res.failed} alerts not written (the watcher will retry them)`);
    return alerts;
  };

  return { name: 'sigma-stream-matcher', stats, detect, onStored: async (docs, ctx) => void (await detect(docs, ctx)) };
}
